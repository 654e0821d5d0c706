"""``outsidein market basket`` and ``outsidein market context``: basket rules and the products
that context events drive (the Pop-Tarts finder).

Thin: each command calls :mod:`outsidein.services.market` and prints a Rich table, or plain
values with ``--json``.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from outsidein.cli._common import JSON_OPTION, add_row, console, print_json, progress, workspace

__all__ = ["basket_cmd", "context_cmd", "register"]


def register(market_app: typer.Typer) -> None:
    """Add ``outsidein market basket`` and ``outsidein market context`` to the group."""
    market_app.command("basket")(basket_cmd)
    market_app.command("context")(context_cmd)


def basket_cmd(
    ctx: typer.Context,
    min_support: Annotated[float, typer.Option(
        help="least share of baskets holding an itemset (0 to 1)")] = 0.01,
    min_confidence: Annotated[float, typer.Option(
        help="least confidence of a rule (0 to 1)")] = 0.5,
    min_lift: Annotated[float, typer.Option(help="least lift of a rule")] = 0.0,
    max_length: Annotated[int, typer.Option(help="most items in an itemset")] = 4,
    by: Annotated[str, typer.Option(help="an item is a product or a product_type")] = "product",
    limit: Annotated[int, typer.Option(help="rules shown in the table")] = 20,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Association rules over the orders: support, confidence, lift, leverage, conviction.

    A basket is an order; items are product ids as loaded (or product types with --by
    product_type); consequents have one item.  Counted in the warehouse (DuckDB or Spark).
    """
    # loaded when the command runs (start-up)
    from outsidein.services.market.basket import basket_rules, check_options

    check_options(min_support=min_support, min_confidence=min_confidence,
                  max_length=max_length, by=by)
    ws = workspace(ctx)
    try:
        with progress(enabled=not as_json) as bar:
            bar.add_task("counting itemsets in the warehouse", total=None)
            result = basket_rules(ws, min_support=min_support, min_confidence=min_confidence,
                                  min_lift=min_lift, max_length=max_length, by=by)
    finally:
        ws.close()
    if as_json:
        print_json(result.to_dict())
        return
    console.print(f"{result.n_baskets:,} baskets, {result.n_itemsets:,} frequent itemsets, "
                  f"{result.n_rules:,} rules (support >= {min_support}, confidence >= "
                  f"{min_confidence})", highlight=False)
    if result.n_rules:
        # a narrow terminal keeps the ids whole and leaves leverage and conviction to --json
        wide = console.width >= 100
        t = Table(title=f"strongest rules by lift (first {min(limit, result.n_rules)})",
                  caption=None if wide else "leverage and conviction: --json, or a terminal "
                  "at least 100 columns wide")
        measures = ("support", "confidence", "lift") + (("leverage", "conviction") if wide
                                                        else ())
        for col in ("if the basket holds", "it also holds"):  # ids wrap, never cut short
            t.add_column(col, overflow="fold", ratio=1)
        for col in measures:
            t.add_column(col, justify="right", no_wrap=True)
        for r in result.to_dict(limit=limit)["rules"]:
            conv = "inf" if r["conviction"] is None else f"{r['conviction']:.2f}"
            cells = [f"{r['support']:.4f}", f"{r['confidence']:.2f}", f"{r['lift']:.2f}",
                     f"{r['leverage']:.4f}", conv][:len(measures)]
            add_row(t, ", ".join(map(str, r["antecedents"])),
                    ", ".join(map(str, r["consequents"])), *cells)
        console.print(t)


def context_cmd(
    ctx: typer.Context,
    before_days: Annotated[int, typer.Option(
        help="days before an event's start that make its 'before' window")] = 3,
    alpha: Annotated[float, typer.Option(help="false discovery rate (Benjamini-Hochberg)")] = 0.05,
    show_all: Annotated[bool, typer.Option(
        "--all", help="every product tested, not only the significant findings")] = False,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Products whose sales rise before or during context events (storm warnings, holidays...).

    Each is held against the same region and month (Mantel-Haenszel rate ratio, with its
    interval), with the false discovery rate controlled over all products; obvious or not;
    and how much extra stock to hold, where and how many days before.  The result is kept in
    results/market_context.json and the warehouse table market_context_findings.
    """
    # loaded when the command runs (start-up)
    from outsidein.services.market.context import context_lift, save_context

    ws = workspace(ctx)
    try:
        with progress(enabled=not as_json) as bar:
            bar.add_task("counting sales around the events in the warehouse", total=None)
            result = context_lift(ws, before_days=before_days, alpha=alpha)
            save_context(ws, result)
    finally:
        ws.close()
    doc = result.to_dict(include_all=show_all)
    if as_json:
        print_json(doc)
        return
    sig = len(result.significant())
    console.print(f"{len(result.findings):,} (event kind, window, product) tested; {sig} "
                  f"significant at a false discovery rate of {alpha}", highlight=False)
    if not doc["findings"]:
        return
    t = Table(title="products that events drive (most surprising first)")
    for col in ("event", "product", "uplift", "interval", "q", "events", "obvious",
                "extra units/event"):
        t.add_column(col, justify="left" if col in ("event", "product", "obvious") else "right")
    for f in doc["findings"]:
        stock = f["extra_stock"]
        ci = ("-" if f["ci_low"] is None else f"{f['ci_low']:.1f}-{f['ci_high']:.1f}")
        ratio = "-" if f["rate_ratio"] is None else f"{f['rate_ratio']:.1f}x"
        add_row(t, f"{f['window']} {f['kind'].replace('_', ' ')}",
                f"{f['name']} ({f['product_type'].replace('_', ' ')})", ratio, ci,
                f"{f['q_value']:.1e}", str(f["n_events"]), "yes" if f["obvious"] else "no",
                f"{stock['units_per_event']:,.0f}, {stock['days_before']} d before")
    console.print(t)
