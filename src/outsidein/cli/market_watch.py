"""``outsidein market watch``: the KPIs that say the market changed, and when.

Thin: it calls :mod:`outsidein.services.market.watch` and prints the alerts (a Rich table), or
``{"kpis": [...], "alerts": [...]}`` with ``--json``.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from outsidein.cli._common import JSON_OPTION, add_row, console, print_json, progress, workspace

__all__ = ["register", "watch_cmd"]


def register(market_app: typer.Typer) -> None:
    """Add ``outsidein market watch`` to the ``market`` group."""
    market_app.command("watch")(watch_cmd)


def watch_cmd(
    ctx: typer.Context,
    freq: Annotated[str, typer.Option(
        help="auto (by day where there are enough events a day, else by week), day or week")
    ] = "auto",
    segment: Annotated[list[str] | None, typer.Option(
        "--segment", help="a customer column to watch each KPI by (repeatable; default: "
                          "segments in market.watch of outsidein.toml, else region)")] = None,
    kpi: Annotated[list[str] | None, typer.Option(
        "--kpi", help="watch only this KPI (repeatable), e.g. repeat_rate")] = None,
    publish: Annotated[bool, typer.Option(
        "--publish", help="publish each alert as an insight for the departments concerned "
                          "(and queue its notification in the outbox)")] = False,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Watch the KPIs for changes: repeat rate, churn, order value, conversion, complaints,
    delivery days, NPS, segment sizes and your own (sections market.kpis.NAME of
    outsidein.toml).

    Each KPI is computed per day from the warehouse, for all customers and per segment; its
    weekly pattern is removed (STL), a CUSUM watches for a shift, and ruptures places it.
    Each alert names the KPI, the segment, when it changed, by how much and the evidence.
    The result is kept in results/market_watch.json and the warehouse tables market_kpis
    and market_alerts (the Market watch page and the report show them).
    """
    from outsidein.services.market.kpis import custom_kpis  # loaded when it runs (start-up)
    from outsidein.services.market.watch import (  # loaded when it runs (start-up)
        save_watch,
        watch_kpis,
        watch_settings,
    )
    from outsidein.services.publish import publish_analysis_insights  # loaded when it runs

    ws = workspace(ctx)
    try:
        watch_settings(ws.config.extra)  # a bad setting: one line, before any progress bar
        custom_kpis(ws.config.extra)
        with progress(enabled=not as_json) as bar:
            bar.add_task("computing the KPIs and watching them", total=None)
            result = watch_kpis(ws, freq=freq, segments=tuple(segment) if segment else None,
                                kpis=tuple(kpi) if kpi else None)
            save_watch(ws, result)
            published = (publish_analysis_insights(ws, {"market_watch": result})
                         if publish and result.alerts else [])
    finally:
        ws.close()
    if as_json:
        print_json({**result.to_dict(), "published": published})
        return
    days = sum(1 for k in result.kpis if k["freq"] == "day")
    console.print(f"{len(result.kpis)} KPI series watched ({days} by day, "
                  f"{len(result.kpis) - days} by week): {len(result.alerts)} change(s)",
                  highlight=False)
    if result.alerts:
        t = Table(title="KPIs that changed (newest first)")
        for col in ("KPI", "segment", "changed on", "before", "after", "change",
                    "confirmed on"):
            t.add_column(col, justify="right" if col in ("before", "after", "change") else "left")
        for a in result.alerts:
            rel = "-" if a.relative is None else f"{a.relative:+.0%}"
            add_row(t, a.title, a.segment, a.changed_at, f"{a.before:.4g}", f"{a.after:.4g}",
                    rel, a.detected_at)
        console.print(t)
        for a in result.alerts:
            console.print(f"{a.headline}: {a.evidence}", highlight=False, markup=False)
    for note in result.notes:
        console.print(f"note: {note}", highlight=False, markup=False)
    if published:
        console.print(f"{len(published)} insight(s) published; their notifications wait in "
                      "the outbox ('outsidein notify deliver' sends them)", highlight=False)
