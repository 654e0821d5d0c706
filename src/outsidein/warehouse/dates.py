"""Dates in an input file: the common format of a column, and which dates are plausible.

Without ``--date-format`` the loader reads each date or time-stamp column of
text in the one common format that every value of the column fits (it says so
in the load report):

================  =================================================================
``ISO 8601``      ``2024-05-31``, ``2024-05-31 14:30:00``, ``2024-05-31T14:30:00.5``,
                  with or without a UTC offset (``+02:00``, ``-0530``, ``Z``)
``%Y%m%d``        ``20240531``
``%d/%m/%Y``      ``31/05/2024`` (day first)
``%m/%d/%Y``      ``05/31/2024`` (month first)
``%d.%m.%Y``      ``31.05.2024``
``%d-%b-%Y``      ``31-May-2024`` (month names in English, any case: ``31-MAY-2024``)
``%d-%b-%y``      ``31-May-24`` (a spreadsheet's ``dd-mmm-yy``)
``%d %b %Y``      ``31 May 2024``
``%d %B %Y``      ``31 May 2024`` with the month's full name, ``1 September 2024``
``%b %d, %Y``     ``Sep 1, 2024``
``%B %d, %Y``     ``September 1, 2024``
with a time       ``31/05/2024 14:30``, ``05/31/2024 2:30 PM``, ``31.05.2024 14:30:00``:
                  the three numeric formats followed by ``%H:%M``, ``%H:%M:%S``
                  (and for ``/``, ``%I:%M %p``, ``%I:%M:%S %p``)
================  =================================================================

When every value fits two of them (``01/02/2024`` is 1 February or 2 January)
the load stops and asks for ``--date-format``; when none fits every value,
the format most values fit is used and the rest is quarantined.  One SQL pass
classifies every value (:func:`infer_formats`); gates on the value's shape keep
it cheap (about 0.5 CPU-seconds for 10 million ISO time stamps).

Time stamps with a UTC offset become naive UTC (``2024-05-31T10:00:00+02:00``
is ``2024-05-31 08:00:00``), also with an explicit format containing ``%z``.
A date before :data:`EARLIEST` or after the load time plus one day is
implausible and quarantined (:func:`plausibility_rules`).

>>> import duckdb
>>> value = parse_sql("'2024-05-31T10:00:00+02:00'", ISO, "TIMESTAMP")
>>> duckdb.sql(f"SELECT {value}").fetchone()[0]
datetime.datetime(2024, 5, 31, 8, 0)
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from outsidein.errors import DataValidationError
from outsidein.warehouse.sql import lit

__all__ = ["AFTER_LATEST", "BEFORE_EARLIEST", "COMMON_FORMATS", "EARLIEST", "EXAMPLES", "ISO",
           "infer_formats", "parse_sql", "plausibility_rules"]

#: the name of the ISO 8601 family (not a ``strptime`` format)
ISO = "ISO 8601"
#: the formats read without ``--date-format``, in the order messages list them
_TIMES = {"%H:%M": "14:30", "%H:%M:%S": "14:30:00", "%I:%M %p": "2:30 PM",
          "%I:%M:%S %p": "2:30:00 PM"}
#: the numeric formats with a time of day (a point-of-sale export's time stamps)
_DATE_AND_TIME = tuple((d, t) for d in ("%d/%m/%Y", "%m/%d/%Y") for t in _TIMES) + (
    ("%d.%m.%Y", "%H:%M"), ("%d.%m.%Y", "%H:%M:%S"))
_WITH_TIME = tuple(f"{d} {t}" for d, t in _DATE_AND_TIME)
COMMON_FORMATS = (ISO, "%Y%m%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%b-%Y", "%d-%b-%y",
                  "%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y", *_WITH_TIME)
EXAMPLES = {ISO: "2024-05-31 or 2024-05-31T14:30:00+02:00", "%Y%m%d": "20240531",
            "%d/%m/%Y": "31/05/2024", "%m/%d/%Y": "05/31/2024", "%d.%m.%Y": "31.05.2024",
            "%d-%b-%Y": "31-May-2024", "%d-%b-%y": "31-May-24", "%d %b %Y": "1 Sep 2024",
            "%d %B %Y": "1 September 2024", "%b %d, %Y": "Sep 1, 2024",
            "%B %d, %Y": "September 1, 2024"}
EXAMPLES.update({f"{d} {t}": f"{EXAMPLES[d]} {_TIMES[t]}" for d, t in _DATE_AND_TIME})
#: the earliest plausible date
EARLIEST = "1900-01-01"
BEFORE_EARLIEST = f"date before {EARLIEST} (check the date format)"
AFTER_LATEST = ("date after the load time plus one day "
                "(pass --allow-future to keep future dates)")

# A value can fit a format only when it has the format's shape: the shape is checked
# first (cheap), the parse only on values of that shape.  ISO's shape alone decides
# its fit: no other common format has a '-' in 5th and 8th place, so an ISO-shaped
# value that does not parse (2024-13-45) fits nothing else either.
_ISO_SHAPE = "{t} LIKE '____-__-%'"
_GATES = {
    "%Y%m%d": "{t} GLOB '" + "[0-9]" * 8 + "'",
    "%d/%m/%Y": "({t} LIKE '_/%/____' OR {t} LIKE '__/%/____')",
    "%m/%d/%Y": "({t} LIKE '_/%/____' OR {t} LIKE '__/%/____')",
    "%d.%m.%Y": "({t} LIKE '_.%.____' OR {t} LIKE '__.%.____')",
    # month names: the parse decides (abbreviated or full names differ in length); a value
    # meets one gate at most (only the first it meets is tried)
    "%d-%b-%Y": "{t} LIKE '%-___-____'",
    "%d-%b-%y": "{t} LIKE '%-___-__'",
    "%d %b %Y": "({t} LIKE '% % ____' AND {t} NOT LIKE '%,%')",
    "%d %B %Y": "({t} LIKE '% % ____' AND {t} NOT LIKE '%,%')",
    "%b %d, %Y": "{t} LIKE '% %, ____'",
    "%B %d, %Y": "{t} LIKE '% %, ____'",
    **{f: "{t} LIKE '%/%/____ %:%'" if "/" in f else "{t} LIKE '%.%.____ %:%'"
       for f in _WITH_TIME},
}


#: a format with the month's full name -> the same with its short name
_SHORT_NAMES = {"%d %B %Y": "%d %b %Y", "%B %d, %Y": "%b %d, %Y"}


def _bit(fmt: str) -> int:
    return 1 << COMMON_FORMATS.index(fmt)


def _iso(v: str) -> str:
    """ISO text *v* (of ISO shape) as a naive UTC TIMESTAMP; an offset after the date converts."""
    # only values with '+' or '-' after the date go through TIMESTAMPTZ, whose reading of a
    # value without an offset would depend on the session's time zone
    return (f"CASE WHEN {v} LIKE '____-__-___%+%' OR {v} LIKE '____-__-___%-%' "
            f"THEN timezone('UTC', TRY_CAST({v} AS TIMESTAMPTZ)) "
            f"ELSE TRY_CAST({v} AS TIMESTAMP) END")


def parse_sql(x: str, fmt: str, target: str, *, common: bool = True) -> str:
    """SQL reading the text *x* as *target* (``TIMESTAMP`` or ``DATE``) in format *fmt*.

    NULL when the value does not fit.  *fmt* is :data:`ISO` or a ``strptime``
    format; a common format read by inference (*common*) also needs the
    value's shape (``%Y%m%d`` exactly 8 digits, a 4-digit year), so that
    the loader parses exactly the values :func:`infer_formats` counted.

    >>> import duckdb
    >>> [duckdb.sql(f"SELECT {parse_sql(lit(v), '%Y%m%d', 'DATE')}").fetchone()[0]
    ...  for v in ("20240531", "2024053")]
    [datetime.date(2024, 5, 31), None]
    >>> print(parse_sql("x", "%d/%m/%Y %H:%M%z", "TIMESTAMP", common=False))
    CAST(timezone('UTC', TRY_STRPTIME(trim(x), '%d/%m/%Y %H:%M%z')) AS TIMESTAMP)
    """
    if fmt == ISO:
        # trim only what does not already have the shape (trim copies every string)
        t = f"trim({x})"
        value = (f"CASE WHEN {_ISO_SHAPE.format(t=x)} THEN {_iso(x)} "
                 f"WHEN {_ISO_SHAPE.format(t=t)} THEN {_iso(t)} END")
    else:
        t = f"trim({x})"
        value = f"TRY_STRPTIME({t}, {lit(fmt)})"
        if common and fmt in _GATES:
            value = f"CASE WHEN {_GATES[fmt].format(t=t)} THEN {value} END"
        if "%z" in fmt or "%Z" in fmt:  # strptime gives a TIMESTAMPTZ: its UTC wall time
            value = f"timezone('UTC', {value})"
    return f"CAST({value} AS {target})"


def _classes(t: str) -> str:
    """SQL of the bit mask of the common formats that the trimmed text *t* fits (NULL if empty)."""
    whens = [f"WHEN {t} IS NULL OR {t} = '' THEN NULL",
             f"WHEN {_ISO_SHAPE.format(t=t)} THEN {_bit(ISO)}"]
    by_gate: dict[str, list[str]] = {}
    for fmt, gate in _GATES.items():
        by_gate.setdefault(gate, []).append(fmt)
    for gate, fmts in by_gate.items():
        bits = " + ".join(f"CASE WHEN TRY_STRPTIME({t}, {lit(f)}) IS NOT NULL "
                          f"THEN {_bit(f)} ELSE 0 END" for f in fmts)
        whens.append(f"WHEN {gate.format(t=t)} THEN {bits}")
    return "CASE " + " ".join(whens) + " ELSE 0 END"


def infer_formats(
    con: object,
    relation: str,
    columns: Mapping[str, tuple[str, str]],
    *,
    source: str,
) -> tuple[dict[str, str], list[str]]:
    """The common format of each date column of *relation*, in one pass, and notes for the report.

    Parameters
    ----------
    con : DuckDB connection
    relation : str
        The staged rows (a table name or a parenthesised query).
    columns : mapping of str to (str, str)
        Canonical column -> (SQL of its raw text in *relation*, label for messages).
    source : str
        File name, for messages.

    Returns
    -------
    formats, notes
        The format chosen for each column that has non-empty values, and one
        note for each column read in another format than ISO 8601 or whose
        values do not all fit one format.

    Raises
    ------
    DataValidationError
        When every value of a column (or the most values) fit more than one
        format: it names them, a sample value and ``--date-format``.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> rel = "(VALUES ('20240531', '31/05/2024'), ('20240601', NULL)) s(a, b)"
    >>> formats, notes = infer_formats(con, rel, {"ts": ("a", "column 'a'"),
    ...                                           "day": ("b", "column 'b'")}, source="f.csv")
    >>> formats
    {'ts': '%Y%m%d', 'day': '%d/%m/%Y'}
    >>> notes[0]
    "ts read as %Y%m%d (the only common format every value of column 'a' fits)"
    """
    if not columns:
        return {}, []
    names = list(columns)
    inner = ", ".join(
        f"CASE WHEN {_ISO_SHAPE.format(t=x)} THEN {x} ELSE trim({x}) END AS _t{i}"
        for i, (x, _) in enumerate(columns.values()))
    masks = ", ".join(f"{_classes(f'_t{i}')} AS _m{i}" for i in range(len(names)))
    samples = ", ".join(f"any_value(_t{i})" for i in range(len(names)))
    rows = con.execute(  # type: ignore[attr-defined]
        f"SELECT {', '.join(f'_m{i}' for i in range(len(names)))}, count(*), {samples} "
        f"FROM (SELECT {masks}, * FROM (SELECT {inner} FROM {relation})) GROUP BY ALL"
    ).fetchall()
    k = len(names)
    formats: dict[str, str] = {}
    notes: list[str] = []
    for i, name in enumerate(names):
        groups: dict[int, tuple[int, str]] = {}
        for row in rows:
            mask, n, sample = row[i], int(row[k]), row[k + 1 + i]
            if mask is not None:
                count, first = groups.get(int(mask), (0, sample))
                groups[int(mask)] = (count + n, first)
        fmt, note = _choose(name, columns[name][1], groups, source=source)
        if fmt is not None:
            formats[name] = fmt
        if note:
            notes.append(note)
    return formats, notes


def _choose(name: str, label: str, groups: Mapping[int, tuple[int, str]], *,
            source: str) -> tuple[str | None, str | None]:
    """The format of one column from its ``mask -> (values, sample)``, and a note."""
    total = sum(n for n, _ in groups.values())
    if not total:
        return None, None
    fits = {f: sum(n for m, (n, _) in groups.items() if m & _bit(f)) for f in COMMON_FORMATS}
    best = max(fits.values())
    if not best:
        return None, None  # read as ISO: every value is quarantined with the ISO hint
    top = [f for f in COMMON_FORMATS if fits[f] == best]
    # a month's full and short names read a value both fit alike ("1 May 2024"): no ambiguity
    top = [f for f in top if _SHORT_NAMES.get(f) not in top]
    both = sum(_bit(f) for f in top)
    if len(top) > 1 and any(m & both == both for m in groups):  # the same values fit both
        raise _ambiguous(label, top, groups, every=best == total, source=source)
    fmt = top[0]  # as many values fit another format, but other values: a mixed column
    if best == total:
        note = (None if fmt == ISO else
                f"{name} read as {fmt} (the only common format every value of {label} fits)")
        return fmt, note
    other = next(s for m, (_, s) in groups.items() if not m & _bit(fmt))
    return fmt, (f"{name} read as {fmt} (like {EXAMPLES[fmt]}), the common format most values "
                 f"of {label} fit ({best:,} of {total:,}); the other {total - best:,} (e.g. "
                 f"{_show(other)}) are quarantined; pass --date-format if that is wrong")


def _ambiguous(label: str, fmts: list[str], groups: Mapping[int, tuple[int, str]], *,
               every: bool, source: str) -> DataValidationError:
    both = sum(_bit(f) for f in fmts)
    sample = next(s for m, (_, s) in groups.items() if m & both == both)
    readings = " or ".join(_reading(sample, f) for f in fmts)
    which = "every value" if every else "most values"
    return DataValidationError(
        f"{source}: {which} of {label} fit{'s' if every else ''} more than one date format: "
        f"{', '.join(fmts)} (e.g. {_show(sample)} reads as {readings}); say which with "
        + " or ".join(f"--date-format '{f}'" for f in fmts))


def _reading(sample: str, fmt: str) -> str:
    try:
        return datetime.strptime(sample, fmt).date().isoformat()
    except ValueError:  # pragma: no cover - DuckDB parsed it with the same format
        return f"({fmt})"


def _show(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "...")


def plausibility_rules(typed: str, *, load_time: datetime | None,
                       future_ok: bool = False) -> list[tuple[str, str]]:
    """``(condition, reason)`` for an implausible date in the cast value *typed*.

    Before :data:`EARLIEST`; after *load_time* plus one day, unless *load_time*
    is None (``--allow-future``) or the column may hold future dates (*future_ok*).

    >>> [reason for _, reason in plausibility_rules("ts", load_time=datetime(2024, 1, 1))]
    ['date before 1900-01-01 (check the date format)', \
'date after the load time plus one day (pass --allow-future to keep future dates)']
    >>> plausibility_rules("ts", load_time=datetime(2024, 1, 1))[1][0]
    "ts > TIMESTAMP '2024-01-02 00:00:00'"
    """
    out = [(f"{typed} < DATE {lit(EARLIEST)}", BEFORE_EARLIEST)]
    if load_time is not None and not future_ok:
        latest = (load_time + timedelta(days=1)).replace(microsecond=0)
        out.append((f"{typed} > TIMESTAMP {lit(latest.isoformat(sep=' '))}", AFTER_LATEST))
    return out
