"""Load files and data frames into the canonical tables, with validation and quarantine.

>>> from outsidein.workspace import Workspace
>>> from outsidein.warehouse.load import load_file
>>> ws = Workspace.init("/tmp/acme")                               # doctest: +SKIP
>>> report = load_file(ws, "order_lines", "orders.csv")            # doctest: +SKIP
>>> report.rows_read == report.loaded + report.quarantined + report.duplicates  # doctest: +SKIP
True

How a load works (all in DuckDB SQL, no Python loop over rows):

1. the source is copied as it is (CSV and JSON Lines as text, with the CSV
   dialect and columns taken from the header line) into a temp table whose
   ``rowid`` gives each row's number in the file;
2. one pass casts every column to its canonical type and finds each row's
   first failing rule (:mod:`outsidein.warehouse.quality`); failing rows go
   to the ``quarantine`` table with file, row number, column, reason and the
   raw row as JSON;
3. good rows are de-duplicated by the table's natural key, first within the
   source (the first occurrence wins) and then against rows already loaded
   (a real customer record replaces a stub instead of being a duplicate);
4. customers referenced by new rows (order lines, interactions, service
   costs, referrals) that do not exist are created as stubs
   (``is_stub = true``, ``first_seen`` = their first time stamp in the load);
   a later load of ``customers`` replaces a stub with the real record;
5. unknown product ids are kept (the report notes how many): products often
   arrive after sales, and a stub product would carry no cost or category;
6. the rows, stubs, quarantine and a ``loads`` record are written at once.

Choices: extra source columns are ignored and named in the report's notes;
missing optional columns are filled with nulls.  Validation touches only
temp tables; every write is in one DuckDB transaction, so a crash or Ctrl-C
leaves the warehouse as it was.  DuckDB's memory is capped at
:data:`LOAD_MEMORY_LIMIT` during a load (it spills beyond).  Loading a
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
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from outsidein.errors import ConfigError, DataValidationError
from outsidein.warehouse import _stage, rollup
from outsidein.warehouse.quality import count_rows, lit, q, resolve_columns, typed_select_sql
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

    def _repr_html_(self) -> str:
        import html

        rows = [("rows read", self.rows_read), ("loaded", self.loaded),
                ("quarantined", self.quarantined), ("duplicates skipped", self.duplicates),
                ("stub customers created", self.stubs_created)]
        rows += [(f"quarantined: {reason}", n) for reason, n in self.reasons.items()]
        body = "".join(f"<tr><td>{html.escape(k)}</td><td>{v:,}</td></tr>" for k, v in rows)
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return (f"<b>{html.escape(self.table)}</b> from {html.escape(Path(self.file).name)}"
                f"<table>{body}</table>" + (f"<ul>{notes}</ul>" if notes else ""))


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
        raise DataValidationError(f"file {str(path)!r} does not exist; check the path")
    digest = _stage.sha256_file(file)
    return _run(ws, spec, label=str(file), digest=digest, mapping=mapping,
                date_format=date_format, progress=progress,
                source=lambda con: _stage.file_source(con, file))


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
                progress=progress,
                source=lambda con: _stage.frame_source(con, data, source))


# -- the pipeline ----------------------------------------------------------------------

def _target_of(ws: Workspace) -> _Target:
    wh = ws.warehouse()
    if wh.backend == "duckdb":
        from outsidein.warehouse.schema import ensure_schema

        ensure_schema(wh)
        return _DuckTarget(wh.duckdb)
    if wh.backend == "pyspark":
        from outsidein.warehouse._spark import SparkTarget

        return SparkTarget(wh)
    raise ConfigError(f"loading into a {wh.backend!r} warehouse is not supported; "
                      "use backend 'duckdb' or 'pyspark' in outsidein.toml")


def _run(ws: Workspace, spec: TableSpec, *, label: str, digest: str,
         mapping: Mapping[str, str] | None, date_format: str | None,
         progress: Progress | None, source: Callable[[Any], _stage.Source]) -> LoadReport:
    t0 = time.perf_counter()
    started = datetime.now(UTC).replace(tzinfo=None)
    load_id = uuid.uuid4().hex[:16]
    tick = progress or (lambda *_: None)
    target = _target_of(ws)
    con = target.con
    began = False
    try:
        if digest:
            previous = target.previous_load(spec.name, digest)
            if previous is not None:
                return LoadReport(spec.name, label, previous, skipped_same_file=True,
                                  seconds=time.perf_counter() - t0)
        # reading and validating touch only temp tables; the transaction covers the rest
        name = Path(label).name
        tick(f"reading {name}", 0, STEPS)
        src = source(con)
        try:
            plans, extra = resolve_columns(spec, src.columns, mapping=mapping, source=name)
            tick("validating", 1, STEPS)
            sql, failures = typed_select_sql(plans, src.sql, date_format=date_format,
                                             raw_columns=list(src.columns))
            try:
                rows_read = int(con.execute(
                    f"CREATE OR REPLACE TEMP TABLE {TYPED} AS {sql}").fetchone()[0])
                if src.rejects:
                    rows_read += _add_rejects(con, src.rejects, failures)
            except (duckdb.Error, RuntimeError) as exc:
                if _stage.is_interrupt(exc):
                    raise KeyboardInterrupt from None
                if not isinstance(exc, duckdb.Error):
                    raise
                raise _stage.unreadable(name, src.fmt, exc) from exc
        finally:
            src.close()
        con.execute("CREATE OR REPLACE TEMP TABLE _oi_fail "
                    "(_fail SMALLINT, _col VARCHAR, _reason VARCHAR)")
        if failures:
            con.execute("INSERT INTO temp._oi_fail VALUES " + ", ".join(
                f"({i}, {lit(c)}, {lit(r)})" for i, (c, r) in enumerate(failures, 1)))
        reasons = {f"{c}: {r}": int(n) for c, r, n in con.execute(
            f"SELECT f._col, f._reason, count(*) FROM {TYPED} t JOIN temp._oi_fail f "
            "USING (_fail) GROUP BY ALL ORDER BY 3 DESC, 1, 2").fetchall()}
        quarantined = sum(reasons.values())
        tick("removing duplicates", 2, STEPS)
        target.begin()
        began = True
        replaced = _mark_skipped(con, spec, target)
        tick("checking references", 3, STEPS)
        stubs, notes = _references(con, spec, target)
        if replaced:
            notes.append(f"{replaced:,} stub customers replaced by their full records")
        if extra:
            notes.insert(0, f"ignored column(s) not in table {spec.name!r}: {', '.join(extra)}")
        tick("writing", 4, STEPS)
        loaded = target.write_rows(spec, load_id, replaced_stubs=replaced)
        report = LoadReport(
            spec.name, label, load_id, rows_read=rows_read, loaded=loaded,
            quarantined=quarantined, duplicates=rows_read - quarantined - loaded,
            stubs_created=stubs, reasons=reasons, notes=tuple(notes),
        )
        target.write_bookkeeping(report, digest=digest, started=started,
                                 finished=datetime.now(UTC).replace(tzinfo=None))
        target.commit()
    except BaseException as exc:
        if began:
            target.rollback()
        if _stage.is_interrupt(exc):  # Ctrl-C inside a DuckDB query
            raise KeyboardInterrupt from None
        raise
    finally:
        target.cleanup()
    tick("done", STEPS, STEPS)
    return replace(report, seconds=time.perf_counter() - t0)


TYPED = "temp._oi_typed"
#: DuckDB memory limit during a load (beyond it DuckDB spills to the workspace's temp folder)
LOAD_MEMORY_LIMIT = os.environ.get("OUTSIDEIN_LOAD_MEMORY_LIMIT", "2GB")
SKIP = "temp._oi_skip"
STUBS = "temp._oi_stubs"
TEMP_TABLES = ("_oi_raw", "_oi_typed", "_oi_fail", "_oi_dups", "_oi_skip", "_oi_stubs")


def _add_rejects(con: Any, rejects: str, failures: list[tuple[str, str]]) -> int:
    """Put the lines the reader could not parse into the typed table as failed rows.

    Each distinct (column, reason) becomes one more failure kind after the
    rules' own, so counting, reasons and quarantine treat them like any other
    bad row.  Returns the number of lines added.
    """
    kinds = con.execute(f"SELECT DISTINCT _col, _reason FROM {rejects} ORDER BY 1, 2").fetchall()
    first = len(failures) + 1
    failures.extend((str(c), str(r)) for c, r in kinds)
    mapping = ", ".join(f"({lit(c)}, {lit(r)}, {i})" for i, (c, r) in enumerate(kinds, first))
    return int(con.execute(
        f"INSERT INTO {TYPED} (_row, _fail, _raw) SELECT j._row, m.id, j._raw FROM {rejects} j "
        f"JOIN (VALUES {mapping}) m(c, r, id) ON j._col = m.c AND j._reason = m.r"
    ).fetchone()[0])


def _is_empty(con: Any, table: str) -> bool:
    return not con.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()[0]


def _key_match(spec: TableSpec, a: str, b: str) -> str:
    return " AND ".join(f"{a}.{q(k)} = {b}.{q(k)}" for k in spec.key)


def new_rows_sql() -> str:
    """The rows this load adds: valid, first of their key in the source, not already loaded."""
    return (f"(SELECT * FROM {TYPED} g WHERE g._fail IS NULL AND NOT EXISTS "
            f"(SELECT 1 FROM {SKIP} s WHERE s._row = g._row))")


def _mark_skipped(con: Any, spec: TableSpec, target: _Target) -> int:
    """Fill ``temp._oi_skip`` with the row numbers of valid rows that are duplicates.

    A row is a duplicate when an earlier valid row of the source has the same
    natural key, or when its key is already in the table.  Duplicates are
    rare, so repeated keys are found by grouping on a 64-bit hash of the key
    (much cheaper than grouping or ranking on the key's strings), and each
    candidate is then checked against the first row of its hash on the real
    key values.  Returns the number of stub customers the load replaces.
    """
    keys = ", ".join(q(k) for k in spec.key)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _oi_dups AS SELECT hash({keys}) AS _h, "
        f"min(_row) AS _first FROM {TYPED} WHERE _fail IS NULL GROUP BY 1 "
        "HAVING count(*) > 1")
    existing = target.existing(spec.name)
    if spec.name == "customers":  # stubs are placeholders: a real record replaces them
        existing = f"(SELECT * FROM {existing} WHERE NOT coalesce(is_stub, false))"
    g_keys = ", ".join(f"g.{q(k)}" for k in spec.key)
    already = "" if _is_empty(con, existing) else (
        f"UNION ALL SELECT g._row FROM {TYPED} g WHERE g._fail IS NULL AND EXISTS "
        f"(SELECT 1 FROM {existing} e WHERE {_key_match(spec, 'g', 'e')})")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _oi_skip AS "
        f"SELECT g._row FROM {TYPED} g JOIN temp._oi_dups d ON hash({g_keys}) = d._h "
        f"JOIN {TYPED} f ON f._row = d._first "
        f"WHERE g._fail IS NULL AND g._row <> d._first AND {_key_match(spec, 'g', 'f')} "
        + already)
    if spec.name != "customers":
        return 0
    return int(con.execute(
        f"SELECT count(*) FROM {new_rows_sql()} n JOIN {target.existing('customers')} e "
        f"ON {_key_match(spec, 'n', 'e')} WHERE coalesce(e.is_stub, false)").fetchone()[0])


def _references(con: Any, spec: TableSpec, target: _Target) -> tuple[int, list[str]]:
    """Fill ``temp._oi_stubs`` with unknown customers; note unknown products."""
    notes: list[str] = []
    con.execute("CREATE OR REPLACE TEMP TABLE _oi_stubs "
                "(customer_id VARCHAR, first_seen TIMESTAMP)")
    ts = "ts" if "ts" in spec.column_names else None
    new = new_rows_sql()
    for column, (ref_table, ref_col) in spec.references.items():
        c = q(column)
        if ref_table == "customers":
            first = f"min(n.{q(ts)})" if ts else "CAST(NULL AS TIMESTAMP)"
            con.execute(
                f"INSERT INTO {STUBS} SELECT n.{c}, {first} FROM {new} n "
                f"WHERE n.{c} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "
                f"{target.existing('customers')} e WHERE e.customer_id = n.{c}) "
                f"AND NOT EXISTS (SELECT 1 FROM {STUBS} s WHERE s.customer_id = n.{c}) "
                f"GROUP BY n.{c}")
        elif ref_table == "products" and _is_empty(con, target.existing("products")):
            notes.append("the products table is empty: load products to get the category "
                         "and cost of what was sold")
        elif ref_table == "products":
            ids, rows = con.execute(
                f"SELECT count(DISTINCT n.{c}), count(*) FROM {new} n "
                f"WHERE n.{c} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "
                f"{target.existing('products')} p WHERE p.{q(ref_col)} = n.{c})").fetchone()
            if ids:
                notes.append(
                    f"{rows:,} rows reference {ids:,} product id(s) not in products (kept; "
                    "load products to get their category and cost)")
    stubs = count_rows(con, STUBS)
    if stubs:
        notes.append(f"{stubs:,} unknown customer id(s) created as stub customers (is_stub=true)")
    return stubs, notes


# -- writing to the warehouse ------------------------------------------------------------

class _Target:
    """Where validated rows go.  ``con`` is the DuckDB connection that validates."""

    con: Any

    def previous_load(self, table: str, digest: str) -> str | None:
        # literals, not parameters: binding parameters makes duckdb import pandas (~1 s)
        row = self.con.execute(
            f"SELECT load_id FROM {self.existing('loads')} WHERE table_name = {lit(table)} "
            f"AND file_sha256 = {lit(digest)} ORDER BY finished LIMIT 1").fetchone()
        return None if row is None else str(row[0])

    def existing(self, table: str) -> str:
        """SQL name, in ``con``, of the rows already in *table*."""
        raise NotImplementedError

    def begin(self) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...

    def write_rows(self, spec: TableSpec, load_id: str, *, replaced_stubs: int) -> int:
        """Add the new rows and stub customers; return the number of new rows."""
        raise NotImplementedError

    def write_bookkeeping(self, report: LoadReport, *, digest: str, started: datetime,
                          finished: datetime) -> None:
        raise NotImplementedError

    def cleanup(self) -> None:
        for t in TEMP_TABLES:
            try:
                self.con.execute(f"DROP TABLE IF EXISTS temp.{t}")
            except Exception:  # a closed or failed connection has nothing to drop
                log.debug("could not drop temp.%s", t, exc_info=True)


def loads_values(report: LoadReport, digest: str, started: datetime,
                 finished: datetime) -> list[Any]:
    """One ``loads`` row, in :data:`LOADS` column order."""
    return [report.load_id, report.table, report.file, digest, started, finished,
            report.rows_read, report.loaded, report.quarantined, report.duplicates,
            report.stubs_created]


def quarantine_select(report: LoadReport) -> str:
    """The quarantine rows of this load, in :data:`QUARANTINE` column order."""
    return (f"SELECT {lit(report.load_id)}, {lit(report.table)}, {lit(report.file)}, t._row, "
            f"f._col, f._reason, t._raw FROM {TYPED} t JOIN temp._oi_fail f USING (_fail) "
            "ORDER BY t._row")


def stubs_select() -> str:
    return f"SELECT customer_id, first_seen, true AS is_stub FROM {STUBS} ORDER BY customer_id"


class _DuckTarget(_Target):
    """The DuckDB warehouse itself: one transaction around all the writes."""

    def __init__(self, con: Any) -> None:
        self.con = con
        # a load spills to disk beyond this, so 10M-line files fit in a small machine
        self._memory_limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        con.execute(f"SET memory_limit = {lit(LOAD_MEMORY_LIMIT)}")

    def existing(self, table: str) -> str:
        return f"main.{q(table)}"

    def cleanup(self) -> None:
        super().cleanup()
        try:
            self.con.execute(f"SET memory_limit = {lit(self._memory_limit)}")
        except Exception:  # pragma: no cover - a closed connection keeps nothing
            log.debug("could not restore memory_limit", exc_info=True)

    def begin(self) -> None:
        self.con.execute("BEGIN TRANSACTION")

    def commit(self) -> None:
        self.con.execute("COMMIT")

    def rollback(self) -> None:
        try:
            self.con.execute("ROLLBACK")
        except Exception:  # the failed statement may have ended the transaction already
            log.debug("rollback without transaction", exc_info=True)

    def write_rows(self, spec: TableSpec, load_id: str, *, replaced_stubs: int) -> int:
        con = self.con
        cols = ", ".join(q(c) for c in spec.column_names)
        if replaced_stubs:
            con.execute(f"DELETE FROM main.customers c WHERE coalesce(c.is_stub, false) AND "
                        f"c.customer_id IN (SELECT customer_id FROM {new_rows_sql()})")
        con.execute("SET preserve_insertion_order = false")  # rows are keyed, order is moot
        try:
            loaded = int(con.execute(f"INSERT INTO main.{q(spec.name)} ({cols}) "
                                     f"SELECT {cols} FROM {new_rows_sql()}").fetchone()[0])
        finally:
            con.execute("RESET preserve_insertion_order")
        con.execute("INSERT INTO main.customers (customer_id, first_seen, is_stub) "
                    + stubs_select())
        if spec.name == rollup.SOURCE:  # same transaction: the rollup moves with the lines
            rollup.add_lines(con, f"SELECT {cols} FROM {new_rows_sql()}", added=loaded)
        return loaded

    def write_bookkeeping(self, report: LoadReport, *, digest: str, started: datetime,
                          finished: datetime) -> None:
        qcols = ", ".join(q(c) for c in QUARANTINE.column_names)
        self.con.execute(f"INSERT INTO main.quarantine ({qcols}) " + quarantine_select(report))
        lcols = LOADS.column_names
        values = ", ".join(
            f"TIMESTAMP {lit(v.isoformat(sep=' '))}" if isinstance(v, datetime)
            else lit(v) if isinstance(v, str) else str(int(v))
            for v in loads_values(report, digest, started, finished))
        self.con.execute(f"INSERT INTO main.loads ({', '.join(q(c) for c in lcols)}) "
                         f"VALUES ({values})")
