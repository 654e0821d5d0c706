"""Offline policy evaluation: the published OBD figure, planted truths, coverage, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from outsidein.errors import DataValidationError
from outsidein.sense import PolicyValue, bernoulli_ts_action_dist, dm, dr, ipw, snipw
from outsidein.services.sense import evaluate_bts, read_obd

# ------------------------------------------------------------------ the published number

#: obp 0.5.7 README quickstart: IPW value of Bernoulli TS on the random log / the random
#: policy's click rate prints 1.198126...
PUBLISHED = 1.198126


@pytest.fixture(scope="module")
def obd(reference_data: Path) -> Path:
    path = reference_data / "obd"
    if not (path / "random").is_dir():
        pytest.skip(f"Open Bandit Dataset sample not found in {path}")
    return path


@pytest.mark.validation
def test_obp_quickstart_relative_value_of_bernoulli_ts_is_reproduced(obd: Path) -> None:
    result = evaluate_bts(obd)  # obp's seed (12345) and n_sim (100,000)
    # the same simulated draws as obp, so every printed digit agrees
    assert result.relative.estimate == pytest.approx(PUBLISHED, abs=1e-6)
    assert result.behavior_click_rate == pytest.approx(38 / 10_000)
    assert result.policy_value.estimator == "ipw"
    # the interval is about the estimate, not the click rate of the random policy
    assert result.relative.ci_low < PUBLISHED < result.relative.ci_high


@pytest.mark.validation
def test_other_simulation_seeds_land_near_the_published_value(obd: Path) -> None:
    # the TS distribution is a Monte Carlo estimate: other seeds move the third decimal
    # (sd ~0.005 over seeds), never by as much as a wrong estimator would
    values = [evaluate_bts(obd, policy_seed=s, n_bootstrap=10).relative.estimate
              for s in (1, 2, 3)]
    assert all(abs(v - PUBLISHED) < 0.02 for v in values)
    assert len({round(v, 6) for v in values}) == 3


@pytest.mark.validation
def test_interval_covers_the_click_rate_bernoulli_ts_actually_logged(obd: Path) -> None:
    # the bts folder is the same campaign run by the TS policy itself: its observed click
    # rate is the on-policy truth the off-policy estimate should be consistent with
    truth = read_obd(obd, "bts").click_rate
    value = evaluate_bts(obd, random_state=1).policy_value
    assert value.ci_low < truth < value.ci_high
    assert value.ci_high - value.ci_low < 0.01


# ------------------------------------------------------------------------- planted truth

N_TYPES, N_ACTIONS = 5, 4
#: true click probability of each (customer type, action)
Q = np.random.default_rng(0).uniform(0.05, 0.6, size=(N_TYPES, N_ACTIONS))
#: the target policy prefers the better actions: softmax of 4 q
PI = np.exp(4 * Q) / np.exp(4 * Q).sum(axis=1, keepdims=True)
#: its true value with types equally likely
TRUE_VALUE = float(np.mean(np.sum(PI * Q, axis=1)))
#: the uniform logging policy's value, which a broken reweighting would return
LOGGING_VALUE = float(Q.mean())


def planted(n: int, seed: int, scale: float = 1.0,
            balanced: bool = False) -> dict[str, np.ndarray]:
    """A log of a uniform policy over N_ACTIONS actions, rewards from Q * scale."""
    rng = np.random.default_rng(seed)
    x = np.arange(n) % N_TYPES if balanced else rng.integers(N_TYPES, size=n)
    a = rng.integers(N_ACTIONS, size=n)
    r = (rng.random(n) < scale * Q[x, a]).astype(float)
    return {"reward": r, "action": a, "pscore": np.full(n, 1 / N_ACTIONS),
            "action_dist": PI[x][:, :, None], "types": x}


def args(log: dict[str, np.ndarray], **extra: object) -> dict[str, object]:
    return {k: v for k, v in log.items() if k != "types"} | extra


def test_planted_truths_differ_enough_to_tell_the_policies_apart() -> None:
    assert TRUE_VALUE - LOGGING_VALUE > 0.05


@pytest.mark.parametrize("estimator", [ipw, snipw])
def test_reweighting_recovers_the_target_value_not_the_logging_value(estimator) -> None:
    log = planted(200_000, seed=1)
    value = estimator(**args(log), n_bootstrap=300, random_state=0)
    assert value.ci_low <= TRUE_VALUE <= value.ci_high
    assert value.ci_high - value.ci_low < 0.01
    assert not value.ci_low <= LOGGING_VALUE <= value.ci_high


def test_direct_method_is_exact_with_the_true_reward_model() -> None:
    log = planted(10_000, seed=2, balanced=True)  # every type equally often: no sampling error
    q = Q[log["types"]][:, :, None]
    value = dm(action_dist=log["action_dist"], estimated_rewards_by_reg_model=q,
               n_bootstrap=200, random_state=0)
    assert value.estimate == pytest.approx(TRUE_VALUE, abs=1e-12)
    assert value.ci_low <= TRUE_VALUE <= value.ci_high


def test_doubly_robust_with_the_true_model_is_unbiased() -> None:
    log = planted(200_000, seed=3)
    value = dr(**args(log, estimated_rewards_by_reg_model=Q[log["types"]][:, :, None]),
               n_bootstrap=300, random_state=0)
    assert value.ci_low <= TRUE_VALUE <= value.ci_high
    assert value.ci_high - value.ci_low < 0.01


def test_doubly_robust_survives_a_wrong_reward_model_when_propensities_are_right() -> None:
    log = planted(200_000, seed=4)
    wrong = np.full(log["action_dist"].shape, 0.5)  # a model that knows nothing
    direct = dm(action_dist=log["action_dist"], estimated_rewards_by_reg_model=wrong,
                n_bootstrap=300, random_state=0)
    robust = dr(**args(log, estimated_rewards_by_reg_model=wrong), n_bootstrap=300,
                random_state=0)
    assert abs(direct.estimate - TRUE_VALUE) > 0.05  # the model alone is wrong ...
    assert robust.ci_low <= TRUE_VALUE <= robust.ci_high  # ... the correction fixes it


def test_doubly_robust_survives_wrong_propensities_when_the_model_is_right() -> None:
    log = planted(200_000, seed=5)
    wrong_pscore = np.array([0.1, 0.2, 0.3, 0.4])[log["action"]]  # the log was uniform
    bad_log = log | {"pscore": wrong_pscore}
    reweighted = ipw(**args(bad_log), n_bootstrap=300, random_state=0)
    robust = dr(**args(bad_log, estimated_rewards_by_reg_model=Q[log["types"]][:, :, None]),
                n_bootstrap=300, random_state=0)
    assert not reweighted.ci_low <= TRUE_VALUE <= reweighted.ci_high  # IPW is misled ...
    assert robust.ci_low <= TRUE_VALUE <= robust.ci_high  # ... DR is not


@pytest.mark.parametrize(("estimator", "n", "scale"), [
    ("ipw", 2_000, 1.0),     # most rounds carry a reward: resampled indices
    ("ipw", 5_000, 0.05),    # rare rewards: resampled counts of the rewarded rounds
    ("dr", 2_000, 1.0),      # a wrong constant model
])
def test_interval_covers_the_truth_about_95_percent_of_the_time(estimator: str, n: int,
                                                                 scale: float) -> None:
    covered = 0
    for seed in range(200):
        log = planted(n, seed=1000 + seed, scale=scale)
        if estimator == "ipw":
            v = ipw(**args(log), n_bootstrap=400, random_state=seed)
        else:
            v = dr(**args(log, estimated_rewards_by_reg_model=np.full((n, N_ACTIONS, 1), 0.3)),
                   n_bootstrap=400, random_state=seed)
        covered += v.ci_low <= scale * TRUE_VALUE <= v.ci_high
    assert 0.90 <= covered / 200 <= 0.985


def test_positions_pick_the_target_probabilities_of_the_logged_slot() -> None:
    # slot 0: the target always shows action 0; slot 1: always action 1
    dist = np.zeros((4, 2, 2))
    dist[:, 0, 0] = 1.0
    dist[:, 1, 1] = 1.0
    value = ipw(reward=[1.0, 1.0, 0.0, 1.0], action=[0, 1, 0, 0], position=[0, 0, 1, 1],
                pscore=[0.5] * 4, action_dist=dist, n_bootstrap=50, random_state=0)
    # round 0 matches its slot (weight 2), round 1 does not, rounds 2-3 show action 0 in
    # slot 1, which the target never does
    assert value.estimate == pytest.approx(2.0 / 4)
    with pytest.raises(DataValidationError, match="position: required"):
        ipw(reward=[1.0] * 4, action=[0] * 4, pscore=[0.5] * 4, action_dist=dist)


def test_the_bootstrap_is_seeded_and_the_level_follows_alpha() -> None:
    log = planted(3_000, seed=6)
    a = ipw(**args(log), n_bootstrap=500, random_state=7)
    b = ipw(**args(log), n_bootstrap=500, random_state=7)
    wide = ipw(**args(log), n_bootstrap=500, random_state=7, alpha=0.01)
    assert (a.ci_low, a.ci_high) == (b.ci_low, b.ci_high)
    assert wide.ci_low < a.ci_low < a.estimate < a.ci_high < wide.ci_high
    assert "99% CI" in repr(wide)
    assert a.to_dict()["n_bootstrap"] == 500


def test_bernoulli_ts_distribution_ranks_by_belief() -> None:
    # three clearly separated beliefs: the order of the slots is the order of the means
    dist = bernoulli_ts_action_dist([900, 500, 100], [100, 500, 900], len_list=3, n_sim=2_000,
                                    n_rounds=5, random_state=0)
    assert dist.shape == (5, 3, 3)
    assert np.allclose(dist[0], np.eye(3))
    assert np.allclose(dist.sum(axis=1), 1.0)


# --------------------------------------------------------------------------- bad input

def _good() -> dict[str, object]:
    return {"reward": np.array([1.0, 0.0, 1.0]), "action": np.array([0, 1, 1]),
            "pscore": np.full(3, 0.5), "action_dist": np.full((3, 2, 1), 0.5)}


@pytest.mark.parametrize(("change", "message"), [
    ({"reward": np.array([1.0, 0.0])}, r"reward: expected 3 rounds .* got 2"),
    ({"pscore": np.array([0.5, 0.0, 0.5])}, r"pscore: expected logged propensities in \(0, 1\]"),
    ({"pscore": np.array([0.5, -0.1, 0.5])}, r"found 1 outside \(first at row 1"),
    ({"action_dist": np.full((3, 2, 1), 0.6)}, r"must sum to 1 .* sum 1\.2"),
    ({"action_dist": np.full((3, 2), 0.5)}, r"action_dist: expected shape \(n_rounds, n_actions"),
    ({"action": np.array([0, 2, 1])}, r"action: expected integers from 0 to 1"),
    ({"action": np.array([0.0, 1.0, 1.0])}, r"action: expected integer indices"),
    ({"reward": np.array([1.0, np.nan, 0.0])}, r"reward: expected finite numbers"),
    ({"alpha": 1.5}, r"alpha: expected a level in \(0, 1\)"),
    ({"n_bootstrap": 0}, r"n_bootstrap: expected a positive integer"),
])
def test_bad_input_is_named(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ipw(**(_good() | change))


def test_reward_model_must_match_the_target_distribution() -> None:
    good = _good()
    with pytest.raises(DataValidationError, match=r"estimated_rewards_by_reg_model: expected "
                                                  r"the shape of action_dist \(3, 2, 1\)"):
        dr(**good, estimated_rewards_by_reg_model=np.zeros((3, 2)))
    with pytest.raises(DataValidationError, match="estimated_rewards_by_reg_model"):
        dm(action_dist=good["action_dist"], estimated_rewards_by_reg_model=np.zeros((3, 3, 1)))


def test_no_overlap_is_refused_by_self_normalisation() -> None:
    dist = np.zeros((3, 2, 1))
    dist[:, 0, 0] = 1.0  # the target only plays action 0; the log only has action 1
    with pytest.raises(DataValidationError, match="no overlap"):
        snipw(reward=[1.0, 0.0, 1.0], action=[1, 1, 1], pscore=[0.5] * 3, action_dist=dist)


def test_relative_value_needs_a_positive_baseline() -> None:
    value = PolicyValue("ipw", 0.5, 0.4, 0.6, 0.05, 10, 10)
    assert value.relative_to(0.25).ci_high == pytest.approx(2.4)
    with pytest.raises(DataValidationError, match="baseline"):
        value.relative_to(0.0)
