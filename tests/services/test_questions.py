"""The five answers end to end on a small hand-made company (and with data missing)."""

from __future__ import annotations

import html
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from outsidein.services.questions import NAMES, answer_five_questions, read_answers
from outsidein.workspace import Workspace

N_CUSTOMERS = 400
DRAINERS = [f"C{i:04d}" for i in range(0, 400, 20)]  # 20 planted cost drainers
ADVOCATE = "C0001"


def make_company(ws: Workspace, *, service_costs: bool = True, referrals: bool = True,
                 prospects: bool = True, seed: int = 3) -> None:
    """Insert a small company with planted truths into the workspace's warehouse."""
    rng = np.random.default_rng(seed)
    wh = ws.warehouse()
    ids = [f"C{i:04d}" for i in range(N_CUSTOMERS)]
    industry = rng.choice(["software", "retail", "health"], N_CUSTOMERS, p=[0.2, 0.5, 0.3])
    customers = pd.DataFrame({
        "customer_id": ids, "first_seen": pd.Timestamp("2024-01-01"),
        "region": rng.choice(["north", "south", "east"], N_CUSTOMERS),
        "industry": industry,
        "company_size": rng.choice(["1-10", "10-50", "50-200"], N_CUSTOMERS),
        "age_band": None,
        "acquisition_channel": rng.choice(["web", "trade_show", "referral"], N_CUSTOMERS),
        "consent_email": True, "consent_sms": False,
        "nps": pd.array(rng.integers(0, 11, N_CUSTOMERS), dtype="Int64"), "is_stub": False,
    })
    wh.con.insert("customers", customers)
    products = pd.DataFrame({"product_id": ["P1", "P2", "P3"], "name": ["a", "b", "c"],
                             "product_type": ["hardware", "software", "service"],
                             "unit_cost": [60.0, 10.0, 30.0]})
    wh.con.insert("products", products)
    rows = []
    start = pd.Timestamp("2024-01-01")
    for i, cid in enumerate(ids):
        n = int(rng.poisson(12 if industry[i] == "software" else 3)) + 1
        for k in range(n):
            pid = rng.choice(["P1", "P2", "P3"], p=[0.3, 0.4, 0.3] if industry[i] == "software"
                             else [0.6, 0.1, 0.3])
            day = start + pd.Timedelta(days=int(rng.integers(0, 700)))
            rows.append((f"O{i}-{k}", cid, pid, day,
                         1, float(rng.uniform(80, 160)), 0.0, False))
    lines = pd.DataFrame(rows, columns=["order_id", "customer_id", "product_id", "ts", "quantity",
                                        "revenue", "discount", "is_return"])
    wh.con.insert("order_lines", lines)
    if service_costs:
        sc = []
        for cid in ids:
            sc.append((cid, start + pd.Timedelta(days=5), "delivery", 5.0))
            if cid in DRAINERS:
                for k in range(30):
                    sc.append((cid, start + pd.Timedelta(days=10 + k), "support", 60.0))
        wh.con.insert("service_costs", pd.DataFrame(sc, columns=["customer_id", "ts", "kind",
                                                                 "amount"]))
    if referrals:
        edges = [(ADVOCATE, f"C{i:04d}") for i in range(100, 110)]
        edges += [("C0100", f"C{i:04d}") for i in range(110, 114)]
        edges += [("C0050", "C0200")]
        refs = pd.DataFrame(edges, columns=["referrer_id", "referred_id"])
        refs["ts"] = pd.Timestamp("2024-06-01")
        wh.con.insert("referrals", refs)
    if prospects:
        m = 1200
        src = rng.choice(["trade_show", "web_form", "ads"], m)
        pv = rng.poisson(1.0, m)
        logit = -2.0 + 1.5 * (src == "trade_show") + 0.8 * pv
        conv = rng.random(m) < 1 / (1 + np.exp(-logit))
        pros = pd.DataFrame({
            "prospect_id": [f"R{i:05d}" for i in range(m)],
            "created": start + pd.to_timedelta(rng.integers(0, 600, m), unit="D"),
            "source": src, "region": rng.choice(["north", "south", "east"], m),
            "industry": rng.choice(["software", "retail", "health"], m),
            "company_size": rng.choice(["1-10", "10-50", "50-200"], m), "age_band": None,
            "web_visits": rng.poisson(3, m), "pricing_visits": pv, "email_opens": rng.poisson(2, m),
            "converted_customer_id": [f"X{i}" if c else None for i, c in enumerate(conv)],
        })
        wh.con.insert("prospects", pros)


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    ws = Workspace.init(tmp_path_factory.mktemp("company") / "ws")
    make_company(ws)
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def answers(company: Workspace):
    return answer_five_questions(company, top_n=10)


def test_every_answer_has_headline_rows_reasons_and_next_action(answers) -> None:
    assert [a.name for a in answers] == list(NAMES)
    for a in answers:
        assert a.missing_data is None, a.missing_data
        assert a.headline and a.next_action is not None
        assert len(a.rows) > 0 and "reason" in a.rows.columns
        assert a.rows["reason"].notna().all()
        assert a.figure is not None


def test_planted_cost_drainers_rank_first(answers) -> None:
    rows = answers["cost_to_serve"].rows
    assert set(rows["customer_id"].head(10)) <= set(DRAINERS)
    assert "support" in rows["reason"].iloc[0]
    na = answers["cost_to_serve"].next_action
    assert na.count >= len(DRAINERS) * 0.8 and na.amount > 0
    assert "review service terms" in na.text


def test_advocate_with_deepest_tree_comes_first(answers) -> None:
    top = answers["advocates"].rows.iloc[0]
    assert top["customer_id"] == ADVOCATE
    assert top["tree_size"] == 14 and top["depth"] == 2
    assert "referred 10 customers" in top["reason"]


def test_value_answer_has_whale_curve_and_drivers(answers) -> None:
    a = answers["value"]
    assert 0 < a.figures["top_decile_share"] <= 1
    drivers = a.tables["drivers"]
    orders = drivers.set_index("driver").loc["orders in the period"]
    assert orders["top_decile"] > orders["rest"]


def test_conversion_reasons_in_words(answers) -> None:
    a = answers["likely_converts"]
    assert 0.6 < a.figures["auc"] <= 1
    assert a.rows["probability"].is_monotonic_decreasing
    text = " ".join(a.rows["reason"])
    assert "trade show" in text or "pricing" in text


def test_json_file_and_tables_are_written(company: Workspace, answers) -> None:
    doc = read_answers(company).to_dict()
    assert doc["version"] == 1 and set(doc["answers"]) == set(NAMES)
    ct = doc["answers"]["cost_to_serve"]
    assert ct["next_action"]["count"] == answers["cost_to_serve"].next_action.count
    assert ct["plot"]["data"]
    json.dumps(doc, allow_nan=False)
    wh = company.warehouse()
    for a in answers:
        assert wh.has_table(a.table)
    n = int(wh.table("answer_cost_to_serve").count().execute())
    assert n == answers["cost_to_serve"].next_action.count


def test_insights_for_the_hub(answers) -> None:
    ins = answers.insights()
    assert {i.key for i in ins} == {f"five_questions.{n}" for n in NAMES}
    for i in ins:
        assert i.title and i.statement and i.departments
        assert i.priority in ("high", "medium", "low")
        assert i.evidence["figures"]


def test_missing_inputs_say_what_to_load(tmp_path) -> None:
    ws = Workspace.init(tmp_path / "bare")
    try:
        make_company(ws, service_costs=False, referrals=False, prospects=False)
        res = answer_five_questions(ws)
        assert res["value"].missing_data is None
        assert "outsidein load service_costs FILE" in res["cost_to_serve"].missing_data
        assert "outsidein load referrals FILE" in res["advocates"].missing_data
        assert "outsidein load prospects FILE" in res["ideal_prospects"].missing_data
        assert "outsidein load prospects FILE" in res["likely_converts"].missing_data
        doc = read_answers(ws).to_dict()
        assert doc["answers"]["advocates"]["missing_data"].startswith("no referrals loaded")
    finally:
        ws.close()


# -- the adapters: CLI and report (run last: they release the module's warehouse) -------

OUTSIDEIN = Path(sys.executable).parent / "outsidein"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTSIDEIN_")}
    return subprocess.run([str(OUTSIDEIN), *args], capture_output=True, text=True,
                          env={**env, "COLUMNS": "200"}, timeout=300)


def test_cli_answer_json_is_the_documented_layout(company: Workspace, answers) -> None:
    company.close()  # the CLI process opens the warehouse file itself
    r = run_cli("--workspace", str(company.root), "answer", "--json", "--top", "3")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["version"] == 1 and doc["top_n"] == 3
    assert list(doc["answers"]) == list(NAMES)
    for a in doc["answers"].values():
        assert {"question", "headline", "missing_data", "figures", "next_action", "rows",
                "tables", "table", "departments", "priority"} <= set(a)
        assert "plot" not in a and 0 < len(a["rows"]) <= 3
        assert a["rows"][0]["rank"] == 1
    saved = read_answers(company).to_dict()
    saved_costs = saved["answers"]["cost_to_serve"]["figures"]
    assert saved_costs == doc["answers"]["cost_to_serve"]["figures"]
    assert saved["answers"]["value"]["plot"]["data"]


def test_cli_answer_prints_headlines_and_next_actions(company: Workspace) -> None:
    company.close()
    r = run_cli("--workspace", str(company.root), "answer", "--top", "2")
    assert r.returncode == 0, r.stderr
    for question in ("most valuable", "cost more time", "advocates", "ideal prospects",
                     "most likely to become customers"):
        assert question in r.stdout
    assert "next: review service terms for these" in r.stdout


def test_cli_answer_bad_date_is_one_red_line(company: Workspace) -> None:
    r = run_cli("--workspace", str(company.root), "answer", "--from", "31/12/2024")
    assert r.returncode == 2
    assert "expected a date like 2025-01-31" in r.stderr and "Traceback" not in r.stderr


def test_report_section_shows_the_same_numbers(company: Workspace) -> None:
    from outsidein.report.sections.five_questions import five_questions_section

    doc = read_answers(company).to_dict()
    section = five_questions_section(company)
    assert section is not None and section.anchor == "five-questions"
    for a in doc["answers"].values():
        assert html.escape(a["headline"]) in section.body_html
        assert html.escape(a["next_action"]["text"]) in section.body_html
    assert section.body_html.count("plotly-graph-div") >= 5


def test_report_section_absent_before_answering(tmp_path: Path) -> None:
    from outsidein.report.sections.five_questions import five_questions_section

    ws = Workspace.init(tmp_path / "empty")
    try:
        assert five_questions_section(ws) is None
    finally:
        ws.close()


def test_results_read_well_in_a_notebook(answers) -> None:
    table = answers.to_pandas()
    assert table["name"].tolist() == list(NAMES)
    assert table["missing_data"].isna().all()
    assert "cost_to_serve" in repr(answers)
    html_text = answers._repr_html_()
    assert "review service terms" in html_text and "<table" in html_text
