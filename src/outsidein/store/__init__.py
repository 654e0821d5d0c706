"""The operational store: SQLAlchemy models, Alembic migrations, SQLite (WAL) or PostgreSQL.

Use :func:`outsidein.store.db.make_engine` / :func:`session_scope` to talk to
it and :func:`outsidein.store.migrate.upgrade` to bring a database to the
latest schema.  Each capability keeps its models in its own module under
``outsidein.store.models`` and adds its own Alembic revision (linear chain).
"""

from __future__ import annotations

from outsidein.store.db import make_engine, session_scope
from outsidein.store.migrate import current_revision, upgrade

__all__ = ["current_revision", "make_engine", "session_scope", "upgrade"]
