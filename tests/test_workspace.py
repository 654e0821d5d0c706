from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

import outsidein
from outsidein.errors import WorkspaceNotFoundError
from outsidein.warehouse.schema import ROLLUP_SPECS, TABLES
from outsidein.workspace import Workspace

MIGRATIONS = Path(outsidein.__file__).parent / "store" / "migrations"


def head_revision() -> str:
    """The newest revision among the migration scripts (read by Alembic, not by our code)."""
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


def test_init_creates_config_warehouse_and_migrated_store(tmp_path):
    ws = Workspace.init(tmp_path / "acme")
    assert (tmp_path / "acme" / "outsidein.toml").is_file()
    assert ws.warehouse_path.is_file()
    assert set(TABLES) | {s.name for s in ROLLUP_SPECS} <= set(ws.warehouse().list_tables())
    with sa.create_engine(ws.store_url).connect() as conn:
        stored = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
    assert stored == head_revision()
    ws.close()


def test_init_again_keeps_the_data(tmp_path):
    ws = Workspace.init(tmp_path / "acme")
    ws.warehouse().duckdb.execute("INSERT INTO products (product_id) VALUES ('p1')")
    ws.close()
    with Workspace.init(tmp_path / "acme", backend="pyspark") as again:
        assert again.config.warehouse_backend == "duckdb"  # the existing file is kept
        assert again.warehouse().count("products") == 1


def test_open_missing_workspace_says_how_to_create_it(tmp_path):
    with pytest.raises(WorkspaceNotFoundError, match="outsidein init"):
        Workspace.open(tmp_path / "nowhere")
