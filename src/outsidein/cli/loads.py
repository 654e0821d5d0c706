"""``outsidein loads`` (list the loads) and ``outsidein loads undo LOAD_ID``.

Thin: each command calls one :mod:`outsidein.services.data` service and prints
a Rich table or, with ``--json``, plain values.  File names and options come
from the user: they are escaped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from outsidein.cli._common import JSON_OPTION, add_row, console, print_json, workspace

loads_app = typer.Typer(
    help="The loads of the warehouse: list them, undo one (its rows, quarantine and stubs).")


def register(app: typer.Typer) -> None:
    """Add ``outsidein loads`` to *app*."""
    app.add_typer(loads_app, name="loads")


@loads_app.callback(invoke_without_command=True)
def loads(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, help="loads to list, the latest first")] = 50,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """List the loads: id, when, table, file, options and where each row went."""
    if ctx.invoked_subcommand is not None:
        return
    # loaded when the command runs (start-up)
    from outsidein.services.status import recent_loads
    ws = workspace(ctx)
    try:
        rows = recent_loads(ws, limit=limit)
    finally:
        ws.close()
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("no loads yet: outsidein load TABLE FILE (or outsidein demo)")
        return
    t = Table(title="loads (latest first)")
    t.add_column("id", no_wrap=True)  # copied into 'loads undo': never cut
    for col in ("finished", "table", "file", "options", "read", "loaded", "quarantined",
                "duplicates", "stubs"):
        t.add_column(col, justify="right" if col in ("read", "loaded", "quarantined",
                                                     "duplicates", "stubs") else "left")
    for r in rows:
        add_row(t, r["load_id"], str(r["finished"])[:19], r["table_name"], Path(r["file"]).name,
                r["options_summary"],
                *(f"{int(r[k]):,}" for k in ("rows_read", "loaded", "quarantined", "duplicates",
                                             "stubs_created")))
    console.print(t)
    console.print("undo one with: outsidein loads undo LOAD_ID", highlight=False)


@loads_app.command()
def undo(
    ctx: typer.Context,
    load_id: Annotated[str, typer.Argument(help="the load's id (or its first 4+ characters)")],
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Remove one load: its rows, quarantine entries and stub customers, atomically."""
    from outsidein.services.data import undo_load  # loaded when the command runs (start-up)
    ws = workspace(ctx)
    try:
        report = undo_load(ws, load_id)
    finally:
        ws.close()
    if as_json:
        print_json(report.to_dict())
        return
    console.print(f"[green]{escape(report.summary())}[/]", highlight=False)
