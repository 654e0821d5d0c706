"""``outsidein value fit | score | top``: customer value in the warehouse (thin adapter)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from outsidein.cli._common import JSON_OPTION, console, print_json, progress, workspace

value_app = typer.Typer(help="Customer value: fit BTYD models, score CLV, list top customers.",
                        no_args_is_help=True)


@value_app.command("fit")
def fit_cmd(
    ctx: typer.Context,
    model: Annotated[str, typer.Option(
        help="transaction model: bgnbd, mbgnbd or pareto")] = "bgnbd",
    calibration_end: Annotated[str | None, typer.Option(
        "--calibration-end", help="fit on purchases up to this date (YYYY-MM-DD) and check "
        "the rest as a holdout")] = None,
    holdout_weeks: Annotated[float | None, typer.Option(
        "--holdout-weeks", help="hold out the last N weeks to check the model")] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Fit the purchase model (BG/NBD by default) and Gamma-Gamma spend in the warehouse.

    'outsidein value score' uses the last fit: fit without a holdout to score
    on the whole history.
    """
    from outsidein.services.value import fit_value  # loaded when the command runs (start-up)

    ws = workspace(ctx)
    with progress(enabled=not as_json) as bar:
        fit = fit_value(ws, model=model, calibration_end=calibration_end,
                        holdout_weeks=holdout_weeks, progress=bar)
    if as_json:
        print_json(fit.to_dict())
        return
    table = Table(title=f"{fit.model} fitted on {fit.n_customers:,} customers "
                        f"({fit.n_distinct:,} distinct rows), per {fit.time_unit[:-1]}")
    for col in ("model", "param", "estimate", "std. error"):
        table.add_column(col, justify="right" if col in ("estimate", "std. error") else "left")
    for name, params, ses in ((fit.model, fit.params, fit.standard_errors),
                              ("gamma_gamma", fit.spend_params, fit.spend_standard_errors)):
        for k, v in params.items():
            table.add_row(name, k, f"{v:.4g}", f"{ses.get(k, float('nan')):.3g}")
    console.print(table)
    console.print(f"log-likelihood {fit.log_likelihood:,.2f}; "
                  f"{fit.n_repeat_buyers:,} repeat buyers for the spend model")
    if fit.holdout is not None:
        h = fit.holdout
        console.print(f"holdout from {h.calibration_end:%Y-%m-%d} ({h.holdout_weeks:.0f} weeks): "
                      f"actual {h.actual_total:,.0f} repeat purchases, predicted "
                      f"{h.predicted_total:,.0f} ([bold]{h.error:+.1%}[/])")
        bt = Table("bucket", "customers", "actual mean", "predicted mean")
        for b in h.buckets:
            bt.add_row(b["label"], f"{b['customers']:,}", f"{b['actual_mean']:.2f}",
                       f"{b['predicted_mean']:.2f}")
        console.print(bt)


@value_app.command("score")
def score_cmd(
    ctx: typer.Context,
    horizon_weeks: Annotated[float, typer.Option("--horizon-weeks",
                                                 help="CLV horizon in weeks")] = 52,
    discount_rate: Annotated[float, typer.Option("--discount-rate",
                                                 help="discount rate per week")] = 0.01,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Score every customer into the customer_value table (P(alive), purchases, spend, CLV)."""
    from outsidein.services.value import score_value  # loaded when the command runs (start-up)

    ws = workspace(ctx)
    with progress(enabled=not as_json) as bar:
        report = score_value(ws, horizon_weeks=horizon_weeks, discount_rate=discount_rate,
                             progress=bar)
    if as_json:
        print_json(report.to_dict())
        return
    table = Table(title=f"{report.n_customers:,} customers scored into {report.table!r} "
                        f"({report.horizon_weeks:g} weeks, margin {report.margin.rate:.1%})")
    for col in ("decile", "customers", "CLV total", "CLV share", "CLV mean", "P(alive)",
                "purchases"):
        table.add_column(col, justify="right")
    for d in report.deciles:
        table.add_row(str(d["value_decile"]), f"{d['customers']:,}", f"{d['clv_total']:,.0f}",
                      f"{d['clv_share']:.1%}", f"{d['clv_mean']:,.2f}",
                      f"{d['prob_alive_mean']:.0%}", f"{d['expected_purchases_mean']:.2f}")
    console.print(table)
    if report.margin.note:
        console.print(f"[yellow]margin:[/] {report.margin.note}")


@value_app.command("top")
def top_cmd(
    ctx: typer.Context,
    n: Annotated[int, typer.Option("--n", help="how many customers")] = 20,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """The most valuable customers and, in plain words, why."""
    from outsidein.services.value import top_customers  # loaded when the command runs (start-up)

    df = top_customers(workspace(ctx), n=n)
    if as_json:
        print_json({"customers": df.to_dict("records")})
        return
    table = Table(title=f"top {len(df)} customers by CLV")
    for col in ("customer", "CLV", "P(alive)", "why"):
        table.add_column(col, justify="right" if col in ("CLV", "P(alive)") else "left")
    for row in df.itertuples(index=False):
        table.add_row(str(row.customer_id), f"{row.clv:,.2f}", f"{row.prob_alive:.0%}",
                      str(row.reason))
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add ``outsidein value ...`` to *app*."""
    app.add_typer(value_app, name="value")
