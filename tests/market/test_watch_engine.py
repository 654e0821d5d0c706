"""The change detector on series whose truth is known: planted shifts, seasonality, noise."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from outsidein.market.watch import ChangeDetector


def seasonal_rate(rng: np.random.Generator, days: int, *, level: float = 0.02,
                  customers: float = 3000.0, weekly: float = 0.2, yearly: float = 0.25,
                  trend: float = 0.0, shift_at: int | None = None,
                  shift: float = 1.0) -> np.ndarray:
    """A daily KPI as the business makes it: events / customers, with both seasons and noise.

    The expected rate swings +-*weekly* over the week and +-*yearly* over the year, drifts by
    *trend* a year, and is multiplied by *shift* from day *shift_at*; the events are Poisson.
    """
    t = np.arange(days)
    rate = (level * (1 + weekly * np.sin(2 * np.pi * t / 7))
            * (1 + yearly * np.sin(2 * np.pi * t / 365.25 + rng.uniform(0, 2 * np.pi)))
            * (1 + trend * t / 365.25))
    if shift_at is not None:
        rate = np.where(t >= shift_at, rate * shift, rate)
    return rng.poisson(rate * customers) / customers


def test_a_planted_shift_is_found_within_a_week_with_its_size():
    rng = np.random.default_rng(5)
    y = seasonal_rate(rng, 3 * 365, shift_at=800, shift=0.7)
    det = ChangeDetector().fit(y)
    assert len(det.changes_) == 1, [c.to_dict() for c in det.changes_]
    c = det.changes_[0]
    assert abs(c.at - 800) <= 7
    assert c.direction == "down"
    assert c.at <= c.detected and (c.alarm is None or c.at <= c.alarm <= c.detected)
    # planted: -30%; the relative change compares the 6 weeks each side, where the yearly
    # swing moves the level a little too
    assert -0.4 < c.relative < -0.2


def test_a_rise_in_a_weekly_series_is_found_in_its_week():
    rng = np.random.default_rng(8)
    weeks = 104
    y = rng.poisson(200 * np.where(np.arange(weeks) >= 70, 1.3, 1.0)) / 1000
    det = ChangeDetector(period=1, baseline=8, min_after=13, window=13, alpha=1e-3).fit(y)
    assert [(c.at, c.direction) for c in det.changes_] == [(70, "up")]


def test_unchanged_seasonal_series_raise_almost_no_alarm():
    """40 series x 3 years with weekly and yearly seasons and a slow trend: false alarms.

    benchmarks/bench_market_watch.py counts them over many more series and reports the rate.
    """
    rng = np.random.default_rng(2026)
    alarms = 0
    for _ in range(40):
        y = seasonal_rate(rng, 3 * 365, trend=rng.uniform(-0.15, 0.15),
                          customers=rng.choice([1000.0, 3000.0, 20000.0]))
        alarms += len(ChangeDetector().fit(y).changes_)
    assert alarms / (40 * 3) <= 0.05, f"{alarms} false alarms in 120 series-years"


def test_a_storm_of_three_days_is_not_a_change():
    rng = np.random.default_rng(3)
    y = seasonal_rate(rng, 730, yearly=0.0)
    y[400:403] *= 4.0  # three days at four times the rate, then back
    assert ChangeDetector().fit(y).changes_ == []


def test_a_slow_decline_is_not_a_step():
    rng = np.random.default_rng(4)
    y = seasonal_rate(rng, 730, yearly=0.0, trend=-0.3, customers=50000.0)
    assert ChangeDetector().fit(y).changes_ == []


def test_gaps_are_skipped_and_a_score_near_zero_uses_an_absolute_change():
    rng = np.random.default_rng(6)
    y = rng.normal(2.0, 8.0, 700)  # an NPS-like score around 2 points
    y[450:] += 25.0
    y[rng.choice(700, 60, replace=False)] = np.nan
    det = ChangeDetector(min_abs=10.0).fit(y)
    assert len(det.changes_) == 1 and abs(det.changes_[0].at - 450) <= 7


def test_estimator_contract():
    det = ChangeDetector(h=12.0)
    assert clone(det).get_params()["h"] == 12.0
    with pytest.raises(NotFittedError):
        det.check_fitted()
    assert ChangeDetector().fit(np.ones(30)).changes_ == []  # too short to watch: no alarm
    with pytest.raises(ValueError, match="one series"):
        ChangeDetector().fit(np.ones((10, 2)))
