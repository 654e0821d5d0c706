"""What a DuckDB warehouse file holds, read with plain SQL: row counts, quarantine, last loads.

``outsidein status`` runs many times a day and must start in a fraction of a
second, so on a DuckDB warehouse it reads the file with the ``duckdb`` module
alone (no Ibis, no store): :func:`open_reader` opens the file read-only
(it never takes the write lock; other readers may run alongside) and
:func:`inventory` asks it a handful of ``count(*)`` queries.

>>> import duckdb
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE customers AS SELECT 'c1' AS customer_id")
>>> inv = inventory(con, ("customers", "products"), book=("loads",), last_loads=5)
>>> inv.tables, inv.other_tables, inv.loads
({'customers': 1, 'products': 0}, {}, [])
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from outsidein.warehouse.lock import open_waiting
from outsidein.warehouse.sql import q

__all__ = ["Inventory", "inventory", "open_reader"]


@dataclass(frozen=True)
class Inventory:
    """Rows per table (canonical ones first), quarantined rows per table, the last loads."""

    tables: dict[str, int]
    quarantine: dict[str, int]
    loads: list[dict[str, Any]]
    other_tables: dict[str, int]


def open_reader(path: Path) -> Any | None:
    """A read-only connection to the DuckDB file *path*; None if there is no such file.

    In a process that already has the file open for writing, DuckDB refuses a
    second configuration: the connection then opens as that one does.  A file another
    process is writing is waited for briefly, then :class:`~outsidein.errors.BusyError`
    (:mod:`outsidein.warehouse.lock`).
    """
    if not path.exists():
        return None
    try:
        return open_waiting(path, lambda: duckdb.connect(str(path), read_only=True),
                            read_only=True)
    except duckdb.ConnectionException:  # open in this process for writing: share that
        return duckdb.connect(str(path))


def inventory(con: Any, canonical: Iterable[str], *, book: Iterable[str] = (),
              quarantine: str = "quarantine", loads: str = "loads",
              last_loads: int = 10) -> Inventory:
    """Row counts of *canonical* tables (0 if absent) and of the others but *book* and ``_*``.

    With a *quarantine* table, its rows per ``table_name``; with a *loads*
    table, its *last_loads* latest rows (by ``finished``) as dicts.
    """
    present = sorted(r[0] for r in con.execute("SHOW TABLES").fetchall())
    counted = _count_all(con, present)
    tables = {n: counted.get(n, 0) for n in canonical}
    skip = set(tables) | set(book) | {quarantine, loads}
    other = {n: counted[n] for n in present if n not in skip and not n.startswith("_")}
    held: dict[str, int] = {}
    if quarantine in present:
        held = {str(t): int(n) for t, n in con.execute(
            f"SELECT table_name, count(*) FROM {q(quarantine)} GROUP BY table_name").fetchall()}
    recent: list[dict[str, Any]] = []
    if loads in present:
        # no bound parameters: binding one makes duckdb import pandas (a third of a second)
        cur = con.execute(f"SELECT * FROM {q(loads)} ORDER BY finished DESC "
                          f"LIMIT {int(last_loads)}")
        names = [d[0] for d in cur.description]
        recent = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    return Inventory(tables, held, recent, other)


def decoded_load(row: dict[str, Any]) -> dict[str, Any]:
    """A ``loads`` row with its ``options`` as a dict (``None`` for a load that kept none).

    >>> decoded_load({"load_id": "l1", "options": '{"date_format": "%Y%m%d"}'})["options"]
    {'date_format': '%Y%m%d'}
    """
    out = dict(row)
    text = out.get("options")
    out["options"] = json.loads(text) if isinstance(text, str) and text else None
    out.setdefault("options_fingerprint", None)
    return out


def _count_all(con: Any, names: list[str]) -> dict[str, int]:
    """Rows of each table in *names*, in one query (one round trip instead of one per table)."""
    if not names:
        return {}
    sql = " UNION ALL ".join(f"SELECT {i} AS i, count(*) AS n FROM {q(name)}"
                             for i, name in enumerate(names))
    return {names[i]: int(n) for i, n in con.execute(sql).fetchall()}
