"""No traps: a load that went wrong says so, and names the commonest problem and its fix.

* every row quarantined: the load stops before writing anything (no rows, no
  quarantine, no ``loads`` record), so that the corrected load of the same
  file is not "already loaded" (:func:`check_not_all_quarantined`);
* more than :data:`WARN_SHARE` of the rows quarantined or skipped as
  duplicates: a warning naming the commonest reason, a sample row and the
  fix, or a failure when the caller set ``max_bad_fraction`` (scripts)
  (:func:`bad_share_warnings`).

Both run on the load's DuckDB connection, over its working tables, before
its transaction commits.

>>> fix_for("ts", "expected a timestamp like 2024-05-31 or 2024-05-31 14:30:00", "19970101")
"pass --date-format '%Y%m%d' (the format of values like '19970101')"
>>> fix_for("revenue", "expected a number", "12,50")  # doctest: +ELLIPSIS
"values like '12,50' have a decimal comma: pass --decimal , (with a delimiter other than ..."
>>> fix_for("revenue", "expected a number", "n/a")  # doctest: +ELLIPSIS
"check that --map revenue=COLUMN names the column that holds it, and that --delimiter ..."
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from outsidein.errors import DataValidationError
from outsidein.warehouse.dates import COMMON_FORMATS, ISO
from outsidein.warehouse.expressions import CURRENCY_SIGNS
from outsidein.warehouse.quality import clip
from outsidein.warehouse.schema import LINE_COLUMN, TableSpec
from outsidein.warehouse.sql import lit, q
from outsidein.warehouse.target import FAILURES, SKIP, TYPED

__all__ = ["WARN_SHARE", "Problem", "bad_share_warnings", "check_not_all_quarantined",
           "fix_for"]

#: the share of rows quarantined or duplicated above which a load warns
WARN_SHARE = 0.05
#: date formats tried on a sample value to suggest ``--date-format``: the common formats
#: the loader infers (a mixed column's other values), then ones it does not
DATE_FORMATS = (*(f for f in COMMON_FORMATS if f != ISO), "%Y-%m-%d", "%Y/%m/%d", "%d-%m-%Y",
                "%d/%m/%y", "%m/%d/%y", "%Y-%m-%d %H:%M:%S", "%d-%b-%Y %H:%M",
                "%d-%b-%Y %H:%M:%S")
DUPLICATE = "duplicate key"


@dataclass(frozen=True)
class Problem:
    """The commonest reason rows were not loaded, with a sample and the fix.

    >>> print(Problem("revenue", "expected a number", 3, 17, "abc", '{"revenue": "abc"}',
    ...               "fix it").describe())
    revenue: expected a number (3 rows), e.g. row 17: revenue = 'abc' in {"revenue": "abc"}
    """

    column: str
    reason: str
    rows: int
    row_number: int | None
    value: str | None
    raw: str | None
    fix: str

    def describe(self) -> str:
        """The reason, its count and a sample, in one phrase."""
        what = (f"duplicates of an earlier row or of a row already loaded ({self.rows:,} rows)"
                if self.reason == DUPLICATE else
                f"{self.column}: {self.reason} ({self.rows:,} rows)")
        if self.row_number is None:
            return what
        sample = f", e.g. row {self.row_number}"
        if self.value is not None:
            sample += f": {self.column} = {clip(self.value, 80)!r}"
        if self.raw:
            sample += f"{' in' if self.value is not None else ':'} {clip(self.raw, 200)}"
        return what + sample


def guess_date_format(value: str) -> list[str]:
    """The formats of :data:`DATE_FORMATS` that read *value*.

    >>> guess_date_format("01/02/2024")
    ['%d/%m/%Y', '%m/%d/%Y']
    """
    out = []
    for fmt in DATE_FORMATS:
        try:
            datetime.strptime(value.strip(), fmt)
        except ValueError:
            continue
        out.append(fmt)
    return out


#: a number written with a decimal comma (``11,77``, ``1.234,50 €``): the hint names --decimal
_SIGN = f"[{re.escape(CURRENCY_SIGNS)}]?"
_DECIMAL_COMMA = re.compile(
    rf"[+-]?{_SIGN}\s*[0-9][0-9. ']*,[0-9]{{1,2}}\s*{_SIGN}|"
    rf"[+-]?{_SIGN}\s*[0-9]{{1,3}}(\.[0-9]{{3}})+,[0-9]+\s*{_SIGN}")


def fix_for(column: str, reason: str, value: str | None, *, key: Sequence[str] = (),
            reloaded: bool = False) -> str:
    """What to do about rows that fail *reason* (a sample *value*), in words."""
    if reason == DUPLICATE:
        fix = (f"rows count as duplicates when they share the key {', '.join(key)}: check that "
               "--map names the right column for each")
        if reloaded:
            fix = ("this file was loaded before with other options: to load it again with "
                   "these, pass --replace (it undoes the earlier load first); or " + fix)
        return fix
    if "date" in reason or "timestamp" in reason:
        formats = guess_date_format(value) if value else []
        if len(formats) == 1:
            return f"pass --date-format {formats[0]!r} (the format of values like {value!r})"
        if formats:
            return (f"pass --date-format with the format of values like {value!r}: one of "
                    f"{', '.join(repr(f) for f in formats)}")
        return (f"pass --date-format with the format of the values of {column} "
                "(e.g. '%d/%m/%Y'), or check --map and --delimiter")
    if column == LINE_COLUMN or "unreadable" in reason:
        return "check --delimiter, --encoding and the quoting of the file"
    if reason.startswith("missing required value"):
        return (f"check that --map {column}=COLUMN names the column that holds it, and that "
                "--delimiter splits the lines into the header's columns")
    if "number" in reason:
        if value and _DECIMAL_COMMA.fullmatch(value.strip()):
            return (f"values like {value!r} have a decimal comma: pass --decimal , (with a "
                    "delimiter other than ',', e.g. --delimiter ';')")
        return (f"check that --map {column}=COLUMN names the column that holds it, and that "
                "--delimiter splits the lines into the header's columns (a decimal comma "
                "needs --decimal , and a delimiter other than ',')")
    return f"check the values of {column} and the --map options, then load the file again"


def _problem(con: Any, spec: TableSpec, reasons: Mapping[str, int], duplicates: int,
             mapping: Mapping[str, str], reloaded: bool) -> Problem | None:
    """The commonest reason a row was not loaded (quarantine reason or duplicate)."""
    top = next(iter(sorted(reasons.items(), key=lambda kv: -kv[1])), None)
    if duplicates and (top is None or duplicates > top[1]):
        key = ", ".join(f"{lit(k)}, g.{q(k)}" for k in spec.key)
        row = con.execute(
            f"SELECT g._row, CAST(json_object({key}) AS VARCHAR) FROM {TYPED} g "
            f"JOIN {SKIP} s ON s._row = g._row ORDER BY g._row LIMIT 1").fetchone()
        return Problem("", DUPLICATE, duplicates, row and int(row[0]), None, row and str(row[1]),
                       fix_for("", DUPLICATE, None, key=spec.key, reloaded=reloaded))
    if top is None:
        return None
    column, _, reason = top[0].partition(": ")
    row = con.execute(
        f"SELECT t._row, t._raw FROM {TYPED} t JOIN {FAILURES} f USING (_fail) "
        f"WHERE f._col = {lit(column)} AND f._reason = {lit(reason)} "
        "ORDER BY t._row LIMIT 1").fetchone()
    raw = None if row is None else row[1]
    value = _value(raw, column, mapping)
    return Problem(column, reason, top[1], None if row is None else int(row[0]), value,
                   None if raw is None else str(raw), fix_for(column, reason, value))


def _value(raw: str | None, column: str, mapping: Mapping[str, str]) -> str | None:
    """The offending value in the raw JSON row: the mapped source column, or the line."""
    if not raw:
        return None
    try:
        doc = json.loads(raw)
    except ValueError:
        return None
    key = "line" if column == LINE_COLUMN else mapping.get(column, column)
    value = doc.get(key) if isinstance(doc, dict) else None
    return None if value is None else str(value)


def check_not_all_quarantined(con: Any, spec: TableSpec, *, name: str, rows_read: int,
                              reasons: Mapping[str, int], mapping: Mapping[str, str]) -> None:
    """Raise :class:`DataValidationError` when every row read was quarantined.

    Called before the load writes anything, so that nothing is kept.
    """
    if not rows_read or sum(reasons.values()) < rows_read:
        return
    p = _problem(con, spec, reasons, 0, mapping, reloaded=False)
    assert p is not None  # every row failed, so there is a reason
    raise DataValidationError(
        f"{name}: all {rows_read:,} rows were quarantined, so nothing was loaded; the "
        f"commonest reason: {p.describe()}; fix: {p.fix}")


def bad_share_warnings(con: Any, spec: TableSpec, *, name: str, rows_read: int,
                       reasons: Mapping[str, int], duplicates: int, mapping: Mapping[str, str],
                       reloaded: bool, max_bad_fraction: float | None) -> list[str]:
    """The warning for a load with more than :data:`WARN_SHARE` of its rows not loaded.

    Raises
    ------
    DataValidationError
        That share is above *max_bad_fraction* (the load then writes nothing).
    """
    quarantined = sum(reasons.values())
    bad = quarantined + duplicates
    if not rows_read or not bad:
        return []
    share = bad / rows_read
    limit = WARN_SHARE if max_bad_fraction is None else min(WARN_SHARE, max_bad_fraction)
    if share <= limit:
        return []
    p = _problem(con, spec, reasons, duplicates, mapping, reloaded)
    assert p is not None
    what = (f"{share:.1%} of the {rows_read:,} rows of {name} were not loaded "
            f"({quarantined:,} quarantined, {duplicates:,} duplicates); the commonest reason: "
            f"{p.describe()}; fix: {p.fix}")
    if max_bad_fraction is not None and share > max_bad_fraction:
        raise DataValidationError(
            f"{what}; that is more than --max-bad-fraction {max_bad_fraction:g} allows, so "
            "nothing was loaded")
    return [what]
