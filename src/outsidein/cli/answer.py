"""``outsidein answer``: the five crucial questions, with evidence (thin adapter).

``--json`` prints the layout documented in :mod:`outsidein.services.questions.model`
(without the Plotly ``plot`` entries, which ``results/five_questions.json`` keeps).
A reversed or empty ``--from``/``--to`` period exits 2 and leaves the saved answers
as they were.  Each answer's caveats (what it cannot know, e.g. that "profit" is
revenue because no product costs were loaded) are printed under its headline.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from outsidein.cli._common import JSON_OPTION, console, print_json, progress, workspace
from outsidein.errors import DataValidationError

#: columns shown per answer: (row field, header, format)
COLUMNS: dict[str, list[tuple[str, str, str]]] = {
    "value": [("customer_id", "customer", "s"), ("clv", "predicted value", "m"),
              ("profit", "profit", "m"), ("orders", "orders", "d"), ("reason", "why", "s")],
    "cost_to_serve": [("customer_id", "customer", "s"), ("profit", "profit", "m"),
                      ("margin", "margin", "m"), ("cost_to_serve", "cost to serve", "m"),
                      ("reason", "why", "s")],
    "advocates": [("customer_id", "customer", "s"), ("direct", "referred", "d"),
                  ("tree_size", "in tree", "d"), ("advocacy_value", "value brought", "m"),
                  ("reason", "why", "s")],
    "ideal_prospects": [("prospect_id", "prospect", "s"), ("score", "similarity", "p"),
                        ("reason", "why", "s")],
    "likely_converts": [("prospect_id", "prospect", "s"), ("probability", "P(convert)", "p"),
                        ("reason", "why", "s")],
}


def _fmt(value: Any, kind: str) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if kind == "m":
        return f"{float(value):,.0f}"
    if kind == "d":
        return f"{int(value):,}"
    if kind == "p":
        return f"{float(value):.0%}"
    return str(value)


def _date(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise DataValidationError(
            f"{option} {value!r}: expected a date like 2025-01-31") from None


def _header(field: str, header: str, value_basis: str | None, *, service_costs: bool) -> str:
    """A column's header: "profit" is "net revenue" when no product costs were loaded."""
    if value_basis != "revenue":
        return header
    if field == "profit":
        return "net revenue - cost to serve" if service_costs else "net revenue"
    return {"margin": "net revenue", "clv": "predicted revenue"}.get(field, header)


def _show(doc: dict[str, Any]) -> None:
    period = doc["period"]
    console.print(f"[bold]The five crucial questions[/] — period {period['start'] or '…'} "
                  f"to {period['end'] or '…'}")
    costs = doc["answers"].get("cost_to_serve", {})
    service_costs = bool(costs) and not costs.get("missing_data")
    for a in doc["answers"].values():
        if a["missing_data"]:
            console.print(Panel(Text(a["missing_data"], style="yellow"),
                                title=escape(a["question"]), title_align="left",
                                border_style="yellow"))
            continue
        table = Table(show_header=True, header_style="bold", expand=True, show_lines=False)
        table.add_column("#", justify="right", no_wrap=True)
        for field, header, kind in COLUMNS[a["name"]]:
            header = _header(field, header, a.get("value_basis"), service_costs=service_costs)
            table.add_column(header, justify="left" if kind == "s" else "right",
                             ratio=4 if field == "reason" else None,
                             no_wrap=field != "reason")
        for row in a["rows"]:
            table.add_row(Text(_fmt(row.get("rank"), "d")),  # Text: data is never markup
                          *[Text(_fmt(row.get(f), k)) for f, _, k in COLUMNS[a["name"]]])
        parts: list[Any] = [Text(a["headline"], style="bold")]
        parts += [Text.assemble(("note: ", "yellow"), c) for c in a.get("caveats") or []]
        if a["next_action"]:
            parts.append(Text.assemble(("next: ", "green"), a["next_action"]["text"]))
        parts.append(table)
        console.print(Panel(Group(*parts), title=escape(a["question"]), title_align="left",
                            subtitle=escape(f"full list: warehouse table {a['table']}"),
                            subtitle_align="right"))


def answer_cmd(
    ctx: typer.Context,
    top: Annotated[int, typer.Option("--top", min=1, help="rows per answer")] = 25,
    period_start: Annotated[str | None, typer.Option(
        "--from", help="period start for profit and cost to serve (YYYY-MM-DD)")] = None,
    period_end: Annotated[str | None, typer.Option(
        "--to", help="period end, exclusive (YYYY-MM-DD)")] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Answer the five crucial questions: value, cost to serve, advocates, prospects, converts."""
    # loaded when the command runs (start-up)
    from outsidein.services.questions import answer_five_questions, result_path

    start, end = _date(period_start, "--from"), _date(period_end, "--to")
    ws = workspace(ctx)
    try:
        with progress(enabled=not as_json) as bar:
            result = answer_five_questions(ws, period_start=start, period_end=end, top_n=top,
                                           progress=bar)
    finally:
        ws.close()
    doc = result.to_dict(plot=False)
    if as_json:
        print_json(doc)
        return
    _show(doc)
    console.print(Text(f"saved to {result_path(ws)} in {result.seconds:.1f} s", style="dim"))


def register(app: typer.Typer) -> None:
    """Add ``outsidein answer`` to *app*."""
    app.command("answer")(answer_cmd)
