"""The per-customer summary on small hand-checked histories."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from outsidein.errors import DataValidationError
from outsidein.warehouse.summary import (
    compress,
    customer_summary,
    periods_from_days,
    purchase_periods,
    summary_from_periods,
)

ORDERS = pd.DataFrame({
    "customer_id": ["a", "a", "a", "a", "b", "c", "c"],
    "ts": pd.to_datetime(["2024-01-01 09:00", "2024-01-01 17:00", "2024-01-08 10:00",
                          "2024-01-15 12:00", "2024-01-10 00:00", "2024-01-03 00:00",
                          "2024-01-20 00:00"]),
    "revenue": [10.0, 5.0, 20.0, 30.0, 7.0, 4.0, 6.0],
})


@pytest.fixture
def orders():
    return ibis.memtable(ORDERS)


def by_customer(expr) -> pd.DataFrame:
    return expr.to_pandas().set_index("customer_id").sort_index()


def test_purchases_on_the_same_day_count_once(orders):
    s = by_customer(customer_summary(orders, observation_end="2024-01-22", time_unit="days"))
    a = s.loc["a"]
    assert a.frequency == 2  # Jan 1 (two lines), Jan 8, Jan 15
    assert a.recency == 14.0 and a["T"] == 21.0
    assert a.monetary_value == 25.0  # mean of the repeat days 20 and 30; day one (15) excluded
    assert str(a.first_purchase) == "2024-01-01 09:00:00"
    b = s.loc["b"]
    assert (b.frequency, b.recency, b.monetary_value) == (0, 0.0, 0.0)


def test_weeks_are_days_over_seven_and_default_end_is_last_purchase(orders):
    days = by_customer(customer_summary(orders, time_unit="days"))
    weeks = by_customer(customer_summary(orders, time_unit="weeks"))
    assert days.loc["a", "T"] == 19.0  # last purchase in the data: 2024-01-20
    assert weeks.loc["a", "T"] == pytest.approx(19.0 / 7)


def test_calibration_and_holdout(orders):
    s = by_customer(customer_summary(orders, calibration_end="2024-01-08",
                                     holdout_end="2024-01-31", time_unit="days"))
    assert set(s.index) == {"a", "c"}  # b first bought after the calibration end
    a = s.loc["a"]
    assert (a.frequency, a["T"], a.frequency_holdout, a.monetary_value_holdout) == (1, 7.0, 1, 30.0)
    c = s.loc["c"]
    assert (c.frequency, c.frequency_holdout, c.monetary_value_holdout) == (0, 1, 6.0)
    assert s.duration_holdout.tolist() == [23.0, 23.0]


def test_weekly_periods(orders):
    s = by_customer(customer_summary(orders, freq="W", time_unit="weeks",
                                     observation_end="2024-01-22"))
    assert s.loc["a", "frequency"] == 2  # weeks of Jan 1, Jan 8, Jan 15
    assert s.loc["c", "frequency"] == 1  # Jan 3 and Jan 20 are in different weeks


def test_compress_counts_identical_triples(orders):
    more = pd.concat([ORDERS, ORDERS.assign(customer_id=ORDERS.customer_id + "2")])
    c = compress(customer_summary(ibis.memtable(more), observation_end="2024-01-22")).to_pandas()
    assert c.n.tolist() == [2, 2, 2]


def test_bad_arguments_are_clear(orders):
    with pytest.raises(DataValidationError, match="time_unit 'months'"):
        customer_summary(orders, time_unit="months")
    with pytest.raises(DataValidationError, match="needs column 'amount'"):
        customer_summary(orders, value_col="amount")
    with pytest.raises(DataValidationError, match="expected a date like 1997-09-30"):
        customer_summary(orders, calibration_end="30/09/97")


def reference_summary(df: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """lifetimes' conventions written plainly in pandas (days)."""
    days = df.assign(day=df.ts.dt.floor("D")).groupby(["customer_id", "day"]).revenue.sum()
    out = {}
    for cid, per in days.groupby(level=0):
        per = per.droplevel(0).sort_index()
        first, last = per.index[0], per.index[-1]
        f = len(per) - 1
        out[cid] = (f, (last - first).days, (end.floor("D") - first).days,
                    per.iloc[1:].mean() if f else 0.0)
    return pd.DataFrame.from_dict(out, orient="index",
                                  columns=["frequency", "recency", "T", "monetary_value"])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 60 * 24 * 40),
                          st.integers(1, 50_000)), min_size=1, max_size=40))
def test_matches_a_plain_reference_on_random_histories(lines):
    df = pd.DataFrame({
        "customer_id": [f"c{c}" for c, _, _ in lines],
        "ts": pd.Timestamp("2024-01-01") + pd.to_timedelta([m for _, m, _ in lines], "min"),
        "revenue": [cents / 100 for _, _, cents in lines],
    })
    end = pd.Timestamp("2024-03-01")
    got = by_customer(customer_summary(ibis.memtable(df), observation_end=end, time_unit="days"))
    want = reference_summary(df, end)
    assert got.frequency.tolist() == want.frequency.tolist()
    assert got.recency.tolist() == want.recency.astype(float).tolist()
    assert got["T"].tolist() == want["T"].astype(float).tolist()
    assert (got.recency <= got["T"]).all()
    assert ((got.monetary_value - want.monetary_value).abs() < 1e-9).all()


DAY = 24 * 60


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, DAY * 70),
                          st.integers(1, 50_000)), min_size=3, max_size=40),
       st.sampled_from(["D", "W"]), st.booleans())
@example([(0, 0, 100), (0, DAY, 250), (0, 10 * DAY, 400), (0, 20 * DAY + 5, 50),
          (0, 21 * DAY, 70), (1, 3 * DAY, 10)], "W", False)  # two days in one week, twice
def test_summary_from_rolled_up_days_equals_the_summary_of_the_lines(lines, freq, holdout):
    """What the warehouse's purchase_days rollup feeds the summary, for days and weeks."""
    df = pd.DataFrame({
        "customer_id": [f"c{c}" for c, _, _ in lines],
        "ts": pd.Timestamp("2024-01-03 05:00") + pd.to_timedelta([m for _, m, _ in lines], "min"),
        "revenue": [cents / 100 for _, _, cents in lines],
    })
    orders = ibis.memtable(df)
    p = purchase_periods(orders, freq="D")
    days = p.select(customer_id=p.customer_id, day=p.period, value_cents=p.value,
                    first_ts=p.first_ts, last_ts=p.last_ts)
    kw = ({"calibration_end": "2024-02-20", "holdout_end": "2024-03-10"} if holdout
          else {"observation_end": "2024-03-15"})
    want = by_customer(customer_summary(orders, freq=freq, **kw))
    got = by_customer(summary_from_periods(periods_from_days(days, freq), freq=freq, **kw))
    pd.testing.assert_frame_equal(got, want)
