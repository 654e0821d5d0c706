"""The customer value section of the HTML report.

Shows, from what ``fit_value`` and ``score_value`` stored in the warehouse:
the fitted models with standard errors, the value deciles, the holdout check
(per-frequency bars and the weekly tracking curve) and the top customers with
the plain-words reasons for their rank.  Nothing is refitted here.

>>> from outsidein.report.sections.value import value_section
>>> value_section(ws).summary                    # doctest: +SKIP
'The top 10% of 20,000 customers hold 48% of the value expected in the next 52 weeks ...'
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import pandas as pd

from outsidein.errors import MissingDataError
from outsidein.report.section import Section, figure_html, table_html
from outsidein.services.value import (
    CUSTOMER_VALUE,
    ValueFit,
    bucket_figure,
    decile_table,
    load_fit,
    load_holdout,
    top_customers,
    tracking_figure,
)

if TYPE_CHECKING:
    from outsidein.workspace import Workspace

__all__ = ["value_section"]

MODEL_TITLES = {"bgnbd": "BG/NBD", "mbgnbd": "MBG/NBD", "pareto": "Pareto/NBD",
                "gamma_gamma": "Gamma-Gamma (spend)"}


def _params_table(fit: ValueFit) -> str:
    rows = []
    for name, params, ses in ((fit.model, fit.params, fit.standard_errors),
                              ("gamma_gamma", fit.spend_params, fit.spend_standard_errors)):
        for k, v in params.items():
            rows.append({"model": MODEL_TITLES.get(name, name), "parameter": k,
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
        "P(alive)": deciles.prob_alive_mean.map("{:.0%}".format),
        "expected purchases": deciles.expected_purchases_mean.map("{:.2f}".format),
        "expected spend": deciles.expected_spend_mean.map("{:,.2f}".format),
    })
    return table_html(d, max_rows=10)


def _top_table(top: pd.DataFrame) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(str(r.customer_id))}</td><td>{r.clv:,.2f}</td>"
        f"<td>{r.prob_alive:.0%}</td><td style='text-align:left'>{html.escape(str(r.reason))}"
        "</td></tr>" for r in top.itertuples(index=False))
    return ("<table class='tbl'><tr><th>customer</th><th>CLV</th><th>P(alive)</th>"
            f"<th>why</th></tr>{rows}</table>")


def _holdout_html(ws: Workspace) -> str:

    h = load_holdout(ws)
    if h is None:
        return ("<p class='muted'>No holdout check yet: run "
                "<code>outsidein value fit --holdout-weeks 26</code>.</p>")
    words = (f"Fitted on purchases up to {h.calibration_end:%Y-%m-%d}, the model predicted "
             f"{h.predicted_total:,.0f} repeat purchases by these {h.n_customers:,} customers "
             f"in the following {h.holdout_weeks:.0f} weeks; they made {h.actual_total:,.0f} "
             f"({h.error:+.1%}). The weekly cumulative curve is off by {h.tracking_mape:.1%} "
             "on average over the holdout.")
    return (f"<h3>Holdout check ({html.escape(MODEL_TITLES.get(h.model, h.model))})</h3>"
            f"<p>{html.escape(words)}</p>" + figure_html(bucket_figure(h))
            + figure_html(tracking_figure(h)))


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
    p_alive = float((deciles.prob_alive_mean * deciles.customers).sum() / n)
    summary = (f"The top 10% of {n:,} customers hold {share:.0%} of the value expected from "
               f"all customers ({total:,.0f} in discounted margin); on average a customer is "
               f"{p_alive:.0%} likely to be still active. The most valuable customers, and why, "
               "are listed below.")
    model = MODEL_TITLES.get(fit.model, fit.model)
    body = (
        f"<h3>Value deciles</h3>{_deciles_table(deciles)}"
        "<p class='muted'>CLV = expected purchases over the horizon, discounted weekly, x "
        "expected spend per purchase (Gamma-Gamma) x the company's margin rate on revenue.</p>"
        f"<h3>Top customers and why</h3>{_top_table(top)}"
        f"<h3>Fitted models</h3><p>{html.escape(model)} on {fit.n_customers:,} customers "
        f"(log-likelihood {fit.log_likelihood:,.1f}), spend on {fit.n_repeat_buyers:,} repeat "
        f"buyers; rates per {html.escape(fit.time_unit[:-1])}, history up to "
        f"{fit.observation_end:%Y-%m-%d}.</p>{_params_table(fit)}"
        + _holdout_html(ws)
    )
    return Section(title="Most valuable customers, and why", anchor="value", body_html=body,
                   summary=summary)
