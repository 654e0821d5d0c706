"""Load files and data frames into the canonical tables, with validation and quarantine.

>>> import tempfile
>>> from pathlib import Path
>>> from outsidein.warehouse.engine import Warehouse
>>> wh = Warehouse.open("duckdb", root=Path("."), path=Path(":memory:"))
>>> path = Path(tempfile.mkdtemp()) / "products.csv"
>>> _ = path.write_text("product_id,unit_cost\\np1,2.5\\np2,-1\\np1,2.5\\n")
>>> report = load_file(wh, "products", path)
>>> report.rows_read, report.loaded, report.quarantined, report.duplicates
(3, 1, 1, 1)
>>> report.reasons
{'unit_cost: below the minimum 0': 1}

A workspace loads through :func:`outsidein.services.data.load_file`, which
passes its warehouse and its settings (the memory limit).

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
6. the rows, stubs, quarantine and a ``loads`` record are written at once
   (:mod:`outsidein.warehouse.target`).

Choices: extra source columns are ignored and named in the report's notes;
missing optional columns are filled with nulls.  Validation touches only
temp tables; every write is in one DuckDB transaction, so a crash or Ctrl-C
leaves the warehouse as it was.  DuckDB's memory is capped at
*memory_limit* during a load (it spills beyond).  Loading a file whose
SHA-256 was already loaded into the same table is skipped, and key-based
de-duplication makes any re-load add nothing.  On a PySpark warehouse the
same validation runs in an in-memory DuckDB and the new rows are appended as
Parquet files (see :mod:`outsidein.warehouse.spark_target`).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from outsidein.config import DEFAULT_LOAD_MEMORY_LIMIT
from outsidein.errors import ConfigError, DataValidationError
from outsidein.warehouse import _stage
from outsidein.warehouse.engine import Warehouse, ensure_schema
from outsidein.warehouse.load_report import LoadReport
from outsidein.warehouse.options import LoadOptions
from outsidein.warehouse.quality import resolve_columns, typed_select_sql
from outsidein.warehouse.schema import TableSpec, table_spec
from outsidein.warehouse.spark_target import SparkTarget
from outsidein.warehouse.sql import count_rows, lit, q
from outsidein.warehouse.target import (
    FAILURES,
    SKIP,
    STUBS,
    TYPED,
    DuckTarget,
    Target,
    new_rows_sql,
)

__all__ = ["STEPS", "LoadOptions", "LoadReport", "Progress", "load_file", "load_frame"]

#: ``progress(step_description, steps_done, steps_total)``
Progress = Callable[[str, int, int], None]
STEPS = 5


# -- public API ------------------------------------------------------------------------

def load_file(
    wh: Warehouse,
    table: str,
    path: str | os.PathLike[str],
    *,
    options: LoadOptions | None = None,
    mapping: Mapping[str, str] | None = None,
    date_format: str | None = None,
    progress: Progress | None = None,
    memory_limit: str = DEFAULT_LOAD_MEMORY_LIMIT,
) -> LoadReport:
    """Validate and load a CSV, Parquet or JSON Lines file into canonical *table*.

    Parameters
    ----------
    wh : Warehouse
        The warehouse that receives the rows (DuckDB or PySpark).
    table : str
        A canonical table name (see :data:`outsidein.warehouse.schema.TABLES`).
    path : path-like
        ``.csv`` (header row; delimiter detected), ``.parquet`` or ``.jsonl``.
    options : LoadOptions, optional
        How the file is read and mapped (delimiter, header, encoding, mapping,
        date format, ...); see :class:`outsidein.warehouse.options.LoadOptions`.
    mapping, date_format : optional
        Shorthands for ``LoadOptions(mapping=..., date_format=...)`` (only when
        *options* is not given).
    progress : callable, optional
        Called as ``progress(step, done, total)`` between steps.
    memory_limit : str
        DuckDB's memory cap during the load, e.g. ``"2GB"`` (it spills beyond).

    Returns
    -------
    LoadReport

    Raises
    ------
    DataValidationError
        Unknown table, unreadable file or missing required columns (nothing loaded).

    Examples
    --------
    See the module's example; a file already loaded is skipped:

    >>> import tempfile
    >>> wh = Warehouse.open("duckdb", root=Path("."), path=Path(":memory:"))
    >>> path = Path(tempfile.mkdtemp()) / "customers.csv"
    >>> _ = path.write_text("customer_id,region\\nc1,north\\n")
    >>> load_file(wh, "customers", path).loaded, load_file(wh, "customers", path).loaded
    (1, 0)
    """
    spec = table_spec(table)
    file = Path(path).expanduser().resolve()
    _stage.file_format(file)
    if not file.is_file():
        raise DataValidationError(f"file {str(path)!r} does not exist; check the path")
    if options is None:
        options = LoadOptions(mapping=dict(mapping or {}), date_format=date_format)
    elif mapping is not None or date_format is not None:
        raise TypeError("pass mapping and date_format inside options, not beside it")
    opts = options
    return _run(wh, spec, label=str(file), digest=_stage.sha256_file(file), options=opts,
                progress=progress, memory_limit=memory_limit,
                source=lambda con: _stage.file_source(con, file, opts))


def load_frame(
    wh: Warehouse,
    table: str,
    data: Any,
    *,
    source: str,
    progress: Progress | None = None,
    memory_limit: str = DEFAULT_LOAD_MEMORY_LIMIT,
) -> LoadReport:
    """Validate and load an in-memory ``pyarrow.Table`` or ``pandas.DataFrame``.

    Same rules as :func:`load_file`; *source* names the data in the quarantine
    and the ``loads`` table (e.g. ``"demo:order_lines"``).  Typed columns are
    used as they are; text columns are parsed like a CSV's.

    >>> import pandas as pd
    >>> wh = Warehouse.open("duckdb", root=Path("."), path=Path(":memory:"))
    >>> df = pd.DataFrame({"customer_id": ["c1", "c2"], "nps": [9, -3]})
    >>> report = load_frame(wh, "customers", df, source="survey")
    >>> report.loaded, report.reasons
    (1, {'nps: below the minimum 0': 1})
    """
    spec = table_spec(table)
    return _run(wh, spec, label=source, digest="", options=LoadOptions(),
                progress=progress, memory_limit=memory_limit,
                source=lambda con: _stage.frame_source(con, data, source))


# -- the pipeline: read and validate, then de-duplicate, reference and write -------------

@dataclass(frozen=True)
class _Validated:
    """What validation found: rows read, quarantine reasons, source columns not used."""

    rows_read: int
    reasons: dict[str, int]
    extra: list[str]

    @property
    def quarantined(self) -> int:
        return sum(self.reasons.values())


def _target_of(wh: Warehouse, memory_limit: str) -> Target:
    if wh.backend == "duckdb":
        ensure_schema(wh)
        return DuckTarget(wh.duckdb, memory_limit=memory_limit)
    if wh.backend == "pyspark":
        return SparkTarget(wh)
    raise ConfigError(f"loading into a {wh.backend!r} warehouse is not supported; "
                      "use backend 'duckdb' or 'pyspark' in outsidein.toml")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _run(wh: Warehouse, spec: TableSpec, *, label: str, digest: str, options: LoadOptions,
         progress: Progress | None, memory_limit: str,
         source: Callable[[Any], _stage.Source]) -> LoadReport:
    t0 = time.perf_counter()
    started = _now()
    tick = progress or (lambda *_: None)
    target = _target_of(wh, memory_limit)
    try:
        previous = target.previous_load(spec.name, digest) if digest else None
        if previous is not None:
            return LoadReport(spec.name, label, previous, skipped_same_file=True,
                              seconds=time.perf_counter() - t0)
        checked = _validate(target.con, spec, Path(label).name, source, options=options,
                            tick=tick)
        report = _write(target, spec, checked, label=label, digest=digest, started=started,
                        tick=tick)
    except BaseException as exc:
        if _stage.is_interrupt(exc):  # Ctrl-C inside a DuckDB query
            raise KeyboardInterrupt from None
        raise
    finally:
        target.cleanup()
    tick("done", STEPS, STEPS)
    return replace(report, seconds=time.perf_counter() - t0)


def _validate(con: Any, spec: TableSpec, name: str, source: Callable[[Any], _stage.Source],
              *, options: LoadOptions, tick: Progress) -> _Validated:
    """Read the source into the typed table with each row's first failing rule.

    Touches only temp tables, outside the load's transaction.
    """
    tick(f"reading {name}", 0, STEPS)
    src = source(con)
    try:
        plans, extra = resolve_columns(spec, src.columns, mapping=options.mapping, source=name)
        tick("validating", 1, STEPS)
        sql, failures = typed_select_sql(plans, src.sql, date_format=options.date_format,
                                         raw_columns=list(src.columns))
        try:
            rows_read = int(con.execute(
                f"CREATE OR REPLACE TEMP TABLE {TYPED} AS {sql}").fetchone()[0])
            if src.rejects:
                rows_read += _add_rejects(con, src.rejects, failures)
        except duckdb.Error as exc:
            if _stage.is_interrupt(exc):
                raise KeyboardInterrupt from None
            raise _stage.unreadable(name, src.fmt, exc) from exc
    finally:
        src.close()
    con.execute(f"CREATE OR REPLACE TEMP TABLE {FAILURES} "
                "(_fail SMALLINT, _col VARCHAR, _reason VARCHAR)")
    if failures:
        con.execute(f"INSERT INTO {FAILURES} VALUES " + ", ".join(
            f"({i}, {lit(c)}, {lit(r)})" for i, (c, r) in enumerate(failures, 1)))
    reasons = {f"{c}: {r}": int(n) for c, r, n in con.execute(
        f"SELECT f._col, f._reason, count(*) FROM {TYPED} t JOIN {FAILURES} f "
        "USING (_fail) GROUP BY ALL ORDER BY 3 DESC, 1, 2").fetchall()}
    return _Validated(rows_read, reasons, extra)


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


def _write(target: Target, spec: TableSpec, checked: _Validated, *, label: str, digest: str,
           started: datetime, tick: Progress) -> LoadReport:
    """De-duplicate, create stubs and write everything in one transaction."""
    con = target.con
    tick("removing duplicates", 2, STEPS)
    target.begin()
    try:
        replaced = _mark_duplicates(con, spec, target)
        tick("checking references", 3, STEPS)
        stubs, notes = _reference_stubs(con, spec, target)
        if replaced:
            notes.append(f"{replaced:,} stub customers replaced by their full records")
        if checked.extra:
            notes.insert(0, f"ignored column(s) not in table {spec.name!r}: "
                            f"{', '.join(checked.extra)}")
        tick("writing", 4, STEPS)
        load_id = uuid.uuid4().hex[:16]
        loaded = target.write_rows(spec, load_id, replaced_stubs=replaced)
        report = LoadReport(
            spec.name, label, load_id, rows_read=checked.rows_read, loaded=loaded,
            quarantined=checked.quarantined,
            duplicates=checked.rows_read - checked.quarantined - loaded,
            stubs_created=stubs, reasons=checked.reasons, notes=tuple(notes),
        )
        target.write_bookkeeping(report, digest=digest, started=started, finished=_now())
        target.commit()
    except BaseException:
        target.rollback()
        raise
    return report


# -- duplicates and references ------------------------------------------------------------

def _key_match(spec: TableSpec, a: str, b: str) -> str:
    return " AND ".join(f"{a}.{q(k)} = {b}.{q(k)}" for k in spec.key)


def _is_empty(con: Any, relation: str) -> bool:
    return count_rows(con, relation, at_most=1) == 0


def _mark_duplicates(con: Any, spec: TableSpec, target: Target) -> int:
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
        f"CREATE OR REPLACE TEMP TABLE {SKIP} AS "
        f"SELECT g._row FROM {TYPED} g JOIN temp._oi_dups d ON hash({g_keys}) = d._h "
        f"JOIN {TYPED} f ON f._row = d._first "
        f"WHERE g._fail IS NULL AND g._row <> d._first AND {_key_match(spec, 'g', 'f')} "
        + already)
    if spec.name != "customers":
        return 0
    return count_rows(con, f"{new_rows_sql()} n JOIN {target.existing('customers')} e "
                           f"ON {_key_match(spec, 'n', 'e')} WHERE coalesce(e.is_stub, false)")


def _reference_stubs(con: Any, spec: TableSpec, target: Target) -> tuple[int, list[str]]:
    """Fill ``temp._oi_stubs`` with unknown customers; note unknown products."""
    notes: list[str] = []
    con.execute(f"CREATE OR REPLACE TEMP TABLE {STUBS} "
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
