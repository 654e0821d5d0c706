"""Staging of a load's input in DuckDB: a file (CSV, Parquet, JSON Lines) or a data frame.

The staged table ``temp._oi_raw`` keeps the source's columns as they are
(CSV as text, Parquet and frames with their own types) in file order, so that
``rowid + 1`` is the 1-based data row number (header excluded) quoted in the
quarantine.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import duckdb

from outsidein.errors import DataValidationError
from outsidein.warehouse.quality import lit, q

RAW = "temp._oi_raw"
FORMATS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet",
           ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}


def file_format(path: Path) -> str:
    """``csv``, ``parquet`` or ``jsonl`` from the file name (``.gz`` allowed for text)."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".gz", ".zst"):
        suffixes = suffixes[:-1]
    fmt = FORMATS.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        raise DataValidationError(
            f"{path.name}: cannot tell the file format from its extension "
            f"{''.join(path.suffixes) or '(none)'!r}; expected .csv, .parquet or .jsonl "
            "(rename the file)"
        )
    return fmt


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    """Hex SHA-256 of the file's bytes (the loader's idempotency key)."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def stage_file(con: Any, path: Path) -> dict[str, str]:
    """Stage *path* into :data:`RAW`; return its columns (name -> DuckDB type) in file order."""
    if not path.is_file():
        raise DataValidationError(f"file {str(path)!r} does not exist; check the path")
    fmt = file_format(path)
    p = lit(str(path))
    if fmt == "csv":
        reader = (f"read_csv({p}, all_varchar=true, header=true, auto_detect=true, "
                  "sample_size=20480, strict_mode=false, null_padding=false)")
    elif fmt == "parquet":
        reader = f"read_parquet({p})"
    con.execute(f"DROP TABLE IF EXISTS {RAW}")
    try:
        if fmt == "jsonl":
            # every value as text, like a CSV: typed inference would quote mixed columns
            objects = f"read_ndjson_objects({p})"
            keys = [r[0] for r in con.execute(
                f"SELECT k FROM (SELECT row_number() OVER () AS n, unnest(json_keys(json)) AS k "
                f"FROM {objects}) GROUP BY k ORDER BY min(n), k").fetchall()]
            if not keys:
                keys_sql = "CAST(NULL AS VARCHAR) AS _empty"
            else:
                keys_sql = ", ".join(f"json ->> {lit(k)} AS {q(k)}" for k in keys)
            reader = f"(SELECT {keys_sql} FROM {objects})"
        con.execute(f"CREATE TEMP TABLE _oi_raw AS SELECT * FROM {reader}")
    except duckdb.InterruptException:
        raise KeyboardInterrupt from None
    except duckdb.Error as exc:  # keep the engine's own words, say what to check
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataValidationError(
            f"{path.name}: cannot be read as {fmt.upper()} ({msg}); "
            "check the file's format and encoding (UTF-8)"
        ) from exc
    return columns_of(con, RAW)


def stage_frame(con: Any, data: Any, label: str) -> dict[str, str]:
    """Stage a pyarrow Table or pandas DataFrame into :data:`RAW`."""
    import pyarrow as pa

    if not isinstance(data, pa.Table):
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover
            pd = None
        if pd is not None and isinstance(data, pd.DataFrame):
            data = pa.Table.from_pandas(data, preserve_index=False)
        else:
            raise DataValidationError(
                f"{label}: expected a pyarrow.Table or pandas.DataFrame, got {type(data).__name__}"
            )
    con.execute(f"DROP TABLE IF EXISTS {RAW}")
    con.register("_oi_src_frame", data)
    try:
        con.execute("CREATE TEMP TABLE _oi_raw AS SELECT * FROM _oi_src_frame")
    finally:
        con.unregister("_oi_src_frame")
    return columns_of(con, RAW)


def columns_of(con: Any, table: str) -> dict[str, str]:
    rows = con.execute(f"DESCRIBE {table}").fetchall()
    return {r[0]: str(r[1]) for r in rows}


def staged_with_row_numbers() -> str:
    """SQL of the staged rows with ``_row`` (1-based data row number)."""
    return f"(SELECT rowid + 1 AS _row, * FROM {RAW})"


__all__ = ["RAW", "file_format", "q", "sha256_file", "stage_file", "stage_frame",
           "staged_with_row_numbers"]
