"""Culture scores against the company's own customer KPIs (issue 14, "link to performance"):
the demo company's warehouse, plus imported waves whose department scores the test plants as
a straight line of each department's customers' repeat rate after the wave, computed here
with plain SQL.  The link must find the sign and cover the planted slope; four waves are
"too few"; a department of 3 respondents shows no score and is no point."""

from __future__ import annotations

import csv
import json
import math
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest
from typer.testing import CliRunner

from outsidein.cli import app as cli
from outsidein.culture.instrument import MO_COMPONENTS
from outsidein.errors import ConfigError
from outsidein.report.sections.culture import culture_section
from outsidein.services.culture.instrument import load_instrument
from outsidein.services.culture.kpi_links import CLV_TABLE, kpi_link_settings, kpi_links
from outsidein.services.value.scoring import CUSTOMER_VALUE
from outsidein.workspace import Workspace

INSTRUMENT = load_instrument()
IDS = [it.id for it in INSTRUMENT.items]
REGIONS = ("coast", "east", "north", "south", "west")
CLOSED = ("2024-03-31", "2024-07-31", "2024-11-30", "2025-04-30")
DAYS = 90
PEOPLE = 20
CONFIG = f"""
[culture]
org = "Demo Co"

[culture.kpi_links]
days = {DAYS}
min_customers = 20

[culture.kpi_links.departments]
{chr(10).join(f'"{r.title()} team" = {{ region = "{r}" }}' for r in REGIONS)}
"Partners" = {{ acquisition_channel = "partner" }}
"""


def repeat_rate(con: Any, region: str, closed: str) -> float:
    """Share of the region's buyers in the DAYS days after *closed* who bought on two days or
    more in that period (returns and zero quantities are not purchases)."""
    lo = date.fromisoformat(closed) + timedelta(days=1)
    hi = lo + timedelta(days=DAYS)
    return float(con.execute("""
        WITH d AS (SELECT DISTINCT customer_id, CAST(ts AS DATE) AS day FROM order_lines
                   WHERE NOT coalesce(is_return, false) AND quantity > 0
                     AND CAST(ts AS DATE) >= ? AND CAST(ts AS DATE) < ?),
             per AS (SELECT customer_id, count(*) AS n FROM d GROUP BY customer_id)
        SELECT avg(CASE WHEN n >= 2 THEN 1.0 ELSE 0.0 END)
        FROM per JOIN customers USING (customer_id) WHERE region = ?""",
        [lo, hi, region]).fetchone()[0])


def average_clv(con: Any, region: str, closed: str) -> float:
    """The mean predicted CLV of the region's buyers in the DAYS days after *closed*."""
    lo = date.fromisoformat(closed) + timedelta(days=1)
    return float(con.execute(f"""
        SELECT avg(v.clv) FROM (SELECT DISTINCT customer_id FROM order_lines
                                WHERE NOT coalesce(is_return, false) AND quantity > 0
                                  AND CAST(ts AS DATE) >= ? AND CAST(ts AS DATE) < ?) b
        JOIN customers USING (customer_id) JOIN {CUSTOMER_VALUE} v USING (customer_id)
        WHERE region = ?""", [lo, lo + timedelta(days=DAYS), region]).fetchone()[0])


def respondent(keyed: int, rng: np.random.Generator) -> dict[str, int]:
    """Every item answered *keyed* after reverse-keying, except that in each component one item
    goes one point up and another one down (the component's mean stays *keyed*)."""
    out: dict[str, int] = {}
    for comp in {it.component for it in INSTRUMENT.items}:
        items = [it for it in INSTRUMENT.items if it.component == comp]
        values = [keyed] * len(items)
        if comp in MO_COMPONENTS and len(items) >= 2 and rng.random() < 0.5:
            up, down = rng.choice(len(items), 2, replace=False)
            values[up] += 1
            values[down] -= 1
        for it, v in zip(items, values, strict=True):
            v = min(max(v, it.scale_min), it.scale_max)
            out[it.id] = it.scale_min + it.scale_max - v if it.reverse else v
    return out


@pytest.fixture(scope="module")
def planted(demo_ws: Workspace, tmp_path_factory: pytest.TempPathFactory
            ) -> tuple[Workspace, dict[str, Any]]:
    demo_ws.close()
    root = tmp_path_factory.mktemp("kpi-links") / "ws"
    shutil.copytree(demo_ws.root, root)
    with (root / "outsidein.toml").open("a", encoding="utf-8") as fh:
        fh.write(CONFIG)
    with duckdb.connect(str(root / "warehouse.duckdb")) as con:
        # a predicted CLV per customer, as 'outsidein value score' would leave it
        con.execute(f"CREATE TABLE {CUSTOMER_VALUE} AS SELECT customer_id, "
                    "100.0 + hash(customer_id) % 400 AS clv FROM customers")
        y = {(r, w): repeat_rate(con, r, w) for r in REGIONS for w in CLOSED}
        clv = {(r, w): average_clv(con, r, w) for r in REGIONS for w in CLOSED}
    lo, hi = min(y.values()), max(y.values())
    slope = (hi - lo) / 46  # score 27 at the lowest repeat rate, 73 at the highest
    rng = np.random.default_rng(14)
    runner = CliRunner()
    for i, closed in enumerate(CLOSED):
        path = root.parent / f"wave{i}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["org", "department", "role", *IDS, "comment"])
            for r in REGIONS:
                t = (27 + (y[(r, closed)] - lo) / slope) / 25  # the planted mean, in steps
                base = math.floor(t) + 1
                up = round((t - math.floor(t)) * PEOPLE)
                for k in range(PEOPLE):
                    a = respondent(base + (k < up), rng)
                    w.writerow(["Demo Co", f"{r.title()} team", "staff", *[a[i] for i in IDS],
                                ""])
            for _ in range(3):  # too few for a score
                a = respondent(3, rng)
                w.writerow(["Demo Co", "Partners", "staff", *[a[i] for i in IDS], ""])
        for args in (["import", f"w{i}", str(path)], ["close", f"w{i}", "--on", closed]):
            out = runner.invoke(cli, ["--workspace", str(root), "culture", *args])
            assert out.exit_code == 0, out.output
    ws = Workspace.open(root)
    yield ws, {"slope": slope, "y": y, "clv": clv}
    ws.close()


def test_department_scores_find_the_planted_repeat_rate_slope(planted: Any) -> None:
    ws, truth = planted
    r = CliRunner().invoke(cli, ["--workspace", str(ws.root), "culture", "kpi-links", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["org"] == "Demo Co" and out["days"] == DAYS
    link = out["departments"]["links"]["repeat_rate"]
    used = [p for p in out["departments"]["points"] if p["score"] is not None]
    assert link["n"] == len(used) >= 15  # Partners, and one team beside it, hidden
    assert link["slope"] > 0 and link["r"] > 0.9
    lo, hi = link["slope_ci"]
    assert lo <= truth["slope"] <= hi, (link, truth["slope"])
    assert link["words"].startswith(f"Across {link['n']} department-waves, 10 points more "
                                    "market orientation go with +")
    assert "percentage points of repeat rate" in link["words"]
    assert out["departments"]["links"]["clv"]["n"] == link["n"]  # CLV related too
    # the KPI the link used is the one computed here by plain SQL
    for p in used:
        region = p["slice"].split("=")[1]
        assert p["kpis"]["repeat_rate"]["value"] == pytest.approx(
            truth["y"][(region, CLOSED[int(p["wave"][1:])])], abs=1e-4)
        assert p["kpis"]["clv"]["value"] == pytest.approx(
            truth["clv"][(region, CLOSED[int(p["wave"][1:])])], abs=0.01)
        assert p["period"][0] == str(date.fromisoformat(CLOSED[int(p["wave"][1:])])
                                     + timedelta(days=1))


def test_four_waves_are_too_few_and_say_so(planted: Any) -> None:
    ws, _ = planted
    found = kpi_links(ws)
    assert [p["wave"] for p in found.waves] == ["w0", "w1", "w2", "w3"]
    assert all(p["kpis"]["repeat_rate"]["customers"] > 1000 for p in found.waves)
    words = found.wave_links["repeat_rate"].words
    assert words == ("Too few waves (4) to relate repeat rate to market orientation: at least "
                     "5 are needed.")
    assert math.isnan(found.wave_links["repeat_rate"].slope)
    nps = found.wave_links["nps"].words
    assert nps.startswith("Too few waves (4) to relate NPS")
    # up to the second wave only: two points
    assert kpi_links(ws, upto="w1").wave_links["repeat_rate"].n == 2


def test_a_department_under_five_respondents_has_no_score_anywhere(planted: Any) -> None:
    ws, _ = planted
    found = kpi_links(ws)
    partners = [p for p in found.departments if p["department"] == "Partners"]
    assert len(partners) == 4
    assert all(p["score"] is None and not p["shown"] and p["n"] == 3 for p in partners)
    assert any("Partners" in n for n in found.notes)
    section = culture_section(ws)
    assert section is not None and "Culture and the customers afterwards" in section.body_html
    assert "department-waves" in section.body_html
    # the page and the report show the same rows: Partners' never carries a number
    html = section.body_html[section.body_html.index("Culture and the customers afterwards"):]
    rows = html.split("<tr>")
    partners_rows = [r for r in rows if "<td>Partners</td>" in r]
    assert len(partners_rows) == 4
    assert all("<td>hidden: " in r for r in partners_rows)


def test_kpi_links_without_orders_or_with_a_bad_mapping(workspace: Workspace,
                                                        tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="region"):
        kpi_link_settings({"culture": {"kpi_links": {"departments": {"Sales": "region"}}}})
    with pytest.raises(ConfigError, match="unknown key"):
        kpi_link_settings({"culture": {"kpi_links": {"window": 90}}})
    assert kpi_links(workspace).notes == ["No wave has responses yet."]
    assert CLV_TABLE == CUSTOMER_VALUE  # the name culture reads is the one value writes
