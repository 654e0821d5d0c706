"""Load files and data frames into the canonical tables, with validation and quarantine.

>>> from outsidein.workspace import Workspace
>>> from outsidein.warehouse.load import load_file
>>> ws = Workspace.init("/tmp/acme")                               # doctest: +SKIP
>>> report = load_file(ws, "order_lines", "orders.csv")            # doctest: +SKIP
>>> report.rows_read == report.loaded + report.quarantined + report.duplicates  # doctest: +SKIP
True

How a load works (all in DuckDB SQL, no Python loop over rows):

1. the source is staged as it is (CSV as text) with its row numbers;
2. one pass casts every column to its canonical type and finds each row's
   first failing rule (:mod:`outsidein.warehouse.quality`); failing rows go
   to the ``quarantine`` table with file, row number, column, reason and the
   raw row as JSON;
3. good rows are de-duplicated by the table's natural key, first within the
   source (the first occurrence wins) and then against rows already loaded;
4. customers referenced by new rows (order lines, interactions, service
   costs, referrals) that do not exist are created as stubs
   (``is_stub = true``, ``first_seen`` = their first time stamp in the load);
   a later load of ``customers`` replaces a stub with the real record;
5. unknown product ids are kept (the report notes how many): products often
   arrive after sales, and a stub product would carry no cost or category;
6. the rows, stubs, quarantine and a ``loads`` record are written at once.

Choices: extra source columns are ignored and named in the report's notes;
missing optional columns are filled with nulls.  A load is one DuckDB
transaction, so a crash or Ctrl-C leaves the warehouse as it was; loading a
file whose SHA-256 was already loaded into the same table is skipped, and
key-based de-duplication makes any re-load add nothing.  On a PySpark
warehouse the same validation runs in an in-memory DuckDB and the new rows
are appended as Parquet files (see :mod:`outsidein.warehouse._spark`).
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from outsidein.warehouse import _stage
from outsidein.warehouse.quality import q, resolve_columns, typed_select_sql
from outsidein.warehouse.schema import LOADS, QUARANTINE, TableSpec, table_spec

if TYPE_CHECKING:
    from outsidein.workspace import Workspace

log = logging.getLogger(__name__)

#: ``progress(step_description, steps_done, steps_total)``
Progress = Callable[[str, int, int], None]
STEPS = 5


@dataclass(frozen=True)
class LoadReport:
    """What one load did.  ``rows_read == loaded + quarantined + duplicates`` always."""

    table: str
    file: str
    load_id: str
    rows_read: int = 0
    loaded: int = 0
    quarantined: int = 0
    duplicates: int = 0
    stubs_created: int = 0
    skipped_same_file: bool = False
    #: ``"column: reason" -> rows`` for the quarantined rows
    reasons: dict[str, int] = field(default_factory=dict)
    #: remarks a user should read (ignored columns, unknown products, replaced stubs)
    notes: tuple[str, ...] = ()
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["notes"] = list(self.notes)
        return d

    def summary(self) -> str:
        """One line for people: what was read and where each row went."""
        if self.skipped_same_file:
            return (f"{self.table}: {Path(self.file).name} was already loaded "
                    f"(load {self.load_id}); nothing added")
        return (f"{self.table}: read {self.rows_read:,} rows from {Path(self.file).name}: "
                f"{self.loaded:,} loaded, {self.quarantined:,} quarantined, "
                f"{self.duplicates:,} duplicates skipped, {self.stubs_created:,} stub customers "
                f"created ({self.seconds:.1f} s)")

    def __repr__(self) -> str:
        return f"LoadReport({self.summary()})"


# -- public API ------------------------------------------------------------------------

def load_file(
    ws: Workspace,
    table: str,
    path: str | os.PathLike[str],
    *,
    mapping: Mapping[str, str] | None = None,
    date_format: str | None = None,
    progress: Progress | None = None,
) -> LoadReport:
    """Validate and load a CSV, Parquet or JSON Lines file into canonical *table*.

    Parameters
    ----------
    ws : Workspace
        The workspace whose warehouse receives the rows.
    table : str
        A canonical table name (see :data:`outsidein.warehouse.schema.TABLES`).
    path : path-like
        ``.csv`` (header row; delimiter detected), ``.parquet`` or ``.jsonl``.
    mapping : mapping of str to str, optional
        ``{target: source}`` column renames (``--map target=source``).
    date_format : str, optional
        ``strptime`` format of date/time columns; ISO 8601 when omitted.
    progress : callable, optional
        Called as ``progress(step, done, total)`` between steps.

    Returns
    -------
    LoadReport

    Raises
    ------
    DataValidationError
        Unknown table, unreadable file or missing required columns (nothing loaded).
    """
    spec = table_spec(table)
    file = Path(path).expanduser().resolve()
    _stage.file_format(file)
    if not file.is_file():
        from outsidein.errors import DataValidationError

        raise DataValidationError(f"file {str(path)!r} does not exist; check the path")
    digest = _stage.sha256_file(file)
    return _run(ws, spec, label=str(file), digest=digest, mapping=mapping,
                date_format=date_format, progress=progress,
                stage=lambda con: _stage.stage_file(con, file))


def load_frame(
    ws: Workspace,
    table: str,
    data: Any,
    *,
    source: str,
    progress: Progress | None = None,
) -> LoadReport:
    """Validate and load an in-memory ``pyarrow.Table`` or ``pandas.DataFrame``.

    Same rules as :func:`load_file`; *source* names the data in the quarantine
    and the ``loads`` table (e.g. ``"demo:order_lines"``).  Typed columns are
    used as they are; text columns are parsed like a CSV's.

    >>> import pandas as pd                                             # doctest: +SKIP
    >>> load_frame(ws, "products", pd.DataFrame({"product_id": ["p1"]}), source="demo")
    ... # doctest: +SKIP
    """
    spec = table_spec(table)
    return _run(ws, spec, label=source, digest="", mapping=None, date_format=None,
                progress=progress, stage=lambda con: _stage.stage_frame(con, data, source))


# -- the pipeline ----------------------------------------------------------------------

def _run(ws: Workspace, spec: TableSpec, *, label: str, digest: str,
         mapping: Mapping[str, str] | None, date_format: str | None,
         progress: Progress | None, stage: Callable[[Any], dict[str, str]]) -> LoadReport:
    t0 = time.perf_counter()
    started = datetime.now(UTC).replace(tzinfo=None)
    load_id = uuid.uuid4().hex[:16]
    tick = progress or (lambda *_: None)
    wh = ws.warehouse()
    if wh.backend == "duckdb":
        from outsidein.warehouse.schema import ensure_schema

        ensure_schema(wh)
        target: _Target = _DuckTarget(wh.duckdb)
    elif wh.backend == "pyspark":
        from outsidein.warehouse._spark import SparkTarget

        target = SparkTarget(wh)
    else:
        from outsidein.errors import ConfigError

        raise ConfigError(f"loading into a {wh.backend!r} warehouse is not supported; "
                          "use backend 'duckdb' or 'pyspark' in outsidein.toml")
    con = target.con
    if digest:
        previous = target.previous_load(spec.name, digest)
        if previous is not None:
            return LoadReport(spec.name, label, previous, skipped_same_file=True,
                              seconds=time.perf_counter() - t0)
    began = False
    try:
        # staging and validation touch only temp tables; the transaction covers the writes
        tick(f"reading {Path(label).name}", 0, STEPS)
        found = stage(con)
        plans, extra = resolve_columns(spec, found, mapping=mapping, source=Path(label).name)
        tick("validating", 1, STEPS)
        con.execute("DROP TABLE IF EXISTS temp._oi_typed")
        con.execute("CREATE TEMP TABLE _oi_typed AS " + typed_select_sql(
            plans, _stage.staged_with_row_numbers(), date_format=date_format,
            raw_columns=list(found)))
        con.execute(f"DROP TABLE IF EXISTS {_stage.RAW}")
        rows_read = _count(con, "temp._oi_typed")
        reasons = {f"{c}: {r}": int(n) for c, r, n in con.execute(
            "SELECT _col, _reason, count(*) FROM temp._oi_typed WHERE _reason IS NOT NULL "
            "GROUP BY ALL ORDER BY 3 DESC, 1, 2").fetchall()}
        quarantined = sum(reasons.values())
        tick("removing duplicates", 2, STEPS)
        target.begin()
        began = True
        target.prepare(spec)
        _, replaced = _dedupe(con, spec, target)
        loaded = _count(con, "temp._oi_new")
        tick("checking references", 3, STEPS)
        stubs, notes = _references(con, spec, target)
        if replaced:
            notes.append(f"{replaced:,} stub customers replaced by their full records")
        if extra:
            notes.insert(0, f"ignored column(s) not in table {spec.name!r}: {', '.join(extra)}")
        tick("writing", 4, STEPS)
        finished = datetime.now(UTC).replace(tzinfo=None)
        report = LoadReport(
            spec.name, label, load_id, rows_read=rows_read, loaded=loaded,
            quarantined=quarantined, duplicates=rows_read - quarantined - loaded,
            stubs_created=stubs, reasons=reasons, notes=tuple(notes),
        )
        target.write(spec, report, digest=digest, started=started, finished=finished,
                     replaced_stubs=replaced)
        target.commit()
    except BaseException:
        if began:
            target.rollback()
        raise
    finally:
        target.cleanup()
    tick("done", STEPS, STEPS)
    return LoadReport(**{**asdict(report), "notes": report.notes,
                         "seconds": time.perf_counter() - t0})


def _count(con: Any, table: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def _key_match(spec: TableSpec, a: str, b: str) -> str:
    return " AND ".join(f"{a}.{q(k)} = {b}.{q(k)}" for k in spec.key)


def _dedupe(con: Any, spec: TableSpec, target: _Target) -> tuple[int, int]:
    """Create ``temp._oi_new``: good rows, first per key, not already loaded.

    Returns (rows kept, stub customers replaced).
    """
    cols = ", ".join(q(c) for c in spec.column_names)
    keys = ", ".join(q(k) for k in spec.key)
    con.execute("DROP TABLE IF EXISTS temp._oi_good")
    con.execute(
        f"CREATE TEMP TABLE _oi_good AS SELECT _row, {cols} FROM temp._oi_typed "
        f"WHERE _reason IS NULL QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY _row) = 1"
    )
    existing = target.existing(spec.name)
    replaced = 0
    if spec.name == "customers":
        # stubs are placeholders: a real customer record replaces them
        replaced = int(con.execute(
            f"SELECT count(*) FROM temp._oi_good g JOIN {existing} e "
            f"ON {_key_match(spec, 'g', 'e')} WHERE coalesce(e.is_stub, false)").fetchone()[0])
        existing = f"(SELECT * FROM {existing} WHERE NOT coalesce(is_stub, false))"
    con.execute("DROP TABLE IF EXISTS temp._oi_new")
    con.execute(
        f"CREATE TEMP TABLE _oi_new AS SELECT {cols} FROM temp._oi_good g "
        f"WHERE NOT EXISTS (SELECT 1 FROM {existing} e WHERE {_key_match(spec, 'g', 'e')}) "
        "ORDER BY _row"
    )
    con.execute("DROP TABLE IF EXISTS temp._oi_good")
    return _count(con, "temp._oi_new"), replaced


def _references(con: Any, spec: TableSpec, target: _Target) -> tuple[int, list[str]]:
    """Create ``temp._oi_stubs`` (unknown customers) and note unknown products."""
    notes: list[str] = []
    con.execute("DROP TABLE IF EXISTS temp._oi_stubs")
    con.execute("CREATE TEMP TABLE _oi_stubs (customer_id VARCHAR, first_seen TIMESTAMP)")
    ts = "ts" if "ts" in spec.column_names else None
    for column, (ref_table, ref_col) in spec.references.items():
        if ref_table == "customers":
            first = f"min({q(ts)})" if ts else "CAST(NULL AS TIMESTAMP)"
            con.execute(
                f"INSERT INTO temp._oi_stubs SELECT n.{q(column)}, {first} FROM temp._oi_new n "
                f"WHERE n.{q(column)} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "
                f"{target.existing('customers')} c WHERE c.customer_id = n.{q(column)}) "
                f"AND n.{q(column)} NOT IN (SELECT customer_id FROM temp._oi_stubs) "
                f"GROUP BY n.{q(column)}"
            )
        elif ref_table == "products":
            ids, rows = con.execute(
                f"SELECT count(DISTINCT n.{q(column)}), count(*) FROM temp._oi_new n "
                f"WHERE n.{q(column)} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "
                f"{target.existing('products')} p WHERE p.{q(ref_col)} = n.{q(column)})"
            ).fetchone()
            if ids:
                notes.append(
                    f"{rows:,} rows reference {ids:,} product id(s) not in products (kept; "
                    "load products to get their category and cost)")
    stubs = _count(con, "temp._oi_stubs")
    if stubs:
        notes.append(f"{stubs:,} unknown customer id(s) created as stub customers (is_stub=true)")
    return stubs, notes


# -- writing to the warehouse ------------------------------------------------------------

class _Target:
    """Where validated rows go.  ``con`` is the DuckDB connection that validates."""

    con: Any

    def previous_load(self, table: str, digest: str) -> str | None:
        row = self.con.execute(
            f"SELECT load_id FROM {self.existing('loads')} WHERE table_name = ? "
            "AND file_sha256 = ? ORDER BY finished LIMIT 1", [table, digest]).fetchone()
        return None if row is None else str(row[0])

    def existing(self, table: str) -> str:
        raise NotImplementedError

    def prepare(self, spec: TableSpec) -> None:
        """Make the existing rows needed for de-duplication visible to ``con``."""

    def begin(self) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...

    def write(self, spec: TableSpec, report: LoadReport, *, digest: str, started: datetime,
              finished: datetime, replaced_stubs: int) -> None:
        raise NotImplementedError

    def cleanup(self) -> None:
        for t in ("_oi_raw", "_oi_typed", "_oi_good", "_oi_new", "_oi_stubs"):
            try:
                self.con.execute(f"DROP TABLE IF EXISTS temp.{t}")
            except Exception:  # pragma: no cover - a failed connection has nothing to drop
                log.debug("could not drop temp.%s", t, exc_info=True)


def loads_row_sql() -> str:
    return f"INSERT INTO {{loads}} ({', '.join(q(c) for c in LOADS.column_names)}) " \
           f"VALUES ({', '.join('?' for _ in LOADS.column_names)})"


def loads_values(report: LoadReport, digest: str, started: datetime,
                 finished: datetime) -> list[Any]:
    return [report.load_id, report.table, report.file, digest, started, finished,
            report.rows_read, report.loaded, report.quarantined, report.duplicates,
            report.stubs_created]


def quarantine_select(report: LoadReport) -> str:
    cols = QUARANTINE.column_names
    assert cols == ("load_id", "table_name", "file", "row_number", "column", "reason", "raw")
    from outsidein.warehouse.quality import lit

    return (f"SELECT {lit(report.load_id)}, {lit(report.table)}, {lit(report.file)}, _row, "
            "_col, _reason, _raw FROM temp._oi_typed WHERE _reason IS NOT NULL ORDER BY _row")


def stubs_select() -> str:
    return ("SELECT customer_id, first_seen, true AS is_stub FROM temp._oi_stubs "
            "ORDER BY customer_id")


class _DuckTarget(_Target):
    """The DuckDB warehouse itself: one transaction around the whole load."""

    def __init__(self, con: Any) -> None:
        self.con = con

    def existing(self, table: str) -> str:
        return f"main.{q(table)}"

    def begin(self) -> None:
        self.con.execute("BEGIN TRANSACTION")

    def commit(self) -> None:
        self.con.execute("COMMIT")

    def rollback(self) -> None:
        try:
            self.con.execute("ROLLBACK")
        except Exception:  # no transaction open (failed before BEGIN)
            log.debug("rollback without transaction", exc_info=True)

    def write(self, spec: TableSpec, report: LoadReport, *, digest: str, started: datetime,
              finished: datetime, replaced_stubs: int) -> None:
        con = self.con
        cols = ", ".join(q(c) for c in spec.column_names)
        if replaced_stubs:
            con.execute("DELETE FROM main.customers c WHERE coalesce(c.is_stub, false) AND "
                        "c.customer_id IN (SELECT customer_id FROM temp._oi_new)")
        con.execute(f"INSERT INTO main.{q(spec.name)} ({cols}) SELECT {cols} FROM temp._oi_new")
        if report.stubs_created:
            con.execute("INSERT INTO main.customers (customer_id, first_seen, is_stub) "
                        + stubs_select())
        qcols = ", ".join(q(c) for c in QUARANTINE.column_names)
        con.execute(f"INSERT INTO main.quarantine ({qcols}) " + quarantine_select(report))
        con.execute(loads_row_sql().format(loads="main.loads"),
                    loads_values(report, digest, started, finished))
