"""Plain-words reasons, computed by the engine from a customer's numbers."""

from __future__ import annotations

import ibis
import pytest

from outsidein.value import reason_expr


def reasons(rows: list[dict], **kw) -> list[str]:
    cols = {k: [r[k] for r in rows] for k in rows[0]}
    t = ibis.memtable(cols)
    return t.select(reason=reason_expr(t, **kw)).to_pyarrow()["reason"].to_pylist()


def row(**kw) -> dict:
    base = {"frequency": 12, "recency": 36.0, "T": 36.0 + 5 / 7, "monetary_value": 84.2,
            "prob_alive": 0.92, "expected_purchases": 4.24, "value_decile": 1}
    return {**base, **kw}


def test_a_top_customer_reads_like_a_sentence() -> None:
    assert reasons([row()]) == [
        "top 10% by value: buys every 3 weeks, average order $84, last seen 5 days ago, "
        "92% likely still active, ~4.2 purchases expected in 52 weeks"]


@pytest.mark.parametrize(("frequency", "recency", "words"), [
    (0, 0.0, "bought once so far"),
    (30, 4.0, "buys almost daily"),
    (10, 10.0, "buys every 7 days"),
    (2, 4.0, "buys every 2 weeks,"),
    (2, 40.0, "buys every 5 months"),
])
def test_cadence(frequency: int, recency: float, words: str) -> None:
    (text,) = reasons([row(frequency=frequency, recency=recency, T=recency + 1)])
    assert words in text


@pytest.mark.parametrize(("days_ago", "words"), [
    (0, "last seen today"), (1, "last seen yesterday"), (20, "last seen 20 days ago"),
    (200, "last seen 7 months ago"), (800, "last seen 2 years ago"),
])
def test_last_seen(days_ago: int, words: str) -> None:
    (text,) = reasons([row(T=36.0 + days_ago / 7)])
    assert words in text


def test_ranks_and_spend_words() -> None:
    out = reasons([row(value_decile=d) for d in (1, 3, 6, 10)])
    assert [o.split(":")[0] for o in out] == [
        "top 10% by value", "top 30% by value", "bottom 50% by value", "bottom 10% by value"]
    once, refund = reasons([row(frequency=0, recency=0.0, monetary_value=0.0),
                            row(monetary_value=-12.0)])
    assert "average order" not in once and "average order" not in refund


def test_days_as_time_unit_and_currency() -> None:
    (text,) = reasons([row(recency=252.0, T=257.0, expected_purchases=4.0)],
                      time_unit="days", horizon_weeks=26, currency="€")
    assert "buys every 3 weeks, average order €84, last seen 5 days ago" in text
    assert text.endswith("~4.0 purchases expected in 26 weeks")


@pytest.mark.parametrize(("p", "words"), [
    (1.0, "over 99% likely still active"),
    (0.996, "over 99% likely still active"),
    (0.0001, "under 1% likely still active"),
    (None, "too little history to tell if still active"),
])
def test_an_estimate_never_reads_as_a_certainty(p: float | None, words: str) -> None:
    (text,) = reasons([row(prob_alive=p)])
    assert words in text and "100%" not in text and " 0% likely" not in text
