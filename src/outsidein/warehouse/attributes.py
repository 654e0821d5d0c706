"""What customers tell you beyond the canonical model: typed attributes, kept by the loader.

A customers, prospects or products file often carries columns the canonical
model does not name (income, household size, home ownership, ...).  The
loader keeps them, typed, in one table per entity table
(:data:`~outsidein.warehouse.schema.ATTRIBUTE_SPECS`): ``customer_attributes``,
``prospect_attributes`` and ``product_attributes``.  Each has the entity's id
(``customer_id``, ...), ``load_id`` and ``loaded_at``, then one column per
attribute, added the first time a file brings it.

Design (decided here, once):

* **Wide, one table per entity table.**  A load adds one row per entity with
  this load's attributes as typed columns (the others null).  A long table
  (entity, name, value) was measured first: it repeats the entity id once per
  value, and writing 1M customers x 5 attributes took ~10 s of CPU more than
  the customers themselves on a DuckDB file; the wide row costs about a second.
* **Typed per load.**  Each attribute's type is inferred from all of its
  non-empty values in the load: ``number`` when every value is a finite
  decimal number (``12``, ``-3.5``, ``1e6``; no hexadecimal, underscores,
  thousands separators, ``inf`` or ``nan``), ``boolean`` when every value is
  ``true`` or ``false`` (any case; not ``yes``/``T``/``1``), ``timestamp`` when
  every value is an ISO 8601 date or time (an offset is converted to UTC),
  else ``text``.  A Parquet file's or a data frame's own types are kept
  (numbers, booleans, time stamps; anything else is text).  The type is
  guessed from the first 10,000 rows and checked on every row while the
  values are written (a value that does not fit makes the column text).
  Columns map to DuckDB ``DOUBLE``, ``BOOLEAN``, ``TIMESTAMP`` (naive UTC),
  ``VARCHAR``; a column whose loads disagree on the type becomes text.
* **Empty is unknown.**  An empty cell is not a value; a column without any
  value is not kept (the load report names it).  Names are matched without
  regard to case (DuckDB's rule); a column named like the id, ``load_id`` or
  ``loaded_at`` cannot be kept (the report says so).
* **Which rows.**  Rows that pass validation, the first of each key in the
  file (as for the canonical row).  A row whose canonical record was already
  loaded still brings its attributes: a later file can enrich known customers.
* **Latest wins, undo restores.**  Every load's row is kept;
  :func:`read_attributes` takes, per entity and attribute, the value of the
  latest load (``loaded_at``) that gave one.  ``outsidein loads undo`` deletes
  a load's rows (``load_id``), so an earlier value comes back.
* **All in SQL, no loop over rows.**  :func:`stage_attributes` runs during
  validation while the source is open: one pass over the first rows guesses
  the types, one pass writes the typed values (with a flag for any value that
  does not fit) into a temp table.  Columns are added (``ALTER TABLE``) then,
  before the load's transaction: DuckDB refuses to alter a table in a
  transaction that also deleted from it (``load --replace``).  An added
  column stays if the load then fails (empty: readers skip it).
  :func:`write_attributes` runs in the load's transaction: one ``INSERT``
  joining the staged values to the load's valid rows.
* **Spark.**  A PySpark warehouse keeps no attributes (its Parquet tables have
  a fixed schema); the load report says the columns were not kept.
* Other tables' extra columns (order lines, interactions, ...) are ignored,
  and the load report says so.

>>> import tempfile
>>> from pathlib import Path
>>> from outsidein.warehouse.engine import Warehouse
>>> from outsidein.warehouse.load import load_file
>>> wh = Warehouse.open("duckdb", root=Path("."), path=Path(":memory:"))
>>> path = Path(tempfile.mkdtemp()) / "customers.csv"
>>> _ = path.write_text("customer_id,income,home_owner,segment,notes\\n"
...                     "c1,52000,true,gold,\\nc2,61000.5,FALSE,,\\nc3,,true,silver,\\n")
>>> print(load_file(wh, "customers", path).notes[0])
kept column(s) not in table 'customers' as attributes (table customer_attributes): \
income (number), home_owner (boolean), segment (text); not kept (no value): notes
>>> read_attributes(wh, "customers")
  customer_id   income  home_owner segment
0          c1  52000.0        True    gold
1          c2  61000.5       False    None
2          c3      NaN        True  silver
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import ibis
import pandas as pd

from outsidein.errors import DataValidationError
from outsidein.warehouse.attribute_inventory import (
    SQL_TYPE,
    attribute_columns,
    columns_of,
)
from outsidein.warehouse.engine import Warehouse
from outsidein.warehouse.schema import ATTRIBUTE_SPECS, TABLES, TableSpec
from outsidein.warehouse.sql import count_rows, lit, q
from outsidein.warehouse.target import SKIP, TYPED, DuckTarget, Target

__all__ = ["STAGED", "attribute_types", "read_attributes",
           "stage_attributes", "write_attributes"]

#: the load's typed attribute values, one column ``"<type>:<name>"`` per attribute, and ``_row``
STAGED = "temp._oi_attrs"
#: the first rows of a text column, whose values give the guess of its type
_SAMPLE = 10_000
# a time of day with a UTC offset at the end ('T10:00:00+02:00', ' 10:00Z')
_OFFSET = r"[T ][0-9:.]+(Z|[+-][0-9]{2}(:?[0-9]{2})?)$"
_NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                  "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "REAL")


# -- during validation: infer and stage ----------------------------------------------------

def _native_kind(sql_type: str) -> str | None:
    """The attribute type of a typed (Parquet, data frame) column; None for a text column."""
    t = sql_type.upper()
    if t == "BOOLEAN":
        return "boolean"
    if t in _NUMERIC_TYPES or t.startswith("DECIMAL"):
        return "number"
    if t.startswith(("TIMESTAMP", "DATE")):
        return "timestamp"
    return None


def _text_value(x: str, kind: str) -> str:
    """SQL of the text column *x* as a value of type *kind* (NULL when empty or not of the type).

    A number may come out infinite here: :func:`_stage` flags it (the column is then text).

    >>> print(_text_value('"n"', "boolean"))
    CASE lower(trim("n")) WHEN 'true' THEN true WHEN 'false' THEN false END
    """
    if kind == "number":  # DuckDB reads '1_000' as 1000: refused here
        return f"CASE WHEN strpos({x}, '_') = 0 THEN TRY_CAST({x} AS DOUBLE) END"
    t = f"trim({x})"
    if kind == "boolean":
        return f"CASE lower({t}) WHEN 'true' THEN true WHEN 'false' THEN false END"
    if kind == "timestamp":
        # ISO 8601 only (DuckDB also reads '05/01/24'); an offset is converted to UTC
        # (a cast to TIMESTAMP would drop it)
        return (f"CASE WHEN substr({t}, 5, 1) = '-' AND substr({t}, 8, 1) = '-' THEN "
                f"CASE WHEN length({t}) > 10 AND regexp_matches({t}, {lit(_OFFSET)}) "
                f"THEN timezone('UTC', TRY_CAST({t} AS TIMESTAMPTZ)) "
                f"ELSE TRY_CAST({t} AS TIMESTAMP) END END")
    return f"nullif({t}, '')"


def _misfit(value: str, raw: str, kind: str) -> str:
    """SQL: the raw text is a value but not one of type *kind* (a number must be finite)."""
    not_empty = f"{raw} IS NOT NULL AND trim({raw}) <> ''"
    if kind == "number":
        return f"CASE WHEN {value} IS NULL THEN {not_empty} ELSE NOT isfinite({value}) END"
    return f"CASE WHEN {value} IS NULL THEN {not_empty} ELSE false END"


def _value(x: str, kind: str, sql_type: str) -> str:
    """SQL of source column *x* (of DuckDB type *sql_type*) as a value of type *kind*."""
    native = _native_kind(sql_type)
    if native == "number":
        return f"CASE WHEN isfinite(CAST({x} AS DOUBLE)) THEN CAST({x} AS DOUBLE) END"
    if native == "boolean":
        return x
    if native == "timestamp":
        if "TIME ZONE" in sql_type.upper():
            return f"timezone('UTC', {x})"
        return f"CAST({x} AS TIMESTAMP)"
    if sql_type.upper() != "VARCHAR":  # lists, structs, ...: kept as their text
        return f"nullif(trim(CAST({x} AS VARCHAR)), '')"
    return _text_value(x, kind)


def _guess(con: Any, relation: str, names: Sequence[str]) -> dict[str, str | None]:
    """The type of each text column that all its non-empty values in *relation* have.

    ``None`` for a column without a value there.
    """
    aggs = []
    for name in names:
        x = q(name)
        aggs += [f"count(nullif(trim({x}), ''))",
                 f"count_if(isfinite({_text_value(x, 'number')}))",
                 f"count({_text_value(x, 'boolean')})", f"count({_text_value(x, 'timestamp')})"]
    row = con.execute(f"SELECT {', '.join(aggs)} FROM {relation}").fetchone()
    out: dict[str, str | None] = {}
    for i, name in enumerate(names):
        n, number, boolean, stamp = row[4 * i:4 * i + 4]
        out[name] = (None if not n else "number" if number == n else "boolean" if boolean == n
                     else "timestamp" if stamp == n else "text")
    return out


def _infer(con: Any, source_sql: str, columns: Mapping[str, str],
           extra: Sequence[str]) -> dict[str, str]:
    """A first guess of each extra column's type (checked on every row by :func:`_stage`).

    A text column's guess comes from its first values (all four tests on every
    row cost seconds on a million rows); a column empty there is tested on all rows.
    """
    kinds = {n: _native_kind(columns[n]) or "text" for n in extra}
    text = [n for n in extra if columns[n].upper() == "VARCHAR"]
    if not text:
        return kinds
    sample = _guess(con, f"(SELECT * FROM {source_sql} LIMIT {_SAMPLE})", text)
    unknown = [n for n, k in sample.items() if k is None]
    if unknown:
        sample.update(_guess(con, source_sql, unknown))
    return {n: sample.get(n) or kinds[n] for n in extra}


def _stage(con: Any, source_sql: str, columns: Mapping[str, str],
           kinds: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """Write the typed values; the columns not all of whose values have their type, and the empty.

    One pass over the source; a flag per guessed column marks a non-empty value
    that is not of the guessed type.
    """
    inner, outer, checks = [], [], []
    for i, (name, kind) in enumerate(kinds.items()):
        x, col = q(name), q(f"{kind}:{name}")
        inner.append(f"{_value(x, kind, columns[name])} AS {col}")
        outer.append(col)
        checks.append(f"count({col})")
        if kind != "text" and columns[name].upper() == "VARCHAR":
            inner.append(f"{x} AS {q(f'_raw{i}')}")
            flag = q(f"_bad{i}")
            outer.append(f"{_misfit(col, q(f'_raw{i}'), kind)} AS {flag}")
            checks.append(f"count_if({flag})")
        else:
            checks.append("0")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {STAGED} AS SELECT _row, {', '.join(outer)} "
                f"FROM (SELECT _row, {', '.join(inner)} FROM {source_sql})")
    row = con.execute(f"SELECT {', '.join(checks)} FROM {STAGED}").fetchone()
    names = list(kinds)
    bad = [n for i, n in enumerate(names) if row[2 * i + 1]]
    empty = [n for i, n in enumerate(names) if not row[2 * i]]
    return bad, empty


def _add_columns(con: Any, table: str, kinds: Mapping[str, str]) -> None:
    """Add the new attributes' columns; make a column text when its loads disagree on the type.

    Outside the load's transaction (see the module's doc).
    """
    have = columns_of(con, table)
    if have is None:  # a Spark load validates in a DuckDB of its own: no such table there
        return
    for name, kind in kinds.items():
        found = have.get(name.lower())
        if found is None:
            con.execute(f"ALTER TABLE main.{q(table)} ADD COLUMN {q(name)} {SQL_TYPE[kind]}")
        elif found[1] != SQL_TYPE[kind] and found[1] != "VARCHAR":
            con.execute(f"ALTER TABLE main.{q(table)} ALTER {q(found[0])} TYPE VARCHAR")


def stage_attributes(con: Any, spec: TableSpec, source_sql: str, columns: Mapping[str, str],
                     extra: Sequence[str]) -> dict[str, str]:
    """Infer the types of the source's extra columns and stage their typed values.

    Runs during validation, while the source is open, before the load's
    transaction; :func:`write_attributes` writes the staged values in it.

    Parameters
    ----------
    con
        The DuckDB connection that validates the load.
    spec : TableSpec
        The table loaded; only the tables of
        :data:`~outsidein.warehouse.schema.ATTRIBUTE_SPECS` keep attributes.
    source_sql : str
        The source relation, with ``_row`` (see :mod:`outsidein.warehouse._stage`).
    columns : mapping of str to str
        The source's columns and their DuckDB types.
    extra : sequence of str
        The source columns the canonical table does not use.

    Returns
    -------
    dict of str to str
        ``{attribute: type}`` of the staged attributes (columns without a value left out).
    """
    con.execute(f"DROP TABLE IF EXISTS {STAGED}")
    if spec.name not in ATTRIBUTE_SPECS:
        return {}
    table = ATTRIBUTE_SPECS[spec.name]
    reserved = {c.lower() for c in table.column_names}
    extra = [c for c in extra if c in columns and c.lower() not in reserved]
    if not extra:
        return {}
    kinds = _infer(con, source_sql, columns, extra)
    bad, empty = _stage(con, source_sql, columns, kinds)
    if bad:  # a value further down is not of the type the first values had: text
        kinds = {n: "text" if n in bad else k for n, k in kinds.items()}
        bad, empty = _stage(con, source_sql, columns, kinds)
    for name in empty:  # a column without any value is not an attribute
        con.execute(f"ALTER TABLE {STAGED} DROP COLUMN {q(kinds[name] + ':' + name)}")
    kinds = {n: k for n, k in kinds.items() if n not in empty}
    if kinds:
        _add_columns(con, table.name, kinds)
    else:
        con.execute(f"DROP TABLE IF EXISTS {STAGED}")
    return kinds


# -- in the load's transaction: write ------------------------------------------------------

def _staged_kinds(con: Any) -> dict[str, str]:
    """``{attribute: type}`` of the staged table (empty when nothing is staged)."""
    found = con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = 'temp' AND table_name = "
        f"{lit(STAGED.removeprefix('temp.'))} ORDER BY column_index").fetchall()
    out: dict[str, str] = {}
    for (column,) in found:
        kind, sep, name = str(column).partition(":")
        if sep and kind in SQL_TYPE:
            out[name] = kind
    return out


def attributes_insert(spec: TableSpec, load_id: str, loaded: datetime,
                      columns: Mapping[str, tuple[str, str]], *, first_of_key: bool) -> str:
    """The INSERT of the staged values into *spec*'s attribute table.

    *columns* maps each staged column (``"<type>:<name>"``) to the table's
    column and its DuckDB type (a value of another type is written as text).
    Valid rows only and, with *first_of_key* (the file repeats keys), the first
    row of each key; rows without any value are left out.

    >>> print(attributes_insert(TABLES["products"], "l1", datetime(2024, 5, 31),
    ...                         {"number:weight": ("weight", "VARCHAR")}, first_of_key=False))
    ... # doctest: +NORMALIZE_WHITESPACE
    INSERT INTO main."product_attributes" ("product_id", "load_id", "loaded_at", "weight")
    SELECT k._entity, 'l1', TIMESTAMP '2024-05-31 00:00:00', CAST(w."number:weight" AS VARCHAR)
    FROM temp._oi_attrs w JOIN (SELECT "product_id" AS _entity, _row FROM temp._oi_typed
    WHERE _fail IS NULL) k USING (_row) WHERE NOT (w."number:weight" IS NULL)
    """
    table = ATTRIBUTE_SPECS[spec.name]
    key = q(spec.key[0])
    kept = (f"SELECT {key} AS _entity, min(_row) AS _row FROM {TYPED} WHERE _fail IS NULL "
            f"GROUP BY {key}" if first_of_key
            else f"SELECT {key} AS _entity, _row FROM {TYPED} WHERE _fail IS NULL")
    names = ", ".join(q(c) for c in (*table.column_names, *(n for n, _ in columns.values())))
    values = ", ".join(
        f"w.{q(staged)}" if SQL_TYPE[staged.partition(':')[0]] == sql_type
        else f"CAST(w.{q(staged)} AS {sql_type})" for staged, (_, sql_type) in columns.items())
    some = " AND ".join(f"w.{q(staged)} IS NULL" for staged in columns)
    return (f"INSERT INTO main.{q(table.name)} ({names}) "
            f"SELECT k._entity, {lit(load_id)}, TIMESTAMP {lit(loaded.isoformat(sep=' '))}, "
            f"{values} FROM {STAGED} w JOIN ({kept}) k USING (_row) WHERE NOT ({some})")


def write_attributes(target: Target, spec: TableSpec, extra: Sequence[str], load_id: str, *,
                     loaded: datetime) -> str | None:
    """Write the staged attributes of this load (inside its transaction); the report's note.

    The note names the source columns the canonical table does not use and
    what became of them (None when there are none).
    """
    con = target.con
    kinds = _staged_kinds(con)
    con_kept = {}
    if kinds and isinstance(target, DuckTarget):
        table = ATTRIBUTE_SPECS[spec.name].name
        have = columns_of(con, table) or {}
        columns = {f"{k}:{n}": have[n.lower()] for n, k in kinds.items()}
        repeats = count_rows(con, SKIP, at_most=1) > 0  # no duplicate at all: no grouping
        con.execute(attributes_insert(spec, load_id, loaded, columns, first_of_key=repeats))
        con_kept = kinds
    con.execute(f"DROP TABLE IF EXISTS {STAGED}")
    if not extra:
        return None
    if spec.name not in ATTRIBUTE_SPECS:
        return f"ignored column(s) not in table {spec.name!r}: {', '.join(extra)}"
    if kinds and not con_kept:
        return (f"column(s) not in table {spec.name!r} not kept: a Spark warehouse keeps no "
                f"attributes (use DuckDB to keep them): {', '.join(extra)}")
    return _kept_note(spec, extra, con_kept)


def _kept_note(spec: TableSpec, extra: Sequence[str], kept: Mapping[str, str]) -> str:
    """What became of each extra column of a customers, prospects or products file.

    >>> _kept_note(TABLES["customers"], ["income", "notes", "load_id"], {"income": "number"})
    "kept column(s) not in table 'customers' as attributes (table customer_attributes): \
income (number); not kept (no value): notes; not kept (reserved name): load_id"
    """
    table = ATTRIBUTE_SPECS[spec.name]
    reserved = [c for c in extra if c.lower() in {n.lower() for n in table.column_names}]
    empty = [c for c in extra if c not in kept and c not in reserved]
    parts = []
    if kept:
        parts.append(f"kept column(s) not in table {spec.name!r} as attributes (table "
                     f"{table.name}): " + ", ".join(f"{n} ({k})" for n, k in kept.items()))
    if empty:
        parts.append(f"not kept (no value): {', '.join(empty)}")
    if reserved:
        parts.append(f"not kept (reserved name): {', '.join(reserved)}")
    text = "; ".join(parts)
    return text if kept else f"column(s) not in table {spec.name!r} {text}"


# -- reading ---------------------------------------------------------------------------------

def _table(wh: Warehouse, table: str) -> tuple[ibis.Table | None, TableSpec]:
    if table not in ATTRIBUTE_SPECS:
        raise DataValidationError(f"table {table!r} keeps no attributes; expected one of "
                                  f"{', '.join(ATTRIBUTE_SPECS)}")
    spec = ATTRIBUTE_SPECS[table]
    return (None if wh.is_empty(spec.name) else wh.table(spec.name)), spec


def _loads(t: ibis.Table) -> int:
    """How many loads wrote rows of the attribute table *t*."""
    return int(t.load_id.nunique().to_pyarrow().as_py())


def attribute_types(wh: Warehouse, table: str) -> dict[str, str]:
    """``{attribute: type}`` of *table*'s attributes (``customers``, ...), in the order they came.

    Types are ``number``, ``boolean``, ``timestamp`` and ``text``; empty on a
    Spark warehouse (it keeps no attributes).
    """
    _table(wh, table)  # a clear error for a table without attributes
    return attribute_columns(wh.duckdb, table) if wh.backend == "duckdb" else {}


def read_attributes(wh: Warehouse, table: str) -> pd.DataFrame:
    """One row per entity of *table* with an attribute, one column per attribute.

    The id column is the table's key (``customer_id``, ``prospect_id``,
    ``product_id``); then the attributes in the order they came: numbers as
    ``float64``, booleans as pandas ``boolean``, time stamps as
    ``datetime64``, text as ``object``.  Each value is the latest load's that
    gave one.  The pivot runs in the engine, so pandas only sees the wide rows;
    an attribute without any value (left by a failed load) is left out.
    """
    key = TABLES[table].key[0] if table in TABLES else table
    types = attribute_types(wh, table)
    t, spec = _table(wh, table)
    if t is None or not types:
        return pd.DataFrame({key: pd.Series([], dtype=object)})
    if _loads(t) == 1:  # one row per entity already
        wide = t.select(_e=t[key], **{f"_a{i}": t[n] for i, n in enumerate(types)})
    else:
        wide = t.group_by(_e=t[key]).aggregate(**{
            f"_a{i}": t[n].argmax(t.loaded_at, where=t[n].notnull())
            for i, n in enumerate(types)})
    df = wide.order_by("_e").to_pyarrow().to_pandas()
    df.columns = [key, *types]
    df[key] = df[key].astype(str)
    for name, kind in types.items():
        if df[name].isna().all():
            df = df.drop(columns=name)
        elif kind == "boolean":
            df[name] = df[name].astype("boolean")
        elif kind == "text":
            df[name] = df[name].astype(object).where(df[name].notna(), None)
    return df

