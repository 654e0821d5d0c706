"""The customer value section of the HTML report.

Shows, from what ``fit_value`` and ``score_value`` stored in the warehouse:
the value deciles, the top customers with the plain-words reasons for their
rank, how the transaction model was chosen (every model's holdout error,
overall and per calibration-frequency bucket), the fitted models with
standard errors, the discount rate, and the holdout check of the chosen
model (per-bucket bars and the weekly tracking curve).  Where the model
cannot estimate P(alive) (BG/NBD, customers who bought once) the section
says so instead of showing 100%.  Nothing is refitted here.

>>> from outsidein.report.sections.value import value_section
>>> value_section(ws).summary                    # doctest: +SKIP
'The top 10% of 20,000 customers hold 48% of the value expected in the next 52 weeks ...'
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

import pandas as pd

from outsidein.errors import MissingDataError
from outsidein.report.section import Section, figure_html, table_html
from outsidein.services.value import (
    CUSTOMER_VALUE,
    MODEL_TITLES,
    HoldoutReport,
    ModelChoice,
    ValueFit,
    bucket_figure,
    decile_table,
    load_fit,
    load_holdout_models,
    load_scoring,
    top_customers,
    tracking_figure,
)

if TYPE_CHECKING:
    from outsidein.workspace import Workspace

__all__ = ["value_section"]


def _pct(value: Any) -> str:
    """A share as a whole percentage, or "n/a" when there is none."""
    return "n/a" if value is None or pd.isna(value) else f"{float(value):.0%}"


def _title(model: str) -> str:
    return MODEL_TITLES.get(model, model)


def _params_table(fit: ValueFit) -> str:
    rows = []
    for name, params, ses in ((fit.model, fit.params, fit.standard_errors),
                              ("gamma_gamma", fit.spend_params, fit.spend_standard_errors)):
        for k, v in params.items():
            rows.append({"model": _title(name), "parameter": k,
                         "estimate": v, "std. error": ses.get(k, float("nan"))})
    return pd.DataFrame(rows).to_html(index=False, border=0, classes="tbl",
                                      float_format=lambda v: f"{v:,.4g}")


def _deciles_table(deciles: pd.DataFrame) -> str:
    d = pd.DataFrame({
        "decile (1 = top)": deciles.value_decile,
        "customers": deciles.customers.map("{:,}".format),
        "CLV total": deciles.clv_total.map("{:,.0f}".format),
        "share of CLV": deciles.clv_share.map("{:.1%}".format),
        "CLV per customer": deciles.clv_mean.map("{:,.2f}".format),
        "P(alive)": deciles.prob_alive_mean.map(_pct),
        "expected purchases": deciles.expected_purchases_mean.map("{:.2f}".format),
        "expected spend": deciles.expected_spend_mean.map("{:,.2f}".format),
    })
    return table_html(d, max_rows=10)


def _top_table(top: pd.DataFrame) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(str(r.customer_id))}</td><td>{r.clv:,.2f}</td>"
        f"<td>{_pct(r.prob_alive)}</td><td style='text-align:left'>{html.escape(str(r.reason))}"
        "</td></tr>" for r in top.itertuples(index=False))
    return ("<table class='tbl'><tr><th>customer</th><th>CLV</th><th>P(alive)</th>"
            f"<th>why</th></tr>{rows}</table>")


def _choice_html(choice: ModelChoice | None, reports: tuple[HoldoutReport, ...]) -> str:
    """How the model was chosen: each model's holdout errors, overall and per bucket."""
    if choice is None:
        return ""
    words = f"{_title(choice.model)}: {choice.reason}."
    out = f"<h3>Choice of model</h3><p>{html.escape(words)}</p>"
    compared = [s for s in choice.scores if not s.failed]
    if not compared:
        return out
    overall = pd.DataFrame({
        "model": [_title(s.model) for s in compared],
        "RMSE per customer": [f"{s.rmse:.4f}" for s in compared],
        "predicted purchases": [f"{s.predicted_total:,.0f}" for s in compared],
        "actual purchases": [f"{s.actual_total:,.0f}" for s in compared],
        "error of the total": [f"{s.error:+.1%}" for s in compared],
        "log-likelihood (calibration)": [f"{s.log_likelihood:,.1f}" for s in compared],
        "chosen": ["yes" if s.model == choice.model else "" for s in compared],
    })
    out += (table_html(overall) + "<p class='muted'>Each model was fitted on the calibration "
            f"window and compared on the holdout by the {html.escape(choice.criterion)}; the "
            "chosen one was then refitted on the whole history.</p>")
    if reports:
        first = reports[0].buckets_frame()
        per = pd.DataFrame({"repeat purchases in calibration": first.label,
                            "customers": first.customers.map("{:,}".format),
                            "actual": first.actual_mean.map("{:.2f}".format)})
        for rep in reports:
            b = rep.buckets_frame()
            if list(b.label) == list(first.label):
                per[_title(rep.model)] = b.predicted_mean.map("{:.2f}".format)
        out += ("<p>Mean repeat purchases per customer in the holdout, actual and predicted, "
                "by the number of repeat purchases in the calibration window:</p>"
                + table_html(per))
    return out


def _holdout_html(reports: tuple[HoldoutReport, ...]) -> str:
    if not reports:
        return ("<p class='muted'>No holdout check yet: run "
                "<code>outsidein value fit --holdout-weeks 26</code>.</p>")
    h = reports[0]
    words = (f"Fitted on purchases up to {h.calibration_end:%Y-%m-%d}, the model predicted "
             f"{h.predicted_total:,.0f} repeat purchases by these {h.n_customers:,} customers "
             f"in the following {h.holdout_weeks:.0f} weeks; they made {h.actual_total:,.0f} "
             f"({h.error:+.1%}). The weekly cumulative curve is off by {h.tracking_mape:.1%} "
             "on average over the holdout.")
    return (f"<h3>Holdout check ({html.escape(_title(h.model))})</h3>"
            f"<p>{html.escape(words)}</p>" + figure_html(bucket_figure(h))
            + figure_html(tracking_figure(h)))


def _alive_words(deciles: pd.DataFrame) -> tuple[str, int]:
    """The summary's P(alive) clause, and how many customers have no estimate."""
    unknown = int(deciles.get("alive_unknown", pd.Series(0, index=deciles.index)).sum())
    known = deciles.customers - (deciles.alive_unknown if unknown else 0)
    mean = (float((deciles.prob_alive_mean.fillna(0) * known).sum() / known.sum())
            if known.sum() else math.nan)
    if not unknown:
        return f"on average a customer is {mean:.0%} likely to be still active", 0
    return (f"on average a customer with a repeat purchase is {mean:.0%} likely to be still "
            f"active; for the {unknown:,} who bought only once the model cannot tell", unknown)


def _scoring_html(scoring: dict[str, Any] | None) -> str:
    if not scoring:
        return ""
    text = (f"CLV = expected purchases over the next {float(scoring['horizon_weeks']):g} weeks, "
            f"discounted at {float(scoring['discount_rate']):.1%} a year "
            f"({float(scoring['discount_rate_weekly']):.3%} a week), x expected spend per "
            "purchase (Gamma-Gamma) x the company's margin rate on revenue.")
    if scoring.get("value_basis") == "revenue":
        text = text.replace("x the company's margin rate on revenue.",
                            "less discounts: it is expected revenue, not profit.")
    caveat = str(scoring.get("value_caveat") or "")
    if caveat:
        text += f" Note: {caveat}."
    note = str(scoring.get("alive_note") or "")
    return (f"<p class='muted'>{html.escape(text)}</p>"
            + (f"<p class='muted'>{html.escape(note)}.</p>" if note else ""))


def value_section(ws: Workspace) -> Section | None:
    """Report section on customer value; None until ``outsidein value score`` has run."""

    wh = ws.warehouse()
    if not wh.has_table(CUSTOMER_VALUE):
        return None
    try:
        fit = load_fit(ws)
    except MissingDataError:
        return None
    deciles = decile_table(ws)
    if deciles.empty:
        return None
    top = top_customers(ws, n=20)
    n = int(deciles.customers.sum())
    total = float(deciles.clv_total.sum())
    share = float(deciles.clv_share.iloc[0]) if total else float("nan")
    alive, _ = _alive_words(deciles)
    scoring = load_scoring(ws)
    rate = (f", discounted at {float(scoring['discount_rate']):.0%} a year" if scoring else "")
    basis = ("revenue (no product costs: not profit)"
             if scoring and scoring.get("value_basis") == "revenue" else "margin")
    summary = (f"The top 10% of {n:,} customers hold {share:.0%} of the value expected from "
               f"all customers ({total:,.0f} in discounted {basis}{rate}); {alive}. "
               "The most valuable customers, and why, are listed below.")
    reports = load_holdout_models(ws)
    body = (
        f"<h3>Value deciles</h3>{_deciles_table(deciles)}{_scoring_html(scoring)}"
        f"<h3>Top customers and why</h3>{_top_table(top)}"
        + _choice_html(fit.choice, reports)
        + f"<h3>Fitted models</h3><p>{html.escape(_title(fit.model))} on {fit.n_customers:,} "
        f"customers (log-likelihood {fit.log_likelihood:,.1f}), spend on "
        f"{fit.n_repeat_buyers:,} repeat buyers; rates per {html.escape(fit.time_unit[:-1])}, "
        f"history up to {fit.observation_end:%Y-%m-%d}.</p>{_params_table(fit)}"
        + _holdout_html(reports)
    )
    return Section(title="Most valuable customers, and why", anchor="value", body_html=body,
                   summary=summary)
