"""Ideal customer profile, the lookalike model and the conversion model on planted frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from outsidein.errors import DataValidationError, NotFittedError
from outsidein.value import (
    ConversionModel,
    LookalikeModel,
    calibration_table,
    feature_words,
    ideal_customer_profile,
    profile_reason,
)


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 6000
    df = pd.DataFrame({
        "region": rng.choice(["north", "south", "west"], n),
        "industry": rng.choice(["software", "retail", "health"], n),
        "company_size": rng.choice(["1-10", "10-50", "50-200"], n),
        "channel": rng.choice(["web", "trade_show"], n),
    })
    p = 0.04 + 0.25 * (df["industry"] == "software") + 0.15 * (df["channel"] == "trade_show")
    df["is_top"] = rng.random(n) < p
    return df


@pytest.fixture(scope="module")
def prospects() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    n = 8000
    df = pd.DataFrame({
        "source": rng.choice(["trade_show", "web_form", "ads"], n),
        "region": rng.choice(["north", "south"], n),
        "industry": rng.choice(["software", "retail"], n),
        "company_size": rng.choice(["1-10", "50-200"], n),
        "web_visits": rng.poisson(2.5, n), "pricing_visits": rng.poisson(0.7, n),
        "email_opens": rng.poisson(2, n),
    })
    logit = (-2.5 + 1.3 * (df["source"] == "trade_show") + 0.7 * (df["company_size"] == "50-200")
             + 0.6 * df["pricing_visits"])
    p = 1 / (1 + np.exp(-logit.to_numpy()))
    return df, p, rng.random(n) < p


def test_profile_finds_over_represented_values_with_lift_and_confidence(customers) -> None:
    icp = ideal_customer_profile(customers, ["region", "industry", "company_size", "channel"])
    top2 = icp.head(2)
    assert set(zip(top2["attribute"], top2["value"], strict=True)) == {
        ("industry", "software"), ("channel", "trade_show")}
    row = icp.iloc[0]
    sub = customers[customers[row["attribute"]] == row["value"]]
    assert row["confidence"] == pytest.approx(sub["is_top"].mean())
    assert row["lift"] == pytest.approx(sub["is_top"].mean() / customers["is_top"].mean())
    assert (icp["lift"] > 1).all()


def test_profile_of_no_top_customers_is_empty(customers) -> None:
    icp = ideal_customer_profile(customers.assign(is_top=False), ["industry"])
    assert icp.empty


def test_lookalike_scores_profile_matches_highest(customers) -> None:
    m = LookalikeModel(attributes=("region", "industry", "company_size", "channel")).fit(
        customers, customers["is_top"])
    pros = pd.DataFrame({"industry": ["software", "retail"], "channel": ["trade_show", "web"],
                         "region": ["north", "north"], "company_size": ["1-10", "1-10"]})
    s = m.predict_proba(pros)
    assert s[0] > 3 * s[1]
    # unknown values and missing columns do not break scoring
    assert np.isfinite(m.predict_proba(pd.DataFrame({"industry": ["mining"]}))).all()
    icp = ideal_customer_profile(customers, ["industry", "channel"])
    assert profile_reason(pros.iloc[0], icp).startswith("like top customers: in software")


def test_lookalike_errors() -> None:
    with pytest.raises(NotFittedError):
        LookalikeModel().predict_proba(pd.DataFrame({"region": ["x"]}))
    with pytest.raises(DataValidationError, match="attributes"):
        LookalikeModel().fit(pd.DataFrame({"foo": [1, 2]}), [True, False])


def test_conversion_model_ranks_close_to_truth_and_is_calibrated(prospects) -> None:
    df, p, y = prospects
    tr, te = slice(0, 6000), slice(6000, None)
    m = ConversionModel(num_threads=1).fit(df.iloc[tr], y[tr])
    q = m.predict_proba(df.iloc[te])
    auc, true_auc = roc_auc_score(y[te], q), roc_auc_score(y[te], p[te])
    assert auc > true_auc - 0.03
    cal = calibration_table(q, y[te], bins=5)
    assert np.abs(cal["predicted"] - cal["observed"]).max() < 0.08
    assert (q >= 0).all() and (q <= 1).all()


def test_conversion_reasons_name_the_planted_drivers_in_words(prospects) -> None:
    df, _, y = prospects
    m = ConversionModel(num_threads=1).fit(df, y)
    best = df[(df["source"] == "trade_show") & (df["company_size"] == "50-200")
              & (df["pricing_visits"] == 2)].head(3)
    for reason in m.reasons(best):
        assert "from the trade show" in reason
        assert "visited pricing twice" in reason or "company size 50-200" in reason
    contrib = m.contributions(best)
    assert list(contrib.columns) == m.features_


def test_conversion_model_needs_both_outcomes(prospects) -> None:
    df, _, _ = prospects
    with pytest.raises(DataValidationError, match="converted"):
        ConversionModel().fit(df, np.zeros(len(df), dtype=bool))
    with pytest.raises(NotFittedError):
        ConversionModel().predict_proba(df)
    with pytest.raises(DataValidationError, match="calibration"):
        ConversionModel(calibration="magic").fit(df.head(400), np.arange(400) % 3 == 0)


@pytest.mark.parametrize(("feature", "value", "words"), [
    ("source", "trade_show", "from the trade show"),
    ("pricing_visits", 2, "visited pricing twice"),
    ("pricing_visits", 1, "visited pricing once"),
    ("web_visits", 0, "never visited the website"),
    ("email_opens", 3, "opened 3 e-mails"),
    ("company_size", "50-200", "company size 50-200"),
    ("channel", "trade_show", "came via trade show"),
    ("industry", None, "no industry recorded"),
])
def test_feature_words(feature: str, value: object, words: str) -> None:
    assert feature_words(feature, value) == words


def test_conversion_model_scores_unseen_values(prospects) -> None:
    df, _, y = prospects
    m = ConversionModel(num_threads=1, n_estimators=20).fit(df, y)
    new = df.head(3).assign(source=["podcast", None, "trade_show"])
    p = m.predict_proba(new)
    assert np.isfinite(p).all() and len(m.reasons(new)) == 3
