"""Validation rules of the loader, written as DuckDB SQL so that they run in one pass.

The loader stages an input file as text (or as the types a Parquet file or a
data frame already carries) and this module turns a :class:`TableSpec` into

* the header check (:func:`resolve_columns`): every required column present,
  ``--map target=source`` renames applied, extra columns noted;
* the date format of each date column of text, when ``--date-format`` is not
  given (:func:`infer_date_formats`, one pass; see :mod:`outsidein.warehouse.dates`);
* one ``SELECT`` (:func:`typed_select_sql`) that casts every column to its
  canonical type and computes, per row, the *first* failing rule: its column
  and its reason.  Rules, in order: an operand of a derived column is not a
  number (:mod:`outsidein.warehouse.expressions`); a required value is
  missing; the value has the wrong type; a date is before 1900 or after the
  load time plus one day; a number is not finite; a money amount is beyond
  ``max_abs``; it is below the column's ``min_value``; a quantity is negative
  on a line that is not a return; a categorical value is not one of the
  allowed ones.

Text is read strictly: a number is decimal (no ``0x1A``, no ``1_000``), a whole
number has no fraction other than ``.0``, a boolean is ``true``/``false``/``1``/``0``
(any case), where DuckDB's own cast would take ``yes``, ``T`` or ``0x1A``.
Typed columns (Parquet, data frames) are cast as they are.

Nothing here loops over rows in Python, which is what makes 10 million order
lines load in seconds.

>>> import duckdb
>>> spec = TableSpec("t", (Column("id", "string", True), Column("n", "int64", min_value=0)),
...                  key=("id",))
>>> plans, extra = resolve_columns(spec, {"id": "VARCHAR", "n": "VARCHAR"}, source="t.csv")
>>> sql, failures = typed_select_sql(
...     plans, "(VALUES (1, 'a', '3'), (2, 'b', '-1'), (3, NULL, 'x')) s(_row, id, n)",
...     raw_columns=["id", "n"])
>>> [failures[f - 1] if f else None
...  for (f,) in duckdb.sql(f"SELECT _fail FROM ({sql}) ORDER BY _row").fetchall()]
[None, ('n', 'below the minimum 0'), ('id', 'missing required value')]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from outsidein.errors import DataValidationError
from outsidein.warehouse.dates import (
    EXAMPLES,
    ISO,
    infer_formats,
    parse_sql,
    plausibility_rules,
)
from outsidein.warehouse.expressions import Derived, operand_rules, parse_mapping, text_to_number
from outsidein.warehouse.schema import Column, TableSpec
from outsidein.warehouse.sql import lit, q

#: DuckDB type of each canonical Ibis type string.
SQL_TYPES = {
    "string": "VARCHAR",
    "int64": "BIGINT",
    "float64": "DOUBLE",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMP",
    "date": "DATE",
}

ISO_HINT = "like 2024-05-31 or 2024-05-31 14:30:00"

#: Reasons, as stored in the quarantine table (the offending value is in ``raw``).
MISSING = "missing required value"
NOT_FINITE = "expected a finite number"
NEGATIVE_NOT_RETURN = "negative quantity on a line that is not a return (set is_return=true)"


def clip(text: str, limit: int = 160) -> str:
    """*text* cut to *limit* characters for a message, saying how long it was.

    >>> clip("x" * 500, 5)
    'xxxxx... (500 characters)'
    """
    return text if len(text) <= limit else text[:limit] + f"... ({len(text):,} characters)"


@dataclass(frozen=True)
class ColumnPlan:
    """Where a canonical column comes from in the source (``None``: filled with nulls).

    A derived column (``--map revenue=sales_value + retail_disc``) has its
    :class:`~outsidein.warehouse.expressions.Derived` in *derived*, and its
    *source* is the computed column that :func:`with_derived` adds.

    >>> ColumnPlan(Column("region", "string"), None, None).source is None
    True
    """

    column: Column
    source: str | None
    source_type: str | None  # DuckDB type of the staged source column
    derived: Derived | None = None

    @property
    def label(self) -> str:
        """How messages name the source: ``column 'x'`` or the expression."""
        if self.derived is not None:
            return f"{self.column.name} = {self.derived.text}"
        return f"column {self.source!r}"


def resolve_columns(
    spec: TableSpec,
    found: Mapping[str, str],
    *,
    mapping: Mapping[str, str] | None = None,
    source: str,
    decimal: str = ".",
) -> tuple[list[ColumnPlan], list[str]]:
    """Match the source's columns to the spec.

    Parameters
    ----------
    spec : TableSpec
        The canonical table.
    found : mapping of str to str
        Source column name -> DuckDB type, in file order.
    mapping : mapping of str to str, optional
        ``target -> source``: a column of the source (a rename), or an
        expression over its columns or a constant (a derived column; see
        :mod:`outsidein.warehouse.expressions`).
    source : str
        File name or frame label, for messages.
    decimal : str
        The decimal separator of numbers written as text (``--decimal``), for expressions.

    Returns
    -------
    plans, extra
        One :class:`ColumnPlan` per canonical column, and the source columns
        that are not used (they are ignored; the load report notes them).

    Raises
    ------
    DataValidationError
        A ``--map`` names an unknown target, a source column that is not
        there or an expression that is not allowed, or required columns are
        missing (one error naming all of them and the columns found).

    Examples
    --------
    >>> spec = TableSpec("t", (Column("id", "string", True), Column("note", "string"),
    ...                        Column("n", "float64")), key=("id",))
    >>> plans, extra = resolve_columns(spec, {"No": "VARCHAR", "x": "VARCHAR", "y": "VARCHAR"},
    ...                                mapping={"id": "No", "n": "x * 2"}, source="t.csv")
    >>> [(p.column.name, p.source) for p in plans], extra
    ([('id', 'No'), ('note', None), ('n', '_oi_derived_n')], ['y'])
    """
    mapping = dict(mapping or {})
    found_list = ", ".join(found) or "(none)"
    renames: dict[str, str] = {}
    derived: dict[str, Derived] = {}
    for target, src in mapping.items():
        if target not in spec.column_names:
            raise DataValidationError(
                f"--map {target}={src}: {target!r} is not a column of table {spec.name!r}; "
                f"expected one of {', '.join(spec.column_names)}"
            )
        how = parse_mapping(target, src, found, source=source, decimal=decimal)
        if isinstance(how, str):
            renames[target] = how
        else:
            derived[target] = how
    plans: list[ColumnPlan] = []
    missing: list[str] = []
    used: set[str] = set()
    # a column is found under its canonical name in any case ("QUANTITY", "Customer_ID")
    lower: dict[str, list[str]] = {}
    for c in found:
        lower.setdefault(c.strip().lower(), []).append(c)
    for col in spec.columns:
        src = renames.get(col.name, col.name)
        if src not in found and col.name not in renames and len(lower.get(col.name, ())) == 1:
            src = lower[col.name][0]
        if col.name in derived:
            d = derived[col.name]
            plans.append(ColumnPlan(col, d.column, d.sql_type, d))
            used.update(d.columns)
        elif src in found:  # a column mapped to another target still serves its own name
            plans.append(ColumnPlan(col, src, found[src]))
            used.add(src)
        else:
            if col.required:
                missing.append(col.name)
            plans.append(ColumnPlan(col, None, None))
    if missing:
        raise DataValidationError(
            f"{source}: table {spec.name!r} needs column(s) {', '.join(missing)}, "
            f"which are missing; columns found: {found_list}; "
            "rename with --map target=source (e.g. --map "
            f"{missing[0]}=<your column>)"
        )
    extra = [c for c in found if c not in used]
    return plans, extra


def with_derived(plans: Sequence[ColumnPlan], staged: str) -> str:
    """*staged* with the derived columns of *plans* added (unchanged when there are none).

    >>> import duckdb
    >>> d = parse_mapping("n", "a + 1", {"a": "VARCHAR"}, source="f")
    >>> sql = with_derived([ColumnPlan(Column("n", "float64"), d.column, d.sql_type, d)],
    ...                    "(SELECT '$1,000' AS a)")
    >>> duckdb.sql(f"SELECT _oi_derived_n FROM {sql}").fetchone()
    (1001.0,)
    """
    cols = [f"{p.derived.sql} AS {q(p.derived.column)}" for p in plans if p.derived is not None]
    return f"(SELECT *, {', '.join(cols)} FROM {staged})" if cols else staged


def infer_date_formats(con: Any, plans: Sequence[ColumnPlan], staged: str, *,
                       source: str) -> tuple[dict[str, str], list[str]]:
    """The common format of each date column of text, and notes for the load report.

    One pass over *staged* (see :func:`outsidein.warehouse.dates.infer_formats`).

    >>> import duckdb
    >>> plans = [ColumnPlan(Column("ts", "timestamp"), "day", "VARCHAR")]
    >>> infer_date_formats(duckdb.connect(), plans, "(SELECT '31.05.2024' AS day)",
    ...                    source="f.csv")[0]
    {'ts': '%d.%m.%Y'}
    """
    columns = {p.column.name: (q(p.source), p.label) for p in plans
               if p.column.dtype in ("timestamp", "date") and p.source is not None
               and _is_text(p)}
    return infer_formats(con, with_derived(plans, staged), columns, source=source)


def _is_text(plan: ColumnPlan) -> bool:
    return (plan.source_type or "VARCHAR").upper() == "VARCHAR"


def _type_reason(col: Column, date_format: str | None, inferred: bool = False) -> str:
    if col.dtype == "int64":
        return "expected a whole number"
    if col.dtype == "float64":
        return "expected a number"
    if col.dtype == "boolean":
        return "expected true or false"
    if col.dtype in ("timestamp", "date"):
        kind = "a date" if col.dtype == "date" else "a timestamp"
        if inferred and date_format != ISO:
            return (f"expected {kind} like {EXAMPLES[date_format or ISO]} ({date_format}, "
                    "the format of the other values); pass --date-format if it is another")
        if date_format and date_format != ISO:
            return f"expected {kind} matching --date-format {date_format!r}"
        return f"expected {kind} {ISO_HINT}; pass --date-format (e.g. '%d/%m/%Y')"
    return "expected text"


def typed_expr(plan: ColumnPlan, date_format: str | None, *, inferred: bool = False,
               decimal: str = ".") -> str:
    """SQL casting the staged source column to the canonical type (NULL when it does not parse).

    *date_format* is a ``strptime`` format, :data:`~outsidein.warehouse.dates.ISO`
    or None (ISO); *inferred* when the loader chose it among the common formats.

    >>> print(typed_expr(ColumnPlan(Column("ts", "date"), "day", "VARCHAR"), "%d/%m/%Y"))
    CAST(TRY_STRPTIME(trim("day"), '%d/%m/%Y') AS DATE)
    """
    col = plan.column
    target = SQL_TYPES[col.dtype]
    if plan.source is None:
        return f"CAST(NULL AS {target})"
    x = q(plan.source)
    stype = (plan.source_type or "VARCHAR").upper()
    if stype != "VARCHAR":
        fractional = stype in ("DOUBLE", "FLOAT") or stype.startswith("DECIMAL")
        if col.dtype == "int64" and fractional:
            return f"CASE WHEN {x} = floor({x}) THEN TRY_CAST({x} AS BIGINT) END"
        if col.dtype == "string":
            return f"CAST({x} AS VARCHAR)"
        if col.dtype in ("timestamp", "date") and stype == "TIMESTAMP WITH TIME ZONE":
            return f"CAST(timezone('UTC', {x}) AS {target})"
        return f"TRY_CAST({x} AS {target})"
    if col.dtype == "string":
        return x
    if col.dtype == "int64":
        # TRY_CAST reads '3.5' as 4, '0x1A' as 26, '1_000' as 1000: decimal digits only
        return (f"CASE WHEN regexp_full_match({x}, '\\s*[+-]?[0-9]+(\\.0*)?\\s*') "
                f"THEN TRY_CAST({x} AS BIGINT) END")
    if col.dtype == "float64":
        return text_to_number(x, decimal)
    if col.dtype == "boolean":
        # TRY_CAST also reads yes, no, T, F, y, n
        b = f"lower(trim({x}))"
        return f"CASE WHEN {b} IN ('true', 'false', '1', '0') THEN TRY_CAST({b} AS BOOLEAN) END"
    if col.dtype in ("timestamp", "date"):
        # DuckDB also reads '05/01/24' as a date (year 5): ISO only has the ISO shape
        return parse_sql(x, date_format or ISO, target, common=inferred)
    return f"TRY_CAST({x} AS {target})"


def rules(plan: ColumnPlan, typed: str, date_format: str | None,
          plans_by_name: Mapping[str, str], *, inferred: bool = False,
          load_time: datetime | None = None) -> list[tuple[str, str]]:
    """``(condition, reason)`` pairs for one column, in the order they are checked.

    *typed* is the SQL of the already-cast value; *plans_by_name* maps canonical
    column names to their cast SQL (the quantity rule reads ``is_return``);
    dates after *load_time* plus one day are implausible (None: no limit).

    >>> plan = ColumnPlan(Column("amount", "float64", True, min_value=0, max_abs=1e12),
    ...                   "amount", "DOUBLE")
    >>> [reason for _, reason in rules(plan, "x", None, {})]  # doctest: +NORMALIZE_WHITESPACE
    ['missing required value', 'expected a number', 'expected a finite number',
     'beyond 1,000,000,000,000 in absolute value, too big for a money amount (check the unit
     and the decimal separator)', 'below the minimum 0']
    """
    col = plan.column
    out: list[tuple[str, str]] = []
    if plan.derived is not None:
        out.extend(operand_rules(plan.derived, required=col.required))
    if col.required:
        out.append((f"{typed} IS NULL AND {_raw_null(plan)}", MISSING))
    if plan.source is None:
        return out
    out.append((f"{typed} IS NULL AND NOT {_raw_null(plan)}",
                _type_reason(col, date_format, inferred)))
    if col.dtype in ("timestamp", "date"):
        out.extend(plausibility_rules(typed, load_time=load_time, future_ok=col.future_ok))
    if col.dtype == "float64":
        out.append((f"NOT isfinite({typed})", NOT_FINITE))
    if col.max_abs is not None:
        out.append((f"abs({typed}) > {col.max_abs!r}",
                    f"beyond {col.max_abs:,.0f} in absolute value, too big for a money amount "
                    "(check the unit and the decimal separator)"))
    if col.min_value is not None:
        out.append((f"{typed} < {col.min_value!r}", f"below the minimum {col.min_value:g}"))
    if col.name == "quantity" and "is_return" in plans_by_name:
        out.append((f"{typed} < 0 AND NOT coalesce({plans_by_name['is_return']}, false)",
                    NEGATIVE_NOT_RETURN))
    if col.allowed:
        allowed = ", ".join(lit(a) for a in col.allowed)
        out.append((f"{typed} NOT IN ({allowed})", f"expected one of {', '.join(col.allowed)}"))
    return out


def _raw_null(plan: ColumnPlan) -> str:
    if plan.source is None:
        return "true"
    x = q(plan.source)
    if _is_text(plan):
        return f"({x} IS NULL OR trim({x}) = '')"
    return f"({x} IS NULL)"


def typed_select_sql(
    plans: Sequence[ColumnPlan],
    staged: str,
    *,
    date_format: str | None = None,
    date_formats: Mapping[str, str] | None = None,
    load_time: datetime | None = None,
    raw_columns: Sequence[str],
    decimal: str = ".",
) -> tuple[str, list[tuple[str, str]]]:
    """One SELECT over *staged*: ``_row``, the typed columns, ``_fail`` and ``_raw``.

    ``_fail`` is NULL for a good row; otherwise the 1-based number of the first
    failing rule, whose ``(column, reason)`` is ``failures[_fail - 1]``, and
    ``_raw`` is the source row as a JSON object.  Each value is cast once
    (inner query) and the rules read the cast values; a small integer per row
    keeps the staged table small (the loader spills 10M rows to disk less).

    Parameters
    ----------
    plans : sequence of ColumnPlan
    staged : str
        The staged rows (``_row`` and the source's columns).
    date_format : str, optional
        ``--date-format`` (all date columns).
    date_formats : mapping of str to str, optional
        Column -> common format chosen by :func:`infer_date_formats` (when no
        *date_format*).
    load_time : datetime, optional
        Dates after it plus one day are quarantined (None: ``--allow-future``).
    raw_columns : sequence of str
        The source's columns, for ``_raw``.
    decimal : str
        The decimal separator of numbers written as text (``--decimal``).

    Returns
    -------
    sql, failures

    Examples
    --------
    >>> plans = [ColumnPlan(Column("n", "int64", True), "n", "VARCHAR")]
    >>> sql, failures = typed_select_sql(plans, "(SELECT 1 AS _row, '2.5' AS n)",
    ...                                  raw_columns=["n"])
    >>> failures
    [('n', 'missing required value'), ('n', 'expected a whole number')]
    """
    formats = dict(date_formats or {})
    typed = {p.column.name: typed_expr(p, formats.get(p.column.name, date_format),
                                       inferred=p.column.name in formats, decimal=decimal)
             for p in plans}
    cast_names = {name: q("_t_" + name) for name in typed}
    checks: list[tuple[str, str, str]] = []
    for p in plans:
        name = p.column.name
        for cond, reason in rules(p, cast_names[name], formats.get(name, date_format),
                                  cast_names, inferred=name in formats, load_time=load_time):
            checks.append((cond, name, reason))
    if checks:
        first_fail = "CASE " + " ".join(
            f"WHEN {c} THEN {i}" for i, (c, _, _) in enumerate(checks, 1)) + " END"
    else:
        first_fail = "CAST(NULL AS INTEGER)"
    raw_json = "json_object(" + ", ".join(f"{lit(c)}, {q(c)}" for c in raw_columns) + ")"
    inner_cols = ", ".join(f"{expr} AS {cast_names[name]}" for name, expr in typed.items())
    outer_cols = ", ".join(f"{cast_names[name]} AS {q(name)}" for name in typed)
    sql = f"""
        SELECT _row, {outer_cols}, CAST(_fail AS SMALLINT) AS _fail,
               CASE WHEN _fail IS NOT NULL THEN CAST({raw_json} AS VARCHAR) END AS _raw
        FROM (
            SELECT *, {first_fail} AS _fail
            FROM (SELECT *, {inner_cols} FROM {with_derived(plans, staged)})
        )
    """
    return sql, [(name, reason) for _, name, reason in checks]
