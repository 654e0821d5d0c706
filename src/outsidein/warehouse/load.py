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

Choices: extra source columns of customers, prospects and products are kept
as typed attributes (:mod:`outsidein.warehouse.attributes`), those of other
tables are ignored, and the report's notes name them either way;
missing optional columns are filled with nulls.  Validation touches only
temp tables; every write is in one DuckDB transaction, so a crash or Ctrl-C
leaves the warehouse as it was.  DuckDB's memory is capped at
*memory_limit* during a load (it spills beyond).  A load is identified by the
file's SHA-256 *and* its options (:meth:`LoadOptions.fingerprint`): the same
file loaded again with the same options into the same table is skipped, the
same file with other options (a corrected mapping or date format) is a new
load, and key-based de-duplication makes any re-load add nothing.  No traps
(:mod:`outsidein.warehouse.load_checks`): a load in which every row is
quarantined writes nothing and fails; more than 5% of rows quarantined or
duplicated is a warning (a failure with *max_bad_fraction*).  Every row keeps
its ``load_id``, so ``replace=True`` undoes the earlier loads of the same file
in the load's own transaction (:mod:`outsidein.warehouse.undo`).  On a PySpark warehouse the
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
from outsidein.warehouse.attributes import stage_attributes, write_attributes
from outsidein.warehouse.engine import Warehouse, ensure_schema
from outsidein.warehouse.keys import fill_order_keys, mark_duplicates, reference_stubs
from outsidein.warehouse.load_checks import bad_share_warnings, check_not_all_quarantined
from outsidein.warehouse.load_report import LoadReport
from outsidein.warehouse.options import LoadOptions
from outsidein.warehouse.quality import infer_date_formats, resolve_columns, typed_select_sql
from outsidein.warehouse.schema import TableSpec, table_spec
from outsidein.warehouse.spark_target import SparkTarget
from outsidein.warehouse.sql import count_rows, lit
from outsidein.warehouse.target import FAILURES, SKIP, TYPED, DuckTarget, Target

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
    replace: bool = False,
    max_bad_fraction: float | None = None,
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
    replace : bool
        Undo the earlier loads of the same file (same SHA-256, any options)
        into *table*, then load it again, in one transaction (DuckDB only).
    max_bad_fraction : float, optional
        Fail (nothing loaded) when more than this share of the rows is
        quarantined or duplicated; without it, more than 5% is a warning in
        :attr:`LoadReport.warnings`.

    Returns
    -------
    LoadReport

    Raises
    ------
    DataValidationError
        Unknown table, unreadable file or missing required columns, every row
        quarantined, or more bad rows than *max_bad_fraction* (nothing loaded).

    Examples
    --------
    See the module's example; a file already loaded with the same options is
    skipped:

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
    if max_bad_fraction is not None and not 0 <= max_bad_fraction <= 1:
        raise DataValidationError(
            f"max_bad_fraction {max_bad_fraction!r}: expected a share from 0 to 1, e.g. 0.01")
    opts = options
    plan = _Plan(label=str(file), digest=_stage.sha256_file(file), options=opts,
                 replace=replace, max_bad_fraction=max_bad_fraction)
    return _run(wh, spec, plan, progress=progress, memory_limit=memory_limit,
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
    return _run(wh, spec, _Plan(label=source, digest="", options=LoadOptions()),
                progress=progress, memory_limit=memory_limit,
                source=lambda con: _stage.frame_source(con, data, source))


# -- the pipeline: read and validate, then de-duplicate, reference and write -------------

@dataclass(frozen=True)
class _Plan:
    """What identifies the load (file, SHA-256, options) and how it may end."""

    label: str
    digest: str  # "" for a frame: never "already loaded"
    options: LoadOptions
    replace: bool = False
    max_bad_fraction: float | None = None
    #: earlier loads of the same file into the table: (load_id, options fingerprint)
    earlier: tuple[tuple[str, str | None], ...] = ()

    @property
    def replaces(self) -> list[str]:
        return [lid for lid, _ in self.earlier] if self.replace else []


@dataclass(frozen=True)
class _Validated:
    """What validation found: rows read, quarantine reasons, source columns not used, notes."""

    rows_read: int
    reasons: dict[str, int]
    extra: list[str]
    notes: list[str]  # for the report, e.g. the date format read

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


def _run(wh: Warehouse, spec: TableSpec, plan: _Plan, *, progress: Progress | None,
         memory_limit: str, source: Callable[[Any], _stage.Source]) -> LoadReport:
    t0 = time.perf_counter()
    started = _now()
    tick = progress or (lambda *_: None)
    target = _target_of(wh, memory_limit)
    label, options = plan.label, plan.options
    try:
        # a load is its file's SHA-256 with its options: the same file read otherwise is new
        plan = replace(plan, earlier=tuple(target.earlier_loads(spec.name, plan.digest))
                       if plan.digest else ())
        fingerprint = options.fingerprint()
        same = next((lid for lid, fp in plan.earlier if fp == fingerprint), None)
        if same is not None and not plan.replace:
            return LoadReport(spec.name, label, same, skipped_same_file=True,
                              seconds=time.perf_counter() - t0, options=options.to_dict())
        target.check_undo(plan.replaces)
        checked = _validate(target.con, spec, Path(label).name, source, options=options,
                            tick=tick)
        report = _write(target, spec, checked, plan, started=started, tick=tick)
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
        plans, extra = resolve_columns(spec, src.columns, mapping=options.mapping, source=name,
                                       decimal=options.decimal)
        tick("validating", 1, STEPS)
        try:
            formats, notes = ({}, []) if options.date_format else infer_date_formats(
                con, plans, src.sql, source=name)
            sql, failures = typed_select_sql(
                plans, src.sql, date_format=options.date_format, date_formats=formats,
                load_time=None if options.allow_future else _now(),
                raw_columns=list(src.columns), decimal=options.decimal)
            rows_read = int(con.execute(
                f"CREATE OR REPLACE TEMP TABLE {TYPED} AS {sql}").fetchone()[0])
            if src.rejects:
                rows_read += _add_rejects(con, src.rejects, failures)
            stage_attributes(con, spec, src.sql, src.columns, extra)
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
    return _Validated(rows_read, reasons, extra, [*src.notes, *notes])


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


def _write(target: Target, spec: TableSpec, checked: _Validated, plan: _Plan, *,
           started: datetime, tick: Progress) -> LoadReport:
    """De-duplicate, create stubs and write everything in one transaction.

    Nothing is written when every row was quarantined, or when more rows than
    ``plan.max_bad_fraction`` allows were quarantined or duplicated.  With
    ``plan.replace`` the earlier loads of the file are undone first, in the
    same transaction, so that their rows are not taken for duplicates and a
    failure leaves them in place.
    """
    con = target.con
    name = Path(plan.label).name
    mapping = plan.options.mapping
    check_not_all_quarantined(con, spec, name=name, rows_read=checked.rows_read,
                              reasons=checked.reasons, mapping=mapping)
    key_notes = fill_order_keys(con, spec)
    tick("removing duplicates", 2, STEPS)
    target.begin()
    try:
        if plan.replaces:
            undone = target.remove_loads(plan.replaces)
            key_notes.append(f"replaced the earlier load(s) {', '.join(plan.replaces)} of this "
                             f"file ({undone.summary().partition(': ')[2]})")
        replaced = mark_duplicates(con, spec, target)
        warnings = bad_share_warnings(
            con, spec, name=name, rows_read=checked.rows_read, reasons=checked.reasons,
            duplicates=count_rows(con, SKIP), mapping=mapping,
            reloaded=bool(plan.earlier) and not plan.replace,
            max_bad_fraction=plan.max_bad_fraction)
        tick("checking references", 3, STEPS)
        stubs, notes = reference_stubs(con, spec, target)
        notes[:0] = [*checked.notes, *key_notes]
        if replaced:
            notes.append(f"{replaced:,} stub customers replaced by their full records")
        tick("writing", 4, STEPS)
        load_id = uuid.uuid4().hex[:16]
        loaded = target.write_rows(spec, load_id, replaced_stubs=replaced)
        extra_note = write_attributes(target, spec, checked.extra, load_id, loaded=started)
        if extra_note:
            notes.insert(0, extra_note)
        report = LoadReport(
            spec.name, plan.label, load_id, rows_read=checked.rows_read, loaded=loaded,
            quarantined=checked.quarantined,
            duplicates=checked.rows_read - checked.quarantined - loaded,
            stubs_created=stubs, reasons=checked.reasons, notes=tuple(notes),
            warnings=tuple(warnings), replaced=tuple(plan.replaces),
            options=plan.options.to_dict(),
        )
        target.write_bookkeeping(report, digest=plan.digest,
                                 fingerprint=plan.options.fingerprint(), started=started,
                                 finished=_now())
        target.commit()
    except BaseException:
        target.rollback()
        raise
    return report
