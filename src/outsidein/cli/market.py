"""``outsidein market ...``: stratify customers, basket rules, context lift and the KPI watch.

Thin: each command calls :mod:`outsidein.services.market` and prints a Rich table, or plain
values with ``--json``.  Commands live in this module or in a ``cli/market_*.py`` module
whose ``register(market_app)`` is called below.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from outsidein.cli import market_basket, market_watch
from outsidein.cli._common import JSON_OPTION, add_row, console, print_json, progress, workspace

__all__ = ["market_app", "register", "segments_cmd"]

market_app = typer.Typer(
    help="Market sensing: segments, baskets, what events drive, and KPIs that changed.",
    no_args_is_help=True)
market_watch.register(market_app)
market_basket.register(market_app)


def register(app: typer.Typer) -> None:
    """Add ``outsidein market`` to *app*."""
    app.add_typer(market_app, name="market")


def _pct(x: Any) -> str:
    return "-" if x is None else f"{x:.0%}"


@market_app.command("segments")
def segments_cmd(
    ctx: typer.Context,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Stratify the customers: RFM segments, behavioural clusters, segment x product type
    with cross-sell gaps, and what stock-outs and slow deliveries cost.

    Each customer's segment and cluster go to the warehouse table customer_segments; the
    result is kept in results/market_segments.json for the Market page and the report.
    A delivery of at least [market] slow_delivery_days (outsidein.toml, default 7) is slow.
    """
    # loaded when the command runs (start-up)
    from outsidein.services.market.segments import run_segments

    ws = workspace(ctx)
    try:
        with progress(enabled=not as_json) as bar:
            result = run_segments(ws, progress=bar)
    finally:
        ws.close()
    if as_json:
        print_json(result.to_dict())
        return
    _print_segments(result.to_dict())


def _print_segments(d: dict[str, Any]) -> None:
    t = Table(title=f"RFM segments of {d['customers']:,} customers")
    for col in ("segment", "customers", "share", "revenue", "revenue share", "what it means"):
        t.add_column(col, justify="left" if col in ("segment", "what it means") else "right")
    for s in d["segments"]:
        add_row(t, s["name"], f"{s['customers']:,}", _pct(s["share"]), f"{s['revenue']:,.0f}",
                _pct(s["revenue_share"]), s["description"])
    console.print(t)
    k = d["k_choice"]
    t = Table(title=f"{k['k']} behavioural clusters (k by silhouette)")
    for col in ("cluster", "customers", "revenue / customer", "profile"):
        t.add_column(col, justify="right" if col in ("customers", "revenue / customer")
                     else "left")
    for c in d["clusters"]:
        add_row(t, c["name"], f"{c['customers']:,}", f"{c['revenue_per_customer']:,.0f}",
                c["profile"])
    console.print(t)
    gaps = [m for m in d["matrix"] if m["cross_sell_gap"]]
    gaps.sort(key=lambda m: -m["gap_revenue"])
    if gaps:
        t = Table(title="cross-sell gaps: segments that under-buy what their look-alikes buy")
        for col in ("segment", "product type", "buy it", "look-alikes", "more buyers",
                    "revenue"):
            t.add_column(col, justify="left" if col in ("segment", "product type") else "right")
        for m in gaps[:10]:
            add_row(t, m["segment_label"], m["product_type"], _pct(m["penetration"]),
                    _pct(m["expected_penetration"]), f"{m['gap_customers']:,}",
                    f"{m['gap_revenue']:,.0f}")
        console.print(t)
    avail = [a for a in d["availability"] if a["grouping"] != "cluster"]
    if avail:
        t = Table(title="what stock-outs and slow deliveries cost (hit customers against "
                        "comparable customers not hit; 1.0 = no effect)")
        for col in ("outcome", "customers hit", "rate ratio", "95% interval"):
            t.add_column(col, justify="left" if col == "outcome" else "right")
        for a in avail:
            ratio = "-" if a["effect"] is None else f"{a['effect']:.2f}"
            ci = ("-" if a["ci_low"] is None
                  else f"{a['ci_low']:.2f} to {a['ci_high']:.2f}")
            add_row(t, f"{a['outcome']} ({a['segment']})", f"{a['customers']:,}", ratio, ci)
        console.print(t)
    for note in d["notes"]:
        console.print(f"note: {note}", highlight=False, markup=False)
    console.print(f"customer_segments written; {d['seconds']:.1f} s", highlight=False)
