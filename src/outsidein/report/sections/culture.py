"""The market-culture section of the HTML report.

The workspace's own organisation in the latest wave, as the Culture page shows it
(:func:`outsidein.services.culture.views.culture_view`: every group figure through the
anonymity rules): market orientation and its percentile, the department x component table
(hidden groups say why), the items that drive the gap to the top quartile, the trend across
waves, the scores against the company's customer KPIs after each wave
(:mod:`outsidein.services.culture.kpi_links`); then the wave's psychometrics from the kept
report (``outsidein culture report``): reliability, the factor model's fit, invariance and
agreement.  Illustrative data and norms
are labelled so.  No section while no wave has answers.

>>> from outsidein.report.sections.culture import culture_section
>>> culture_section(ws).title                      # doctest: +SKIP
'Market culture: how customer-focused the organisation is'
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import pandas as pd
import plotly.graph_objects as go

from outsidein.errors import ConfigError
from outsidein.report.section import Section, figure_html, table_html
from outsidein.services.culture.analysis import read_report
from outsidein.services.culture.kpi_links import KpiLinks, kpi_links
from outsidein.services.culture.views import CultureView, culture_view

if TYPE_CHECKING:
    from outsidein.workspace import Workspace

__all__ = ["culture_section"]


def _p(text: str, cls: str = "") -> str:
    return f"<p{f' class={cls!r}' if cls else ''}>{html.escape(text)}</p>"


def _groups_table(v: CultureView) -> pd.DataFrame:
    rows = []
    for r in v.heat:
        row: dict[str, Any] = {"group": f"{r['group']} ({r['dimension']})", "respondents": r["n"]}
        for c in r["cells"]:
            row[v.labels[c["column"]]] = (f"{c['value']:.0f}" if c["value"] is not None
                                          else "hidden")
        if not r["shown"]:
            row["why hidden"] = r["reason"]
        rows.append(row)
    return pd.DataFrame(rows).fillna("")


def _psychometrics(report: dict[str, Any] | None, v: CultureView) -> str:
    if report is None:
        return _p(f"Reliability, factor analysis and agreement: run 'outsidein culture report "
                  f"--wave \"{v.wave}\"'.", "muted")
    out = "<h3>Is the survey measuring well?</h3>"
    cfa = report.get("cfa")
    if cfa:
        out += _p(f"Factor model: chi-square {cfa['chi2']:.1f} on {cfa['df']} degrees of freedom, "
                  f"CFI {cfa['cfi']:.3f}, TLI {cfa['tli']:.3f}, RMSEA {cfa['rmsea']:.3f}, "
                  f"SRMR {cfa['srmr']:.3f}.")
    if report.get("invariance"):
        out += _p(str(report["invariance"]["words"]))
    agg = report["aggregation"]["components"]
    table = pd.DataFrame([{
        "component": v.labels.get(c, c),
        "alpha": r.get("alpha"), "omega": r.get("omega"),
        "ICC(1)": agg.get(c, {}).get("icc1"), "ICC(2)": agg.get(c, {}).get("icc2"),
        "mean r_wg": agg.get(c, {}).get("mean_rwg"),
        "weak items": ", ".join(r.get("weak_items") or [])}
        for c, r in report["reliability"].items()])
    out += table_html(table, float_format="{:.2f}")
    return out + "".join(_p(str(n), "muted") for n in report.get("notes") or [])


def _kpi_points(points: list[dict[str, Any]], by: str | None) -> pd.DataFrame:
    rows = []
    for p in points:
        row: dict[str, Any] = {"department": p[by], "customers": p.get("slice", "")} if by \
            else {}
        row.update({"wave": p["wave"], "period": " to ".join(p.get("period") or []) or "–",
                    "respondents": p["n"],
                    "score": f"{p['score']:.0f}" if p["score"] is not None
                    else f"hidden: {p['reason']}"})
        for key, title in (("repeat_rate", "repeat rate"), ("clv", "CLV"), ("nps", "NPS")):
            k = (p.get("kpis") or {}).get(key)
            row[title] = f"{k['display']} ({k['customers']:,})" if k and k["value"] is not None \
                else "–"
        rows.append(row)
    return pd.DataFrame(rows)


def _kpi_links(ws: Workspace, v: CultureView) -> str:
    """Scores against the company's customer KPIs after each wave (own organisation only)."""
    try:
        found: KpiLinks = kpi_links(ws, upto=v.wave)
    except ConfigError as exc:
        return "<h3>Culture and the customers afterwards</h3>" + _p(str(exc), "muted")
    if found.org != v.org:
        return ""
    out = ("<h3>Culture and the customers afterwards</h3>"
           + _p(f"The {found.score.replace('_', ' ')} score of {found.org} in each closed wave "
                f"against the repeat rate, CLV and NPS of the customers who bought in the "
                f"{found.days} days after it closed; departments against their slice of "
                "customers (customers counted in brackets).", "muted"))
    if found.words:
        out += "<ul>" + "".join(f"<li>{html.escape(w)}</li>" for w in found.words) + "</ul>"
    if found.waves:
        out += table_html(_kpi_points(found.waves, None))
    if found.departments:
        out += table_html(_kpi_points(found.departments, "department"), max_rows=60)
    return out + "".join(_p(n, "muted") for n in found.notes)


def culture_section(ws: Workspace) -> Section | None:
    """Report section on the market-culture survey; None while no wave has answers."""
    v = culture_view(ws)
    if v.empty:
        return None
    tag = " (illustrative data)" if v.illustrative else ""
    scores = v.headline.get("scores", {})
    if v.headline.get("shown") and scores.get("market_orientation") is not None:
        headline = (f"{v.org} scores {scores['market_orientation']:.0f} of 100 on market "
                    f"orientation in wave {v.wave}{tag}, from {v.n:,} respondents.")
    else:
        headline = f"{v.org}, wave {v.wave}: no score ({v.headline.get('reason')})."
    body = _p(headline)
    gauges = v.benchmark.get("gauges") or []
    if gauges:
        norms = " (illustrative norms)" if v.benchmark.get("illustrative") else ""
        body += "<h3>Percentile among other organisations" + html.escape(norms) + "</h3>"
        body += table_html(pd.DataFrame([{
            "component": g["label"], "score": g["score"], "percentile": g["percentile"],
            **{c["cut"]: f"{c['percentile']:.0f} of {c['n_orgs']}" for c in g["cuts"][1:]
               if c["percentile"] is not None}} for g in gauges]).fillna(""),
            float_format="{:.0f}")
        if v.benchmark.get("model"):
            body += _p(str(v.benchmark["model"]), "muted")
    body += "<h3>Departments and roles by component</h3>" + table_html(_groups_table(v),
                                                                          max_rows=60)
    body += "".join(_p(n, "muted") for n in v.notes)
    if v.benchmark.get("gaps"):
        body += "<h3>What drives the gap to the top quartile</h3><ol>" + "".join(
            f"<li>{html.escape(g)}</li>" for g in v.benchmark["gaps"]) + "</ol>"
    if v.trend:
        body += "<h3>Across waves</h3>" + figure_html(go.Figure(v.trend))
    if v.links:
        body += "<h3>Culture, performance and engagement</h3><ul>" + "".join(
            f"<li>{html.escape(w)}</li>" for w in v.links) + "</ul>"
    body += _kpi_links(ws, v)
    body += _psychometrics(read_report(ws, str(v.wave)), v)
    return Section(title="Market culture: how customer-focused the organisation is",
                   anchor="culture", summary=headline, body_html=body)
