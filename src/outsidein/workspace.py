"""A workspace: a folder with ``outsidein.toml``, the warehouse and the store.

>>> import tempfile
>>> ws = Workspace.init(tempfile.mkdtemp() + "/acme")
>>> ws.config.warehouse_backend, "order_lines" in ws.warehouse().list_tables()
('duckdb', True)
>>> ws.close()

The warehouse (analytics, Ibis) is opened on demand and cached on the
workspace object; call :meth:`Workspace.close` (or use ``with``) to release
the DuckDB file lock.  The ``OUTSIDEIN_*`` environment is read when the
workspace is opened (:class:`~outsidein.config.Settings`), never at import.
Opening a workspace imports neither Ibis nor the store's Alembic: commands
that only read the DuckDB file (``outsidein status``) start in a fraction of
a second with :meth:`Workspace.duckdb_reader`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from outsidein.config import CONFIG_FILE, Config, Settings, read_config, write_config
from outsidein.errors import ConfigError, MissingDataError, WorkspaceNotFoundError
from outsidein.warehouse.inventory import open_reader

if TYPE_CHECKING:
    from outsidein.warehouse.engine import Warehouse

__all__ = ["Workspace"]


def _folder(root: str | os.PathLike[str] | None, settings: Settings) -> Path:
    """*root*, else ``$OUTSIDEIN_WORKSPACE``, else the current folder (absolute)."""
    return Path(root).expanduser().resolve() if root else settings.workspace_dir


@dataclass
class Workspace:
    """An opened workspace folder: its configuration, its settings and its warehouse.

    >>> import tempfile
    >>> with Workspace.init(tempfile.mkdtemp(), store_url="sqlite:///people.sqlite") as ws:
    ...     ws.store_url.endswith("/people.sqlite")
    True
    """

    root: Path
    config: Config
    settings: Settings = field(default_factory=Settings)
    _warehouse: Warehouse | None = field(default=None, repr=False)

    # -- creation -----------------------------------------------------------------
    @classmethod
    def init(
        cls,
        root: str | os.PathLike[str] | None = None,
        *,
        backend: str = "duckdb",
        store_url: str | None = None,
        settings: Settings | None = None,
    ) -> Workspace:
        """Create (or re-initialise, keeping data) a workspace in *root*.

        Writes ``outsidein.toml`` if absent, creates the warehouse schema and
        runs the store's Alembic migrations to the latest revision.
        *settings* defaults to :meth:`Settings.from_env` (the environment now).
        """
        from outsidein.store.migrate import upgrade  # Alembic: only when creating (start-up)
        from outsidein.warehouse.engine import ensure_schema  # Ibis: likewise (start-up)

        settings = Settings.from_env() if settings is None else settings
        folder = _folder(root, settings)
        folder.mkdir(parents=True, exist_ok=True)
        if not (folder / CONFIG_FILE).exists():
            cfg = Config(warehouse_backend=backend)
            write_config(folder, replace(cfg, store_url=store_url) if store_url else cfg)
        ws = cls(root=folder, config=read_config(folder, settings), settings=settings)
        ensure_schema(ws.warehouse())
        upgrade(ws.store_url)
        return ws

    @classmethod
    def open(cls, root: str | os.PathLike[str] | None = None, *,
             settings: Settings | None = None) -> Workspace:
        """Open an existing workspace; raise :class:`WorkspaceNotFoundError` if none.

        >>> Workspace.open("/nowhere")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        outsidein.errors.WorkspaceNotFoundError: no workspace at /nowhere (no outsidein.toml); ...
        """
        settings = Settings.from_env() if settings is None else settings
        folder = _folder(root, settings)
        if not (folder / CONFIG_FILE).is_file():
            raise WorkspaceNotFoundError(
                f"no workspace at {folder} (no {CONFIG_FILE}); run 'outsidein init {folder}' "
                "or pass --workspace DIR"
            )
        return cls(root=folder, config=read_config(folder, settings), settings=settings)

    # -- paths and URLs -----------------------------------------------------------
    @property
    def warehouse_path(self) -> Path:
        """The DuckDB warehouse file."""
        return (self.root / self.config.warehouse_path).resolve()

    def warehouse_stamp(self) -> tuple[tuple[str, int | None, int | None], ...] | None:
        """What changes when the DuckDB warehouse changes: the time and size of its file and
        of its write-ahead log (``None`` for one not there); a few ``stat`` calls, no query.

        ``None`` for another backend, which gives no such cheap sign: a result read from it
        is not kept on this key.  The caches of figures read from the warehouse (the
        overview's KPIs, the culture-KPI links, the product names of messages) key on it.
        """
        if self.config.warehouse_backend != "duckdb":
            return None
        path = self.warehouse_path
        out: list[tuple[str, int | None, int | None]] = []
        for f in (path, path.with_name(path.name + ".wal")):
            try:
                st = f.stat()
            except OSError:  # not there (yet): that too is a state
                out.append((str(f), None, None))
            else:
                out.append((str(f), st.st_mtime_ns, st.st_size))
        return tuple(out)

    @property
    def store_url(self) -> str:
        """The store's SQLAlchemy URL, relative SQLite paths resolved in the workspace.

        The first use in a process brings a store made by an older Outside-In up to date
        (:func:`outsidein.store.migrate.ensure_current`).
        """
        url = self.config.store_url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith("sqlite:////"):
            rel = url[len(prefix):]
            if rel and rel != ":memory:":
                url = prefix + str((self.root / rel).resolve())
        # SQLAlchemy/Alembic: only when the store is used (start-up); once per process
        from outsidein.store.migrate import ensure_current

        ensure_current(url)
        return url

    @property
    def reports_dir(self) -> Path:
        """``reports/`` in the workspace (created when first asked for)."""
        path = self.root / "reports"
        path.mkdir(exist_ok=True)
        return path

    # -- engines ------------------------------------------------------------------
    def warehouse(self) -> Warehouse:
        """The analytics warehouse (opened once, cached)."""
        from outsidein.warehouse.engine import Warehouse  # Ibis: only when asked (start-up)

        if self._warehouse is None:
            cfg = self.config
            self._warehouse = Warehouse.open(
                cfg.warehouse_backend, root=self.root, path=self.warehouse_path,
                spark_master=cfg.spark_master, connect_args=cfg.extra.get("warehouse_connect"),
                lock_wait=cfg.warehouse_lock_wait)
        return self._warehouse

    @contextmanager
    def reader(self, *, missing_ok: bool = False) -> Iterator[Any]:
        """An Ibis connection that only reads the warehouse, for one page or one report.

        On DuckDB: the warehouse this process has open, else a short-lived read-only
        connection (closed on exit), so a load in another process waits at most for this
        read (:mod:`outsidein.warehouse.lock`).  Other backends: the workspace's own
        connection.  The one reader every service uses to read without writing.

        Raises
        ------
        MissingDataError
            There is no warehouse file yet (with *missing_ok*: yields None instead).
        BusyError
            Another process holds the DuckDB file for writing longer than a reader waits.
        """
        import ibis  # Ibis: only when asked (start-up)

        if self.config.warehouse_backend != "duckdb":
            yield self.warehouse().con
            return
        with self.duckdb_reader() as con:
            if con is None and not missing_ok:
                raise MissingDataError(f"no warehouse at {self.warehouse_path}; run "
                                       "'outsidein init'")
            yield None if con is None else ibis.duckdb.from_connection(con)

    @contextmanager
    def duckdb_reader(self) -> Iterator[Any | None]:
        """A plain ``duckdb`` connection that reads a DuckDB warehouse without Ibis.

        The open warehouse's own connection if there is one, else a read-only
        connection to the file, closed on exit (it never takes the write lock);
        None when the file does not exist yet.

        >>> import tempfile
        >>> with Workspace.init(tempfile.mkdtemp()) as ws:
        ...     ws.close()
        ...     with ws.duckdb_reader() as con:
        ...         con.execute("SELECT count(*) FROM customers").fetchone()
        (0,)
        """
        if self.config.warehouse_backend != "duckdb":
            raise ConfigError(f"a plain DuckDB reader asked of a {self.config.warehouse_backend!r} "
                              "warehouse")
        if self._warehouse is not None:
            yield self._warehouse.duckdb
            return
        con = open_reader(self.warehouse_path)
        try:
            yield con
        finally:
            if con is not None:
                con.close()

    def close(self) -> None:
        """Close the warehouse (it reopens on the next :meth:`warehouse` call)."""
        if self._warehouse is not None:
            self._warehouse.close()
            self._warehouse = None

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
