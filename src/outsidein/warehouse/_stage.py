"""The loader's view of its input in DuckDB: a file (CSV, Parquet, JSON Lines, an Excel
workbook's first sheet: :mod:`outsidein.warehouse.excel`) or a data frame.

A :class:`Source` is an SQL relation over the input with its columns as they
are (CSV and JSON Lines as text, Parquet and frames with their own types) and
``_row``, the 1-based data row number (header excluded) quoted in the
quarantine.  Nothing is copied: the validation pass reads the file directly.

>>> import duckdb
>>> import pyarrow as pa
>>> con = duckdb.connect()
>>> src = frame_source(con, pa.table({"product_id": ["p1", "p2"]}), "erp")
>>> con.sql(f"SELECT _row, product_id FROM {src.sql}").fetchall()
[(1, 'p1'), (2, 'p2')]
>>> src.close()
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import duckdb
import pyarrow as pa

from outsidein.errors import DataValidationError
from outsidein.warehouse import dialect
from outsidein.warehouse.excel import read_workbook
from outsidein.warehouse.options import LoadOptions
from outsidein.warehouse.quality import clip
from outsidein.warehouse.schema import LINE_COLUMN
from outsidein.warehouse.sql import count_rows, lit, q

FORMATS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet",
           ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".xlsx": "xlsx",
           ".xlsm": "xlsx"}
FRAME_VIEW = "_oi_src_frame"
_SHEET_ROW = "_oi_sheet_row"
RAW = "temp._oi_raw"
#: where DuckDB's CSV reader puts the lines it cannot parse (``store_rejects``)
REJECTS = "_oi_rejects"
REJECT_SCANS = "_oi_reject_scans"
REJECT_OFFSETS = "temp._oi_reject_offsets"
JSONL = "temp._oi_jsonl"
FIELDS = "temp._oi_fields"


@dataclass
class Source:
    """An input as an SQL relation: ``sql`` has ``_row`` plus the source's ``columns``.

    ``rejects``, for a CSV or JSON Lines file with lines the reader cannot
    parse (wrong number of fields, an unclosed quote, bad encoding, not a
    JSON object), is a relation of those lines: ``_row`` (their data row
    number), ``_col`` (:data:`LINE_COLUMN` when no single column is at fault),
    ``_reason`` and ``_raw`` (``{"line": text}``); the loader quarantines them
    like rows that fail a rule.  ``notes`` say what the reader assumed
    (e.g. "read as whitespace-separated columns").
    """

    sql: str
    columns: dict[str, str]
    fmt: str
    close: Callable[[], None] = field(default=lambda: None)
    rejects: str | None = None
    notes: tuple[str, ...] = ()


def is_interrupt(exc: BaseException) -> bool:
    """Whether *exc* is DuckDB reporting a Ctrl-C inside a query.

    DuckDB raises ``InterruptException`` from some calls and a plain
    ``RuntimeError('Query interrupted')`` from others (seen with 1.5 on INSERT).
    """
    return isinstance(exc, duckdb.InterruptException) or (
        isinstance(exc, RuntimeError) and "interrupted" in str(exc).lower())


def file_format(path: Path) -> str:
    """``csv``, ``parquet`` or ``jsonl`` from the file name (``.gz`` allowed for text).

    >>> file_format(Path("orders.csv.gz")), file_format(Path("events.ndjson"))
    ('csv', 'jsonl')
    """
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".gz", ".zst"):
        suffixes = suffixes[:-1]
    fmt = FORMATS.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        raise DataValidationError(
            f"{path.name}: cannot tell the file format from its extension "
            f"{''.join(path.suffixes) or '(none)'!r}; expected .csv, .parquet, .jsonl or "
            ".xlsx (rename the file; save an old .xls workbook as .xlsx)"
        )
    return fmt


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    """Hex SHA-256 of the file's bytes (the loader's idempotency key)."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def file_source(con: Any, path: Path, options: LoadOptions | None = None) -> Source:
    """The relation over *path*; a file DuckDB cannot read is a :class:`DataValidationError`.

    *options* gives the delimiter, header, column names and encoding of a
    text file; what they leave open is detected (see
    :mod:`outsidein.warehouse.dialect`).  A delimited file is read by
    DuckDB's CSV reader with the columns of its header line, so that row
    numbers count from the line after it and DuckDB names any ragged line; a
    whitespace-separated one by :func:`_whitespace_source`.
    """
    options = options or LoadOptions()
    if not path.is_file():
        raise DataValidationError(f"file {str(path)!r} does not exist; check the path")
    fmt = file_format(path)
    if fmt == "parquet":
        return _table_source(con, f"read_parquet({lit(str(path))})", path.name, fmt)
    if fmt == "xlsx":
        return _workbook_source(con, path)
    text = dialect.open_text(path, options)
    try:
        if fmt == "jsonl":
            src = _jsonl_source(con, text)
        elif text.head is None:
            src = _table_source(con, _autodetect_csv(text, options), text.name, fmt,
                                skip=int(options.header))
        else:
            d = dialect.detect(text, options)
            src = (_whitespace_source(con, text, d) if d.delimiter == dialect.WHITESPACE else
                   _table_source(con, _csv_reader(text, d), text.name, fmt, skip=int(d.header)))
            src.notes = d.notes
    except BaseException:
        text.close()
        raise
    close = src.close

    def close_both() -> None:
        close()
        text.close()

    src.close = close_both
    return src


def _table_source(con: Any, reader: str, name: str, fmt: str, *, skip: int = 1) -> Source:
    """*reader* (a DuckDB table function) copied to a temp table, rows numbered.

    *skip* is the number of lines before data row 1 (the header), for the
    line numbers of a CSV reader's rejected lines.
    """
    try:
        # a plain copy is cheaper than numbering rows in the scan: outside a transaction
        # the temp table's rowid is the 0-based row number in file order
        con.execute(f"CREATE OR REPLACE TEMP TABLE _oi_raw AS SELECT * FROM {reader}")
        columns = columns_of(con, RAW)
    except (duckdb.Error, RuntimeError) as exc:
        _drop_rejects(con)
        _raise_read_error(exc, name, fmt)

    def close() -> None:
        con.execute(f"DROP TABLE IF EXISTS {RAW}")
        _drop_rejects(con)

    numbered = f"(SELECT rowid + 1 AS _row, * FROM {RAW})"
    if fmt != "csv" or not count_rows(con, REJECTS, at_most=1):
        _drop_rejects(con)
        return Source(numbered, columns, fmt, close=close)
    if not count_rows(con, RAW, at_most=1):
        first = con.execute(f"SELECT error_message FROM {REJECTS} ORDER BY line LIMIT 1"
                            ).fetchone()[0]
        close()
        raise DataValidationError(
            f"{name}: no line could be read as CSV (first problem: {first}); check the "
            "delimiter and quoting, so that every row has as many fields as the header")
    return Source(_renumbered(con, RAW, skip), columns, fmt, close=close,
                  rejects=_rejects_sql(skip))


def _csv_reader(text: dialect.TextFile, d: dialect.Dialect) -> str:
    """A ``read_csv`` call with the dialect's delimiter and columns (no detection)."""
    cols = "{" + ", ".join(f"{lit(n)}: 'VARCHAR'" for n in d.names) + "}"
    return (f"read_csv({lit(str(text.path))}, delim={lit(d.delimiter)}, "
            f"header={str(d.header).lower()}, auto_detect=false, quote='\"', escape='\"', "
            f"columns={cols}{_encoding(text)}{_csv_rejects_options()})")


def _autodetect_csv(text: dialect.TextFile, options: LoadOptions) -> str:
    """DuckDB's own detection, for a file whose first lines Python cannot read (``.zst``)."""
    given = ""
    if options.delimiter is not None:
        delim = dialect.delimiter_of(options.delimiter)
        if delim == dialect.WHITESPACE:
            raise DataValidationError(f"{text.name}: a .zst file cannot be read as "
                                      "whitespace-separated; decompress it first")
        given += f", delim={lit(delim)}"
    if options.columns is not None:
        given += ", names=[" + ", ".join(lit(c) for c in options.columns) + "]"
    return (f"read_csv({lit(str(text.path))}, all_varchar=true, "
            f"header={str(options.header).lower()}, auto_detect=true, sample_size=20480"
            f"{given}{_encoding(text)}{_csv_rejects_options()})")


def _encoding(text: dialect.TextFile) -> str:
    return "" if text.encoding == "utf-8" else f", encoding={lit(text.encoding)}"


def _lines_reader(text: dialect.TextFile, rejects: str = "") -> str:
    """Every line of *text* as one text column ``line`` (a blank line is NULL).

    Splits on a byte (0x1F) that text files do not hold, with quoting off; a
    line may be up to 8 MB (a longer one is a clear error naming the limit).
    """
    return (f"read_csv({lit(str(text.path))}, header=false, columns={{'line': 'VARCHAR'}}, "
            "delim=chr(31), quote='', escape='', auto_detect=false, strict_mode=false, "
            f"max_line_size=8388608{_encoding(text)}{rejects})")


def _whitespace_source(con: Any, text: dialect.TextFile, d: dialect.Dialect) -> Source:
    """A whitespace-separated file: lines split on runs of spaces and tabs, in SQL.

    Leading and trailing blanks are ignored and blank lines skipped; ``_row``
    is the line number after the header (blank lines counted, like the
    rejected lines of a CSV).  A line with another number of fields than the
    header, or that is not valid in the file's encoding, is a reject.
    Fields cannot be quoted.  The fields are stored as columns, each line's
    text only when it is rejected: a list column, or a regular expression,
    would make the split several times slower.
    """
    n, skip = len(d.names), int(d.header)
    fields = "list_filter(string_split(replace(line, chr(9), ' '), ' '), x -> x <> '')"
    cols = ", ".join(f"f[{i}] AS {q(name)}" for i, name in enumerate(d.names, 1))
    try:
        # one row per line read, in file order (rowid + 1 is the line number, unless
        # lines that are not valid in the encoding were rejected)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {FIELDS} AS SELECT {cols}, "
            f"coalesce(len(f), 0) AS _n, CASE WHEN len(f) <> {n} THEN line END AS _line "
            f"FROM (SELECT line, {fields} AS f FROM "
            f"{_lines_reader(text, _csv_rejects_options())})")
        bad_bytes = count_rows(con, REJECTS, at_most=1)
        numbered = _renumbered(con, FIELDS, 0) if bad_bytes else \
            f"(SELECT rowid + 1 AS _row, * FROM {FIELDS})"
        data = f"(SELECT _row - {skip} AS _row, * EXCLUDE (_row) FROM {numbered} " \
               f"WHERE _row > {skip} AND _n > 0)"
        good = count_rows(con, f"{data} WHERE _n = {n}", at_most=1)
        wrong = count_rows(con, f"{data} WHERE _n <> {n}", at_most=1)
    except (duckdb.Error, RuntimeError) as exc:
        con.execute(f"DROP TABLE IF EXISTS {FIELDS}")
        _drop_rejects(con)
        _raise_read_error(exc, text.name, "csv")

    def close() -> None:
        con.execute(f"DROP TABLE IF EXISTS {FIELDS}")
        _drop_rejects(con)

    if (wrong or bad_bytes) and not good:
        close()
        raise DataValidationError(
            f"{text.name}: no line could be read as {n} whitespace-separated fields like "
            f"the {'header' if skip else 'first line'}; check --delimiter and --encoding")
    parts = [] if not wrong else [
        f"SELECT _row, {lit(LINE_COLUMN)} AS _col, 'unreadable line: ' || _n || "
        f"' fields where the {'header' if skip else 'first line'} has {n} "
        f"(whitespace-separated)' AS _reason, CAST(to_json({{'line': _line}}) AS VARCHAR) "
        f"AS _raw FROM {data} WHERE _n <> {n}"]
    if bad_bytes:
        parts.append(f"SELECT _row, {lit(LINE_COLUMN)}, _reason, _raw "
                     f"FROM {_rejects_sql(skip, 'line')}")
    names = ", ".join(q(name) for name in d.names)
    return Source(f"(SELECT _row, {names} FROM {data} WHERE _n = {n})",
                  dict.fromkeys(d.names, "VARCHAR"), "csv", close=close,
                  rejects=f"({' UNION ALL '.join(parts)})" if parts else None)


def _jsonl_source(con: Any, text: dialect.TextFile) -> Source:
    """JSON Lines, one object per line, every value as text (like a CSV).

    The file is read as lines, so that a line that is not valid JSON, or not
    an object, is quarantined with its line number instead of stopping the
    load; blank lines are skipped.  ``_row`` is the line number; a line may be
    up to 8 MB (a longer one is a clear error naming the limit).
    """
    lines = _lines_reader(text)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _oi_jsonl_lines AS SELECT line FROM {lines}")
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {JSONL} AS SELECT rowid + 1 AS _row, line, "
            "CASE WHEN line IS NULL OR trim(line) = '' THEN 'blank' "
            "WHEN NOT json_valid(line) THEN 'bad' "
            "WHEN json_type(line) <> 'OBJECT' THEN lower(json_type(line)) ELSE 'ok' END AS _kind "
            "FROM temp._oi_jsonl_lines")
        con.execute("DROP TABLE temp._oi_jsonl_lines")
        keys = [r[0] for r in con.execute(
            f"SELECT k FROM (SELECT _row, unnest(json_keys(line)) AS k FROM {JSONL} "
            "WHERE _kind = 'ok') GROUP BY k ORDER BY min(_row), k").fetchall()]
        cols = ", ".join(f"line ->> {lit(k)} AS {q(k)}" for k in keys) or "NULL AS _empty"
        con.execute(f"CREATE OR REPLACE TEMP TABLE _oi_raw AS SELECT _row, {cols} "
                    f"FROM {JSONL} WHERE _kind = 'ok' ORDER BY _row")
        columns = {k: v for k, v in columns_of(con, RAW).items() if k != "_row"}
        bad = count_rows(con, f"{JSONL} WHERE _kind NOT IN ('ok', 'blank')")
        good = count_rows(con, RAW, at_most=1)
    except (duckdb.Error, RuntimeError) as exc:
        for t in ("_oi_jsonl_lines", "_oi_jsonl", "_oi_raw"):
            con.execute(f"DROP TABLE IF EXISTS temp.{t}")
        _raise_read_error(exc, text.name, "jsonl")

    def close() -> None:
        con.execute(f"DROP TABLE IF EXISTS {RAW}")
        con.execute(f"DROP TABLE IF EXISTS {JSONL}")

    if bad and not good:
        close()
        raise DataValidationError(
            f"{text.name}: no line could be read as JSON Lines ({bad:,} line(s) are not one "
            "JSON object each); write one object per line, e.g. {\"customer_id\": \"c1\", ...}")
    rejects = None if not bad else (
        f"(SELECT _row, {lit(LINE_COLUMN)} AS _col, CASE _kind WHEN 'bad' THEN 'not valid JSON' "
        f"ELSE 'not a JSON object but a JSON ' || _kind END AS _reason, "
        f"CAST(to_json({{'line': line}}) AS VARCHAR) AS _raw FROM {JSONL} "
        f"WHERE _kind NOT IN ('ok', 'blank'))")
    return Source(f"(SELECT * FROM {RAW})", columns, "jsonl", close=close, rejects=rejects)


def _raise_read_error(exc: BaseException, name: str, fmt: str) -> NoReturn:
    """Raise what *exc*, met while reading, means: Ctrl-C stays one, DuckDB's words become ours.

    Called in an ``except`` block after the working tables are dropped; an
    error that is neither an interrupt nor DuckDB's is re-raised as it is.
    """
    if is_interrupt(exc):
        raise KeyboardInterrupt from None
    if not isinstance(exc, duckdb.Error):
        raise exc
    raise unreadable(name, fmt, exc) from exc


def _drop_rejects(con: Any) -> None:
    for t in (REJECTS, REJECT_SCANS, REJECT_OFFSETS):
        con.execute(f"DROP TABLE IF EXISTS {t}")


def _csv_rejects_options() -> str:
    return (f", store_rejects=true, rejects_table={lit(REJECTS)}, "
            f"rejects_scan={lit(REJECT_SCANS)}, rejects_limit=0")


def _renumbered(con: Any, table: str, skip: int) -> str:
    """Data row numbers of the rows of *table* when some lines were rejected in between.

    *skip* lines (the header) come before data row 1.  The k-th parsed row is
    data row k + (rejected lines before it): with the rejected rows
    r_1 < r_2 < ..., that is k + #{j : r_j - j < k}; an ASOF join finds the
    largest such j.
    """
    con.execute(f"CREATE OR REPLACE TEMP TABLE _oi_reject_offsets AS "
                f"SELECT off, max(j) AS j FROM (SELECT line - {skip} - row_number() OVER "
                f"(ORDER BY line) AS off, row_number() OVER (ORDER BY line) AS j "
                f"FROM (SELECT DISTINCT line FROM {REJECTS})) GROUP BY off")
    return (f"(SELECT r.k + coalesce(o.j, 0) AS _row, r.* EXCLUDE (k) FROM "
            f"(SELECT rowid + 1 AS k, * FROM {table}) r "
            f"ASOF LEFT JOIN {REJECT_OFFSETS} o ON r.k > o.off)")


def _rejects_sql(skip: int, what: str = "CSV line") -> str:
    """The rejected lines as quarantine rows: ``_row, _col, _reason, _raw``.

    *skip* lines (the header) come before data row 1; *what* names a line.
    """
    line = lit(LINE_COLUMN)
    return (f"(SELECT line - {skip} AS _row, "
            f"CASE WHEN error_type IN ('MISSING COLUMNS', 'TOO MANY COLUMNS') THEN {line} "
            f"ELSE coalesce(column_name, {line}) END AS _col, "
            f"'unreadable {what}: ' || lower(CAST(error_type AS VARCHAR)) || ' (' || "
            f"error_message || CASE WHEN error_type = 'UNQUOTED VALUE' THEN '; the rest of the "
            f"file, up to the next quote, was read as this one line' "
            f"WHEN error_type = 'INVALID ENCODING' THEN '; if the file is not UTF-8, pass "
            f"--encoding with its encoding, e.g. latin-1 or cp1252' ELSE '' END || ')' "
            f"AS _reason, "
            f"CAST(to_json({{'line': csv_line}}) AS VARCHAR) AS _raw FROM {REJECTS} "
            # a line with several extra fields is reported once per field: keep the last
            f"QUALIFY row_number() OVER (PARTITION BY line ORDER BY column_idx DESC) = 1)")


def unreadable(name: str, fmt: str, exc: Exception) -> DataValidationError:
    """The engine's own words about a file it cannot parse, and what to check."""
    label = {"csv": "CSV", "jsonl": "JSON Lines"}.get(fmt, fmt.upper())
    lines = [ln.strip().removeprefix("Invalid Input Error: ")
             for ln in str(exc).strip().splitlines() if ln.strip()]
    where = [clip(ln) for ln in lines if ln.startswith((
        "CSV Error on Line", "Original Line", "Expected Number of Columns", "Maximum line size"))]
    if "is not latin-1 encoded" in str(exc):
        return DataValidationError(
            f"{name} is not latin-1 (ISO-8859-1): it has bytes 0x80-0x9F, which Windows' "
            "cp1252 uses for € and curly quotes; pass --encoding cp1252")
    if "Invalid unicode" in str(exc):
        return DataValidationError(
            f"{name}: {'; '.join(where[:2]) or 'a line'} is not valid UTF-8; pass --encoding "
            "with the file's encoding, e.g. latin-1 or cp1252")
    if any(ln.startswith("Maximum line size") for ln in where):
        return DataValidationError(
            f"{name}: a line is too long to read as {label} ({'; '.join(where)}); "
            "split the record or check that the file has line breaks")
    if where:
        return DataValidationError(
            f"{name}: cannot be read as {label} ({'; '.join(where)}); fix or quote that line "
            "so that every row has as many fields as the header")
    first = clip(lines[0]) if lines else type(exc).__name__
    return DataValidationError(
        f"{name}: cannot be read as {label} ({first}); "
        "check the file's format, delimiter and encoding (UTF-8)"
    )


def frame_source(con: Any, data: Any, label: str) -> Source:
    """The relation over a pyarrow Table or pandas DataFrame (registered as a view)."""
    if not isinstance(data, pa.Table):
        # by name, not isinstance: importing pandas would add ~1 s to a load of Arrow data
        if type(data).__name__ != "DataFrame" or not type(data).__module__.startswith("pandas"):
            raise DataValidationError(
                f"{label}: expected a pyarrow.Table or pandas.DataFrame, got {type(data).__name__}"
            )
        data = pa.Table.from_pandas(data, preserve_index=False)
    _copy_arrow(con, data)
    return Source(f"(SELECT rowid + 1 AS _row, * FROM {RAW})", columns_of(con, RAW), "frame",
                  close=_raw_dropper(con))


def _workbook_source(con: Any, path: Path) -> Source:
    """An Excel workbook's first sheet, its rows numbered as the sheet numbers them."""
    table, rows = read_workbook(path)
    _copy_arrow(con, table.append_column(_SHEET_ROW, pa.array(rows, pa.int64())))
    columns = {k: v for k, v in columns_of(con, RAW).items() if k != _SHEET_ROW}
    return Source(f"(SELECT {_SHEET_ROW} AS _row, * EXCLUDE ({_SHEET_ROW}) FROM {RAW})",
                  columns, "xlsx", close=_raw_dropper(con))


def _raw_dropper(con: Any) -> Callable[[], None]:
    def close() -> None:
        con.execute(f"DROP TABLE IF EXISTS {RAW}")
    return close


def _copy_arrow(con: Any, table: pa.Table) -> None:
    """*table* copied into the raw temp table (in its row order)."""
    con.register(FRAME_VIEW, table)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _oi_raw AS SELECT * FROM {FRAME_VIEW}")
    finally:
        con.unregister(FRAME_VIEW)


def columns_of(con: Any, relation: str) -> dict[str, str]:
    rows = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
    return {r[0]: str(r[1]) for r in rows}
