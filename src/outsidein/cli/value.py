"""``outsidein value fit | score | top``: customer value in the warehouse (thin adapter)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from outsidein.cli._common import JSON_OPTION, console, print_json, progress, workspace

if TYPE_CHECKING:
    from outsidein.services.value import ValueFit

value_app = typer.Typer(help="Customer value: fit BTYD models, score CLV, list top customers.",
                        no_args_is_help=True)

def _pct(value: Any, digits: int = 0) -> str:
    """A share as a percentage, or "n/a" when there is none (NaN, None)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{float(value):.{digits}%}"


@value_app.command("fit")
def fit_cmd(
    ctx: typer.Context,
    model: Annotated[str | None, typer.Option(
        help="force a transaction model: bgnbd, mbgnbd or pareto (default: the one with the "
             "smallest holdout error)")] = None,
    calibration_end: Annotated[str | None, typer.Option(
        "--calibration-end", help="compare the models on purchases after this date "
        "(YYYY-MM-DD)")] = None,
    holdout_weeks: Annotated[float | None, typer.Option(
        "--holdout-weeks", help="compare the models on the last N weeks (default: a third of "
        "the history, at most 26; 0: no comparison)")] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Choose the purchase model on a holdout, fit it and Gamma-Gamma spend on the whole history.

    BG/NBD, MBG/NBD and Pareto/NBD are fitted on the calibration window and
    compared on the holdout; the one with the smallest root mean squared
    error per customer (predicted vs actual repeat purchases) is refitted on
    the whole history, and 'outsidein value score' and 'outsidein analyze'
    use it.  --model forces one; the others' errors are still shown.
    """
    # loaded when the command runs (start-up)
    from outsidein.services.value import MODEL_TITLES, fit_value

    ws = workspace(ctx)
    with progress(enabled=not as_json) as bar:
        fit = fit_value(ws, model=model, calibration_end=calibration_end,
                        holdout_weeks=holdout_weeks, progress=bar)
    if as_json:
        print_json(fit.to_dict())
        return
    _print_comparison(fit, MODEL_TITLES)
    table = Table(title=f"{MODEL_TITLES.get(fit.model, fit.model)} fitted on the whole history: "
                        f"{fit.n_customers:,} customers ({fit.n_distinct:,} distinct rows), "
                        f"per {fit.time_unit[:-1]}")
    for col in ("model", "param", "estimate", "std. error"):
        table.add_column(col, justify="right" if col in ("estimate", "std. error") else "left")
    for name, params, ses in ((fit.model, fit.params, fit.standard_errors),
                              ("gamma_gamma", fit.spend_params, fit.spend_standard_errors)):
        for k, v in params.items():
            table.add_row(name, k, f"{v:.4g}", f"{ses.get(k, float('nan')):.3g}")
    console.print(table)
    console.print(f"log-likelihood {fit.log_likelihood:,.2f}; "
                  f"{fit.n_repeat_buyers:,} repeat buyers for the spend model")


def _print_comparison(fit: ValueFit, titles: dict[str, str]) -> None:
    """The models' holdout errors, overall and per calibration-frequency bucket, and the choice."""
    choice, h = fit.choice, fit.holdout
    if h is not None:
        console.print(f"holdout from {h.calibration_end:%Y-%m-%d} ({h.holdout_weeks:.0f} weeks): "
                      f"{h.n_customers:,} customers made {h.actual_total:,.0f} repeat purchases")
    if choice is not None and choice.scores:
        table = Table(title="models compared on the holdout (fitted on the calibration window)")
        for col in ("model", "RMSE per customer", "predicted", "error of the total",
                    "log-likelihood", "chosen"):
            table.add_column(col, justify="left" if col in ("model", "chosen") else "right")
        for s in choice.scores:
            if s.failed:
                table.add_row(titles.get(s.model, s.model), "-", "-", "-", "-",
                              escape(f"not fitted: {s.failed}"))
                continue
            table.add_row(titles.get(s.model, s.model), f"{s.rmse:.4f}",
                          f"{s.predicted_total:,.0f}", f"[bold]{s.error:+.1%}[/]",
                          f"{s.log_likelihood:,.1f}", "yes" if s.model == choice.model else "")
        console.print(table)
        scored = [s for s in choice.scores if s.buckets]
        if scored:
            bt = Table(title="mean repeat purchases in the holdout, per calibration frequency")
            for col in ("repeat purchases in calibration", "customers", "actual",
                        *(titles.get(s.model, s.model) for s in scored)):
                bt.add_column(col, justify="left" if col.startswith("repeat") else "right")
            for i, b in enumerate(scored[0].buckets):
                bt.add_row(b["label"], f"{b['customers']:,}", f"{b['actual_mean']:.2f}",
                           *(f"{s.buckets[i]['predicted_mean']:.2f}" for s in scored))
            console.print(bt)
        console.print(f"criterion: {escape(choice.criterion)}")
    if choice is not None:
        console.print(f"model: [bold]{titles.get(choice.model, choice.model)}[/], "
                      f"{escape(choice.reason)}")


@value_app.command("score")
def score_cmd(
    ctx: typer.Context,
    horizon_weeks: Annotated[float, typer.Option("--horizon-weeks",
                                                 help="CLV horizon in weeks")] = 52,
    discount_rate: Annotated[float | None, typer.Option(
        "--discount-rate", help="yearly discount rate, e.g. 0.1 for 10% a year (default: "
        "discount_rate in the analysis section of outsidein.toml, else 0.1)")] = None,
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
                      _pct(d["prob_alive_mean"]), f"{d['expected_purchases_mean']:.2f}")
    console.print(table)
    console.print(f"CLV discounted at {report.discount_rate:.1%} a year "
                  f"({report.discount_rate_weekly:.3%} a week)")
    if report.alive_note:
        console.print(f"[yellow]P(alive):[/] {escape(report.alive_note)}")
    if report.margin.note:
        console.print(f"[yellow]margin:[/] {escape(report.margin.note)}")


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
        table.add_row(escape(str(row.customer_id)), f"{row.clv:,.2f}", _pct(row.prob_alive),
                      escape(str(row.reason)))
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add ``outsidein value ...`` to *app*."""
    app.add_typer(value_app, name="value")
