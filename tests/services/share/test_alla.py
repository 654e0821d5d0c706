"""Ask, Listen, Learn, Act: from a question to a measured outcome, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from outsidein.errors import DataValidationError, NotFoundError
from outsidein.services.share import (
    act,
    alla_board,
    ask,
    export_audit_log,
    learn,
    list_actions,
    listen,
    publish_insight,
    record_outcome,
)
from outsidein.store.db import session_scope

NOW = datetime(2026, 5, 1, 12, 0)


def _insight(s, key: str, title: str) -> int:
    return publish_insight(s, title=title, statement="What customers told us.", evidence={},
                           owner_email="ada@acme.example", departments=["service"], key=key,
                           now=datetime(2026, 3, 1)).id


def test_question_is_followed_to_successes_failures_open_and_overdue(org):
    with session_scope(org.url) as s:
        q = ask(s, text="Why do first-time buyers not come back?", audience="one-time buyers",
                channel="phone interviews", asked_by_email="ada@acme.example")
        listen(s, question_id=q.id, summary="Delivery took too long; nobody said thank you.",
               evidence={"interviews": 24, "mentions_delivery": 15}, source="call centre")
        ins = _insight(s, "repeat", "Slow first delivery loses repeat buyers")
        learn(s, question_id=q.id, insight_id=ins, note="15 of 24 mention delivery")
        learn(s, question_id=q.id, insight_id=ins)  # once per pair
        up = act(s, insight_id=ins, title="Welcome call", owner_email="carol@acme.example",
                 department="service", due=date(2026, 4, 1), kpi="90-day repeat rate",
                 kpi_baseline=0.18, kpi_target=0.25, now=datetime(2026, 3, 2))
        down = act(s, insight_id=ins, title="Ship first orders express",
                   owner_email="carol@acme.example", department="service", due="2026-04-15",
                   kpi="days to first delivery", kpi_baseline=5, kpi_target=2)
        act(s, insight_id=ins, title="Thank-you card", owner_email="alice@acme.example",
            department="sales", due=date(2026, 4, 20), kpi="NPS", kpi_baseline=20, kpi_target=30)
        act(s, insight_id=ins, title="Loyalty FAQ", owner_email="alice@acme.example",
            department="sales", due=date(2026, 6, 1), kpi="NPS", kpi_baseline=20, kpi_target=30)
        good = record_outcome(s, action_id=up.id, kpi_value=0.21, measured_at="2026-07-01",
                              note="after one quarter")
        bad = record_outcome(s, action_id=down.id, kpi_value=6, measured_at=date(2026, 6, 1))
        other = _insight(s, "analysis", "From the five questions")
        act(s, insight_id=other, title="Price review", owner_email="dave@acme.example",
            department="finance", due=date(2026, 9, 1), kpi="margin", kpi_baseline=0.1,
            kpi_target=0.12)
    assert good.success and good.progress == pytest.approx(3 / 7)
    assert not bad.success and bad.progress == pytest.approx(-1 / 3)
    with session_scope(org.url) as s:
        board = alla_board(s, now=NOW)
        statuses = {a.title: a.status for a in list_actions(s, now=NOW)}
        audit = export_audit_log(s, "csv")
    assert (board.questions, board.heard, board.insights, board.actions) == (1, 1, 2, 5)
    assert (board.successes, board.failures, board.open, board.overdue) == (1, 1, 2, 1)
    assert statuses == {"Welcome call": "succeeded", "Ship first orders express": "failed",
                        "Thank-you card": "overdue", "Loyalty FAQ": "open",
                        "Price review": "open"}
    first, rest = board.chains
    assert first.question.text.startswith("Why do first-time buyers")
    assert first.heard[0].evidence == {"interviews": 24, "mentions_delivery": 15}
    assert [ln.insight_title for ln in first.learnings] == [
        "Slow first delivery loses repeat buyers"]
    assert len(first.actions) == 4
    assert rest.question is None and [a.title for a in rest.actions] == ["Price review"]
    assert "success: KPI 0.21" in audit and "failure: KPI 6" in audit
    assert board.to_dict()["chains"][0]["actions"][0]["outcomes"][0]["success"] is True
    table = board.to_pandas()
    assert table.status.value_counts().to_dict() == {"open": 2, "succeeded": 1, "failed": 1,
                                                      "overdue": 1}


def test_a_later_outcome_can_turn_a_failure_into_a_success(org):
    with session_scope(org.url) as s:
        ins = _insight(s, "k", "Insight")
        a = act(s, insight_id=ins, title="Fix", owner_email="carol@acme.example",
                department="service", due=date(2026, 4, 1), kpi="complaints per week",
                kpi_baseline=40, kpi_target=20)
        record_outcome(s, action_id=a.id, kpi_value=41, measured_at="2026-04-10")
        record_outcome(s, action_id=a.id, kpi_value=30, measured_at="2026-05-10")
        [only] = list_actions(s, now=NOW)
    assert only.status == "succeeded" and [o.success for o in only.outcomes] == [False, True]


def test_bad_alla_input_is_refused_with_what_to_do(org):
    with session_scope(org.url) as s:
        ins = _insight(s, "k", "Insight")
        with pytest.raises(NotFoundError, match="question 99"):
            listen(s, question_id=99, summary="x")
        with pytest.raises(DataValidationError, match="expected a date like 2026-06-30"):
            act(s, insight_id=ins, title="t", owner_email="carol@acme.example",
                department="service", due="next week", kpi="k", kpi_baseline=1, kpi_target=2)
        with pytest.raises(DataValidationError, match="kpi_value 'lots'"):
            a = act(s, insight_id=ins, title="t", owner_email="carol@acme.example",
                    department="service", due="2026-06-30", kpi="k", kpi_baseline=1,
                    kpi_target=2)
            record_outcome(s, action_id=a.id, kpi_value="lots", measured_at="2026-07-01")
