"""A store made by an older Outside-In is brought up to date the first time it is used."""

from __future__ import annotations

from importlib.resources import files

from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from outsidein.store import migrate
from outsidein.store.db import make_engine, session_scope
from outsidein.store.models.auth import Department
from outsidein.workspace import Workspace


def test_head_revision_names_the_latest_migration() -> None:
    head = ScriptDirectory(str(files("outsidein") / "store" / "migrations")).get_current_head()
    assert migrate.HEAD_REVISION == head


def test_an_older_store_is_upgraded_on_first_use_and_keeps_its_data(tmp_path) -> None:
    ws = Workspace.init(tmp_path / "acme")
    url = ws.store_url
    migrate.command.downgrade(migrate.alembic_config(url), "0002_share")
    with session_scope(url) as s:
        s.add(Department(name="sales"))
    assert "sense_events" not in inspect(make_engine(url)).get_table_names()
    migrate._current.discard(url)  # a new process: nothing checked yet

    again = Workspace.open(tmp_path / "acme")
    with session_scope(again.store_url, write=False) as s:
        assert [d.name for d in s.query(Department)] == ["sales"]
    make_engine.cache_clear()
    assert "sense_events" in inspect(make_engine(again.store_url)).get_table_names()
    assert migrate.current_revision(again.store_url) == migrate.HEAD_REVISION
