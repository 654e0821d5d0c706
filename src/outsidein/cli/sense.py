"""``outsidein sense replay``: the interaction history through the sense-and-respond engine.

Thin: it calls :mod:`outsidein.services.sense` and prints a Rich table, or plain values with
``--json``.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from outsidein.cli._common import JSON_OPTION, console, print_json, progress, workspace

sense_app = typer.Typer(help="Sense and respond: buying stages from interactions, decisions.",
                        no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add ``outsidein sense`` to *app*."""
    app.add_typer(sense_app, name="sense")


@sense_app.command("replay")
def replay_cmd(
    ctx: typer.Context,
    limit: Annotated[int | None, typer.Option(
        min=1, help="replay at most this many interactions (the oldest)")] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Run the warehouse's interactions, oldest first, through the engine the events API uses.

    It fills each customer's journey (stage, clues, decisions).  Each interaction is applied
    once: a second replay applies only rows loaded since.  Where the warehouse holds the
    stages the interactions came from (the demo's truth_stages), it reports how often the
    sensed stage agrees.
    """
    # loaded when the command runs (start-up)
    from outsidein.services.sense.replay import replay_interactions

    ws = workspace(ctx)
    try:
        with progress(enabled=not as_json) as bar:
            report = replay_interactions(ws, limit=limit, progress=bar)
    finally:
        ws.close()
    if as_json:
        print_json(report.to_dict())
        return
    rate = report.events_read / report.seconds if report.seconds else 0.0
    console.print(f"{report.events_read:,} interactions read, {report.applied:,} applied, "
                  f"{report.duplicates:,} applied before; {report.customers:,} customers "
                  f"({report.seconds:.1f} s, {rate:,.0f} a second)", highlight=False)
    table = Table(title="customers' stage at each interaction")
    table.add_column("stage")
    table.add_column("interactions", justify="right")
    for stage, n in report.stages.items():
        table.add_row(stage.replace("_", " "), f"{n:,}")
    console.print(table)
    if report.stage_accuracy is not None:
        console.print(f"sensed stage agrees with the known stage for "
                      f"{report.stage_accuracy:.1%} of {report.compared:,} interactions",
                      highlight=False)
    for note in report.notes:
        console.print(f"note: {note}", highlight=False)
