"""The whole chain a user runs with `make demo`: data -> analyses -> insights -> report."""

from __future__ import annotations

import pytest

from outsidein.demo.accounts import seed_demo_people
from outsidein.services.pipeline import run_analyses
from outsidein.store.db import session_scope
from outsidein.workspace import Workspace


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    from outsidein.demo.company import generate_demo

    ws = Workspace.init(tmp_path_factory.mktemp("pipeline") / "ws")
    generate_demo(ws, customers=1500, seed=11)
    seed_demo_people(ws)
    first = run_analyses(ws)
    second = run_analyses(ws)
    yield ws, first, second
    ws.close()


def test_every_step_runs_on_the_demo_company(analysed):
    _, first, _ = analysed
    assert [s.name for s in first.steps] == ["value", "five_questions", "sense",
                                              "market_segments", "market_watch",
                                              "market_context", "culture",
                                              "insights"]
    assert {s.status for s in first.steps} == {"ok"}, first.to_dict()


def test_answers_reach_the_departments_as_insights_once(analysed):
    from outsidein.services.share import list_insights

    ws, _, _ = analysed
    with session_scope(ws.store_url) as s:
        insights = [i for i in list_insights(s) if i.key and i.key.startswith("five_questions.")]
        assert len(insights) == 5
        # running the unchanged analyses again adds no version to acknowledge
        assert all(i.version == 1 for i in insights)
        marketing = list_insights(s, department="marketing")
        assert marketing, "marketing is addressed by at least one answer"
        market = [i for i in list_insights(s) if i.key and i.key.startswith("market.")]
        assert market and all(i.version == 1 for i in market)


def test_report_has_a_section_per_capability(analysed):
    from outsidein.report.html import build_report

    ws, _, _ = analysed
    page = build_report(ws).read_text()
    for anchor in ('id="data"', 'id="value"', 'id="share"', "five crucial questions",
                   'id="market-segments"'):
        assert anchor.lower() in page.lower(), anchor


def test_publishing_without_an_advocate_says_how_to_add_one(tmp_path):
    from outsidein.errors import MissingDataError
    from outsidein.services.publish import publish_analysis_insights
    from outsidein.services.share import InsightDraft

    ws = Workspace.init(tmp_path / "empty")

    class Result:
        def insights(self):
            return [InsightDraft(key="k", title="t", statement="s", evidence={},
                                 departments=("sales",), priority="high")]

    with pytest.raises(MissingDataError, match="outsidein user add"):
        publish_analysis_insights(ws, {"x": Result()})
    ws.close()
