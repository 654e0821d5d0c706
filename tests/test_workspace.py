from __future__ import annotations

import pytest

from outsidein.errors import WorkspaceNotFoundError
from outsidein.store.migrate import current_revision
from outsidein.warehouse.schema import TABLES
from outsidein.workspace import Workspace


def test_init_creates_config_warehouse_and_migrated_store(tmp_path):
    ws = Workspace.init(tmp_path / "acme")
    assert (tmp_path / "acme" / "outsidein.toml").is_file()
    assert ws.warehouse_path.is_file()
    assert set(TABLES) <= set(ws.warehouse().list_tables())
    assert current_revision(ws.store_url) is not None
    ws.close()


def test_open_missing_workspace_says_how_to_create_it(tmp_path):
    with pytest.raises(WorkspaceNotFoundError, match="outsidein init"):
        Workspace.open(tmp_path / "nowhere")
