"""Answers that say what they do not know (issue 10).

Two small companies with the same customers and orders: one whose order lines
have no product cost (and a quarter of them no product id at all, as in CDNOW),
one with product costs and a household whose discounts exceed its sales.
Profit that is revenue must be called revenue, a run with a bad period must
leave the saved answers alone, the drivers of the top decile must be real
differences, and the degenerate whale curves must be said in plain words.
"""

from __future__ import annotations

import hashlib
import html
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from outsidein.cli import main
from outsidein.report.sections.five_questions import five_questions_section
from outsidein.services.questions import answer_five_questions, read_answers, result_path
from outsidein.services.questions import run as run_module
from outsidein.value import whale_curve, whale_words
from outsidein.workspace import Workspace

N = 600
UNIT_COST = 40.0  # every ordinary line: one unit, sold for 50 to 150, no discount
LOSER = "H0000"  # in the costed company: one line of 20 with a discount of 100


def _company(ws: Workspace, *, costs: bool, seed: int = 5) -> pd.DataFrame:
    """Customers, products and order lines inserted as they are; returns the order lines."""
    rng = np.random.default_rng(seed)
    ids = [f"H{i:04d}" for i in range(N)]
    industry = np.where(rng.random(N) < 0.2, "software", rng.choice(["retail", "health"], N))
    size = np.where(industry == "software", "10-50", "1-10").astype(object)
    size[np.flatnonzero(industry == "software")[:10]] = "enterprise"  # rare: under 30 top
    region = np.where(rng.random(N) < 0.5, "unknown", rng.choice(["north", "south"], N))
    wh = ws.warehouse()
    wh.con.insert("customers", pd.DataFrame({
        "customer_id": ids, "first_seen": pd.Timestamp("2024-01-01"), "region": region,
        "industry": industry, "company_size": size, "is_stub": False}))
    wh.con.insert("products", pd.DataFrame({
        "product_id": ["P0", "P1", "P2"], "name": ["free", "mug", "tea"],
        "product_type": ["gift", "home", "food"],
        "unit_cost": [0.0, UNIT_COST, UNIT_COST] if costs else [None, None, None]}))
    rows = []
    start = pd.Timestamp("2024-01-01")
    for i, cid in enumerate(ids):
        n = int(rng.poisson(10 if industry[i] == "software" else 2)) + 1
        for k in range(n):
            day = start + pd.Timedelta(days=int(rng.integers(0, 700)))
            pid = None if not costs and rng.random() < 0.25 else str(rng.choice(["P1", "P2"]))
            rows.append((f"O{i}-{k}", cid, pid, day, 1, round(float(rng.uniform(50, 150)), 2),
                         0.0, False))
    lines = pd.DataFrame(rows, columns=["order_id", "customer_id", "product_id", "ts",
                                        "quantity", "revenue", "discount", "is_return"])
    if costs:  # the grocery household: its one line's discount exceeds its sales by 80
        lines = lines[lines["customer_id"] != LOSER]
        lines = pd.concat([lines, pd.DataFrame([("L0", LOSER, "P0", start + pd.Timedelta(
            days=30), 1, 20.0, 100.0, False)], columns=lines.columns)], ignore_index=True)
    wh.con.insert("order_lines", lines)
    return lines


def _thousands(x: float) -> str:
    return f"${x / 1e3:.0f}k"


@pytest.fixture(scope="module")
def uncosted(tmp_path_factory: pytest.TempPathFactory):
    ws = Workspace.init(tmp_path_factory.mktemp("uncosted") / "ws")
    lines = _company(ws, costs=False)
    answers = answer_five_questions(ws, top_n=5)
    yield ws, lines, answers
    ws.close()


@pytest.fixture(scope="module")
def costed(tmp_path_factory: pytest.TempPathFactory):
    ws = Workspace.init(tmp_path_factory.mktemp("costed") / "ws")
    lines = _company(ws, costs=True)
    answers = answer_five_questions(ws, top_n=5)
    yield ws, lines, answers
    ws.close()


# -- 1. profit is not revenue ---------------------------------------------------------------


def test_without_product_costs_the_value_answer_speaks_of_revenue(uncosted) -> None:
    ws, lines, answers = uncosted
    a = answers["value"]
    total = lines["revenue"].sum()
    assert "the top 10% of customers by revenue (no product costs loaded) made" in \
        a.headline.lower()
    assert f"of the {_thousands(total)} revenue" in a.headline
    assert "profit" not in a.headline.lower() and "profit" not in a.title.lower()
    assert a.value_basis == "revenue"
    caveat = " ".join(a.caveats)
    assert "'profit' here is revenue" in caveat
    assert "load products with unit_cost" in caveat and "margin_rate" in caveat
    assert a.rows["reason"].str.contains("net revenue").all()


def test_the_saved_answers_and_the_report_say_revenue(uncosted) -> None:
    ws, _, _ = uncosted
    doc = read_answers(ws).to_dict()
    assert doc["value_basis"] == "revenue"
    value = doc["answers"]["value"]
    assert value["value_basis"] == "revenue"
    assert any("no product cost" in c for c in value["caveats"])
    section = five_questions_section(ws)
    assert "Profit is revenue here" in section.body_html
    assert html.escape(value["caveats"][0]) in section.body_html
    insight = next(i for i in answers_insights(ws) if i.key == "five_questions.value")
    assert any("load products with unit_cost" in c for c in insight.evidence["caveats"])


def test_the_value_section_says_clv_is_revenue_without_costs(uncosted) -> None:
    from outsidein.report.sections.value import value_section
    from outsidein.services.value import company_margin, score_value

    ws, _, _ = uncosted
    assert company_margin(ws.warehouse()).value_word == "revenue"
    score_value(ws, horizon_weeks=52)
    section = value_section(ws)
    assert "in discounted revenue (no product costs: not profit" in section.summary
    assert "it is expected revenue, not profit" in section.body_html
    assert "margin_rate" in section.body_html


def answers_insights(ws: Workspace):
    from outsidein.services.questions import answer_insight

    return [answer_insight(a) for a in read_answers(ws) if not a.missing_data]


def test_with_product_costs_the_value_answer_speaks_of_profit(costed) -> None:
    _, lines, answers = costed
    a = answers["value"]
    ordinary = lines[lines["customer_id"] != LOSER]
    total = (ordinary["revenue"] - UNIT_COST).sum() - 80.0
    assert "the top 10% of customers by profit made" in a.headline.lower()
    assert f"of the {_thousands(total)} profit" in a.headline
    assert a.value_basis == "margin" and a.caveats == ()
    assert read_answers(costed[0]).value_basis == "margin"


def test_a_margin_rate_turns_revenue_into_estimated_profit(uncosted, tmp_path: Path) -> None:
    src, lines, _ = uncosted
    src.close()  # a copy of the workspace (its value model included), with a margin rate
    root = Path(shutil.copytree(src.root, tmp_path / "ws"))
    toml = root / "outsidein.toml"
    toml.write_text(toml.read_text().replace('time_unit = "weeks"',
                                             'time_unit = "weeks"\nmargin_rate = 0.25'))
    ws = Workspace.open(root)
    try:
        a = answer_five_questions(ws, top_n=3)["value"]
        total = 0.25 * lines["revenue"].sum()
        assert f"of the {_thousands(total)} profit" in a.headline
        assert a.value_basis == "margin"
        assert any("estimated from margin_rate = 25%" in c for c in a.caveats)
        from outsidein.services.value import company_margin
        margin = company_margin(ws.warehouse(), ws.config.margin_rate)
        assert margin.rate == pytest.approx(0.25) and margin.value_word == "margin"
    finally:
        ws.close()


# -- 5. product analyses skip lines without a product id --------------------------------------


def test_lines_without_a_product_id_are_skipped_and_counted(uncosted) -> None:
    _, lines, answers = uncosted
    skipped = int(lines["product_id"].isna().sum())
    assert skipped > 100
    a = answers["value"]
    assert f"{skipped:,} order lines without a product id were skipped" in " ".join(a.caveats)
    assert a.figures["order_lines_without_product"] == skipped
    # the product types are still compared, on the lines that have one
    assert "bought home" in set(a.tables["drivers"]["driver"])


# -- 3. what sets the top decile apart ---------------------------------------------------------


def test_drivers_are_real_differences_ranked_by_a_stated_effect(costed) -> None:
    _, _, answers = costed
    d = answers["value"].tables["drivers"].set_index("driver")
    # the planted truth: software customers order five times as often
    assert d.loc["industry: software", "top_decile"] > 0.5 > d.loc["industry: software", "rest"]
    assert d.loc["orders in the period", "top_decile"] > d.loc["orders in the period", "rest"]
    # no filler: unknown values, constant measures (no cost to serve loaded), thin support
    assert not any("unknown" in s for s in d.index)
    assert "cost to serve" not in d.index
    assert "company size: enterprise" not in d.index  # 10 customers: under the support
    assert (d["top_customers"] >= 30).all()
    assert d["effect"].abs().is_monotonic_decreasing
    assert set(d["effect_size"]) <= {"standardized mean difference (Cohen's d)",
                                     "standardized difference in share (Cohen's h)"}
    shown = " ".join(d[["top_text", "rest_text", "difference_text"]].to_numpy().ravel())
    assert "e+" not in shown and "nan" not in shown.lower()
    assert d.loc["industry: software", "top_text"].endswith("%")


# -- 4. degenerate cases in words ---------------------------------------------------------------


def test_one_household_whose_discount_exceeds_its_sales(costed) -> None:
    _, _, answers = costed
    head = answers["value"].headline
    assert ("all but 1 customer are profitable; 1 customer's discounts exceed its sales, "
            "costing $80") in head
    assert "100% of the total" not in head and "the rest destroy" not in head


def _words(profits: list[float], **kw) -> str:
    return whale_words(whale_curve(profits).figures, **kw)


def test_whale_words_no_loss_makers() -> None:
    assert _words([50.0, 30.0, 20.0]) == "all 3 customers are profitable"
    assert _words([50.0, 0.0]) == "no customer loses money; 1 of the 2 break even"


def test_whale_words_one_loss_maker() -> None:
    text = _words([500.0, 300.0, -80.0], cause="discount")
    assert text == ("all but 1 customer are profitable; 1 customer's discounts exceed its "
                    "sales, costing $80")
    assert _words([500.0, -5.0]).endswith("1 customer loses money, costing $5")


def test_whale_words_a_real_whale() -> None:
    profits = [400.0] * 5 + [-50.0] * 20  # 2,000 made, 1,000 lost
    text = _words(profits, cause="cost_to_serve")
    assert text.startswith("profit peaks at 200% of the total with the best 20% of customers")
    assert "the 20 customers (80%) who lose money destroy $1.0k" in text
    assert text.endswith("mostly because they cost more to serve than their margin")


def test_whale_words_a_loss_too_small_to_show_on_the_curve() -> None:
    text = _words([1000.0] * 998 + [-1.0, -2.0])
    assert text == "all but 2 customers are profitable; those 2 lose money: $3 in total"


def test_whale_words_everyone_unprofitable() -> None:
    assert _words([-5.0, -15.0]) == "every customer loses money: $20 in total"
    assert _words([0.0, -15.0]) == "no customer is profitable: 1 of the 2 lose money, $15 in total"
    assert _words([10.0, -40.0]) == ("customers lose $30 in total: 1 customer makes $10 and "
                                     "1 loses $40")


def test_whale_words_a_single_customer() -> None:
    assert _words([120.0]) == "there is only one customer, who made $120 profit"
    assert _words([-7.0]) == "there is only one customer, who loses $7"


def test_whale_words_zero_totals() -> None:
    assert _words([0.0, 0.0, 0.0]) == "no customer made or lost any profit in the period"
    assert _words([]) == "no customer has orders in the period"
    assert _words([0.0, 0.0], basis="revenue") == \
        "no customer made or lost any revenue in the period"


# -- 2. periods -----------------------------------------------------------------------------------


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """``outsidein ARGS`` as a user runs it: exit code and what it printed."""
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out + out.err


def _fingerprint(ws: Workspace) -> tuple[str, dict[str, str]]:
    """The saved file's bytes and every answer table's content, as hashes."""
    text = result_path(ws).read_bytes()
    wh = ws.warehouse()
    tables = {}
    for name in ("answer_value", "answer_customer_profit"):
        df = wh.table(name).to_pyarrow().to_pandas()
        df = df.sort_values(list(df.columns[:2])).reset_index(drop=True)
        tables[name] = hashlib.sha256(df.to_csv().encode()).hexdigest()
    return hashlib.sha256(text).hexdigest(), tables


@pytest.mark.parametrize(("start", "end", "words"), [
    ("2025-06-01", "2024-06-01", "is reversed"),
    ("2024-06-01", "2024-06-01", "is empty"),
    ("2030-01-01", "2031-01-01", "no order lines in the period"),
])
def test_a_bad_period_exits_2_and_keeps_the_saved_answers(costed, capsys, start: str, end: str,
                                                          words: str) -> None:
    ws, _, _ = costed
    before = _fingerprint(ws)
    ws.close()  # the command opens the workspace itself
    code, out = _cli(capsys, "--workspace", str(ws.root), "answer", "--from", start, "--to", end)
    assert code == 2, out
    assert words in out and "nothing was changed" in out and "Traceback" not in out
    assert _fingerprint(ws) == before
    saved = json.loads(result_path(ws).read_text())
    assert "made 0% of the $0" not in saved["answers"]["value"]["headline"]


def test_a_run_that_fails_midway_replaces_nothing(costed, monkeypatch) -> None:
    ws, _, _ = costed
    before = _fingerprint(ws)

    def broken(inp, *, top_n):
        raise RuntimeError("a builder failed")

    monkeypatch.setattr(run_module, "BUILDERS", (*run_module.BUILDERS[:1], broken))
    with pytest.raises(RuntimeError, match="a builder failed"):
        answer_five_questions(ws, period_start=pd.Timestamp("2024-06-01").to_pydatetime())
    assert _fingerprint(ws) == before


def test_the_cli_prints_the_caveats(uncosted, capsys) -> None:
    ws, _, _ = uncosted
    ws.close()
    code, out = _cli(capsys, "--workspace", str(ws.root), "answer", "--top", "2")
    assert code == 0, out
    assert "note: 'profit' here is revenue" in out


def test_a_margin_rate_outside_0_to_1_is_one_clear_error(tmp_path: Path) -> None:
    from outsidein.errors import ConfigError

    ws = Workspace.init(tmp_path / "ws")
    ws.close()
    toml = ws.root / "outsidein.toml"
    toml.write_text(toml.read_text().replace('time_unit = "weeks"',
                                             'time_unit = "weeks"\nmargin_rate = 30'))
    with pytest.raises(ConfigError, match=r"margin_rate 30: expected a number from 0 to 1"):
        Workspace.open(ws.root)
