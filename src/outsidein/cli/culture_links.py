"""``outsidein culture kpi-links``: the culture scores against the company's customer KPIs.

The same figures as the ``kpi_links`` key of ``outsidein culture report --wave W --json``
(:mod:`outsidein.services.culture.kpi_links`), without running the psychometrics: per wave,
the workspace's organisation's score against the repeat rate, CLV and NPS of the customers in
the days after the wave closed; per department mapped to a slice of customers
(``[culture.kpi_links.departments]`` in outsidein.toml), its score against its slice's KPIs.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from outsidein.cli._common import JSON_OPTION, console, print_json, workspace

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add ``kpi-links`` to ``outsidein culture``."""
    app.command("kpi-links")(kpi_links_cmd)


def _kpi(p: dict[str, Any], key: str) -> str:
    k = (p.get("kpis") or {}).get(key)
    return "" if not k or k["value"] is None else f"{k['display']} ({k['customers']:,})"


def kpi_links_cmd(
    ctx: typer.Context,
    wave: Annotated[str | None, typer.Option(
        "--wave", help="the waves up to this one (default: every wave with answers)")] = None,
    org: Annotated[str | None, typer.Option(
        help="the organisation (default: [culture] org, else the first added)")] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Culture scores of waves and departments against repeat rate, CLV and NPS afterwards.

    Each closed wave's score is set against the KPIs of the customers who bought in the days
    after it closed ([culture.kpi_links] days, default 90); each department mapped to a slice
    of customers in [culture.kpi_links.departments] against its slice's.  Department scores
    follow the anonymity rules (5 respondents or more).
    """
    from outsidein.services.culture.kpi_links import kpi_links  # loaded when run (start-up)

    ws = workspace(ctx)
    try:
        found = kpi_links(ws, upto=wave, org=org)
    finally:
        ws.close()
    if as_json:
        print_json(found.to_dict())
        return
    console.print(f"{found.org or 'no organisation'}: {found.score.replace('_', ' ')} against "
                  f"the customer KPIs of the {found.days} days after each wave (customers "
                  "counted in brackets)", highlight=False, markup=False)
    for title, points, key in (("waves", found.waves, None),
                               ("departments", found.departments, "department")):
        if not points:
            continue
        table = Table(title=title)
        for col in ([key] if key else []) + ["wave", "period", "respondents", "score",
                                              "repeat rate", "CLV", "NPS"]:
            table.add_column(col)
        for p in points:
            period = " to ".join(p.get("period") or []) or "-"
            score = f"{p['score']:.0f}" if p["score"] is not None else f"hidden: {p['reason']}"
            table.add_row(*([p[key]] if key else []), p["wave"], period, str(p["n"]), score,
                          _kpi(p, "repeat_rate"), _kpi(p, "clv"), _kpi(p, "nps"))
        console.print(table)
    for line in found.words + [f"note: {n}" for n in found.notes]:
        console.print(line, highlight=False, markup=False)
