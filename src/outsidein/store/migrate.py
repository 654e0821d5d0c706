"""Run the store's Alembic migrations in code.

``outsidein init`` calls :func:`upgrade`; every later use of a workspace's store goes through
:func:`ensure_current` once per process, so a store made by an older Outside-In is brought
to :data:`HEAD_REVISION` (its data kept) before anything reads the new tables.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from outsidein.store.db import make_engine

__all__ = ["HEAD_REVISION", "MIGRATIONS", "alembic_config", "current_revision",
           "ensure_current", "upgrade"]

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")
#: The latest migration (a test checks it against the migrations folder).
HEAD_REVISION = "0011_sense_resense_at"
_current: set[str] = set()
_lock = threading.Lock()


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the store at *url* to *revision* (default: the latest)."""
    cfg = alembic_config(url)
    with make_engine(url).begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current_revision(url: str) -> str | None:
    with make_engine(url).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _stored_revision(url: str) -> str | None:
    try:
        with make_engine(url).connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError:  # no alembic_version table: a store never migrated
        return None


def ensure_current(url: str) -> None:
    """Upgrade the store at *url* to :data:`HEAD_REVISION` if it is behind (once a process)."""
    if url in _current:
        return
    with _lock:
        if url in _current:
            return
        found = _stored_revision(url)
        if found != HEAD_REVISION:
            try:
                upgrade(url)
            except SQLAlchemyError:
                if _stored_revision(url) != HEAD_REVISION:  # not another process's upgrade
                    raise
            if found is None:
                log.info("store created at %s", HEAD_REVISION)
            else:
                log.warning("store upgraded from %s to %s", found, HEAD_REVISION)
        _current.add(url)
