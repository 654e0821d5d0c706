"""A workspace: a folder with ``outsidein.toml``, the warehouse and the store.

>>> from outsidein.workspace import Workspace
>>> ws = Workspace.init("/tmp/acme")            # doctest: +SKIP
>>> ws.warehouse().list_tables()                # doctest: +SKIP

The warehouse (analytics, Ibis) is opened on demand and cached on the
workspace object; call :meth:`Workspace.close` (or use ``with``) to release
the DuckDB file lock or stop the Spark session.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from outsidein.config import CONFIG_FILE, Config, read_config, write_config
from outsidein.errors import ConfigError, WorkspaceNotFoundError

if TYPE_CHECKING:
    from outsidein.warehouse.engine import Warehouse


def default_workspace_dir() -> Path:
    """``$OUTSIDEIN_WORKSPACE`` or the current folder."""
    return Path(os.environ.get("OUTSIDEIN_WORKSPACE", ".")).expanduser().resolve()


@dataclass
class Workspace:
    """An opened workspace folder."""

    root: Path
    config: Config
    _warehouse: Warehouse | None = field(default=None, repr=False)

    # -- creation -----------------------------------------------------------------
    @classmethod
    def init(
        cls,
        root: str | os.PathLike[str] | None = None,
        *,
        backend: str = "duckdb",
        store_url: str | None = None,
    ) -> Workspace:
        """Create (or re-initialise, keeping data) a workspace in *root*.

        Writes ``outsidein.toml`` if absent, creates the warehouse schema and
        runs the store's Alembic migrations to the latest revision.
        """
        folder = Path(root).expanduser().resolve() if root else default_workspace_dir()
        folder.mkdir(parents=True, exist_ok=True)
        if (folder / CONFIG_FILE).exists():
            cfg = read_config(folder)
        else:
            cfg = Config(warehouse_backend=backend)
            if store_url:
                cfg = replace(cfg, store_url=store_url)
            write_config(folder, cfg)
            cfg = read_config(folder)
        ws = cls(root=folder, config=cfg)
        from outsidein.store.migrate import upgrade
        from outsidein.warehouse.schema import ensure_schema

        ensure_schema(ws.warehouse())
        upgrade(ws.store_url)
        return ws

    @classmethod
    def open(cls, root: str | os.PathLike[str] | None = None) -> Workspace:
        """Open an existing workspace; raise :class:`WorkspaceNotFoundError` if none."""
        folder = Path(root).expanduser().resolve() if root else default_workspace_dir()
        if not (folder / CONFIG_FILE).is_file():
            raise WorkspaceNotFoundError(
                f"no workspace at {folder} (no {CONFIG_FILE}); run 'outsidein init {folder}' "
                "or pass --workspace DIR"
            )
        return cls(root=folder, config=read_config(folder))

    # -- paths and URLs -----------------------------------------------------------
    @property
    def warehouse_path(self) -> Path:
        return (self.root / self.config.warehouse_path).resolve()

    @property
    def store_url(self) -> str:
        """The store's SQLAlchemy URL, relative SQLite paths resolved in the workspace."""
        url = self.config.store_url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith("sqlite:////"):
            rel = url[len(prefix):]
            if rel and rel != ":memory:":
                return prefix + str((self.root / rel).resolve())
        return url

    @property
    def reports_dir(self) -> Path:
        path = self.root / "reports"
        path.mkdir(exist_ok=True)
        return path

    # -- engines ------------------------------------------------------------------
    def warehouse(self) -> Warehouse:
        """The analytics warehouse (opened once, cached)."""
        if self._warehouse is None:
            from outsidein.warehouse.engine import Warehouse

            self._warehouse = Warehouse.connect(self)
        return self._warehouse

    def close(self) -> None:
        if self._warehouse is not None:
            self._warehouse.close()
            self._warehouse = None

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def require_backend(ws: Workspace, *names: str) -> None:
    """Raise a clear error when an operation only exists on some backends."""
    if ws.config.warehouse_backend not in names:
        raise ConfigError(
            f"this operation needs warehouse backend {' or '.join(names)}, "
            f"workspace {ws.root} uses {ws.config.warehouse_backend!r}"
        )
