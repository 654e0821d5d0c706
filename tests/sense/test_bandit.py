"""Thompson sampling per (stage, action): learns the best arm and logs honest probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from outsidein.errors import NotFittedError
from outsidein.sense.bandit import ControlGroup, ThompsonBandit


def test_thompson_sampling_converges_to_the_best_arm_in_each_stage() -> None:
    rates = np.array([[0.02, 0.05, 0.12], [0.10, 0.03, 0.02]])  # best: arm 2, then arm 0
    b = ThompsonBandit(actions=("awareness", "advice", "sales"), n_stages=2,
                       random_state=3).fit()
    rng = np.random.default_rng(4)
    late = {0: [], 1: []}
    for t in range(6000):
        s = t % 2
        a, p = b.choose(s)
        assert 0 < p <= 1
        b.update(s, a, float(rng.random() < rates[s, a]))
        if t >= 5000:
            late[s].append(a)
    assert np.mean(np.array(late[0]) == 2) > 0.9
    assert np.mean(np.array(late[1]) == 0) > 0.9
    assert np.abs(b.propensity()[0, 2] - 0.12) < 0.03


def test_the_logged_probability_matches_how_often_the_action_is_chosen() -> None:
    # a fixed posterior with three close arms: the choice is genuinely random
    b = ThompsonBandit(actions=("a", "b", "c"), n_stages=1, prior_alpha=np.array([[6, 5, 3]]),
                       prior_beta=np.array([[40, 40, 30]]), random_state=7).fit()
    n = 40000
    picks = [b.choose(0) for _ in range(n)]
    actions = np.array([a for a, _ in picks])
    for k in range(3):
        logged = {p for a, p in picks if a == k}
        assert len(logged) == 1  # one probability per action while the posterior is fixed
        freq = np.mean(actions == k)
        p = logged.pop()
        assert abs(freq - p) < 4 * np.sqrt(p * (1 - p) / n), (k, freq, p)
    # and it estimates the infinite-sample Thompson probability (independent Monte Carlo)
    rng = np.random.default_rng(0)
    theta = rng.beta([6, 5, 3], [40, 40, 30], size=(400000, 3))
    exact = np.bincount(theta.argmax(1), minlength=3) / len(theta)
    assert np.abs(b.choice_probabilities(0) - exact).max() < 0.05


def test_score_is_propensity_times_value_times_weight() -> None:
    # sales responds less (5% vs 10%) but is worth three times as much
    prior = dict(prior_alpha=np.array([[100.0, 50.0]]), prior_beta=np.array([[900.0, 950.0]]))
    b = ThompsonBandit(actions=("advice", "sales"), n_stages=1, values=(1.0, 3.0),
                       random_state=0, **prior).fit()
    assert b.choose(0)[0] == 1
    assert b.expected_scores(0) == pytest.approx([0.1, 0.15])
    # a business weight per (stage, action) can turn it back
    b2 = ThompsonBandit(actions=("advice", "sales"), n_stages=1, values=(1.0, 3.0),
                        weights=np.array([[1.0, 0.3]]), random_state=0, **prior).fit()
    assert b2.choose(0)[0] == 0


def test_only_eligible_actions_are_chosen() -> None:
    b = ThompsonBandit(actions=("a", "b", "c", "d"), random_state=1).fit()
    chosen = {b.choose(3, eligible=(1, 3))[0] for _ in range(500)}
    assert chosen == {1, 3}
    probs = b.choice_probabilities(3, eligible=(1, 3))
    assert probs[0] == probs[2] == 0 and probs.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="no eligible action"):
        b.choose(0, eligible=())


def test_the_same_seed_gives_the_same_decisions() -> None:
    def run(seed: int) -> list[int]:
        b = ThompsonBandit(actions=("a", "b", "c"), random_state=seed).fit()
        out = []
        for t in range(300):
            a, _ = b.choose(t % 7)
            out.append(a)
            b.update(t % 7, a, float(t % 3 == 0))
        return out
    assert run(5) == run(5)
    assert run(5) != run(6)


def test_the_control_group_is_five_percent_persistent_and_logged_with_its_probability() -> None:
    cg = ControlGroup()
    ids = [f"cust-{i}" for i in range(40000)]
    held = [c for c in ids if cg.contains(c)]
    assert abs(len(held) / len(ids) - 0.05) < 0.005
    assert all(cg.contains(c) for c in held[:100])  # the same answer every time
    assert len(set(held) & {c for c in ids if ControlGroup(salt="other").contains(c)}) < 200
    b = ThompsonBandit(actions=("a", "b"), n_stages=1, random_state=0).fit()
    assert b.decide(held[0], 0, control=cg) == (None, 0.05)
    treated = next(c for c in ids if not cg.contains(c))
    a, p = b.decide(treated, 0, control=cg)
    assert a is not None
    assert p == pytest.approx(0.95 * b.choice_probabilities(0)[a])
    with pytest.raises(ValueError, match="share"):
        ControlGroup(share=1.5)


def test_soft_updates_with_certain_beliefs_equal_plain_updates() -> None:
    b1 = ThompsonBandit(actions=("a", "b"), n_stages=3, random_state=0).fit()
    b2 = ThompsonBandit(actions=("a", "b"), n_stages=3, random_state=0).fit()
    b1.partial_fit([0, 2, 2], [1, 0, 1], [1, 0, 1])
    b2.partial_fit_belief(np.eye(3)[[0, 2, 2]], [1, 0, 1], [1, 0, 1])
    assert np.allclose(b1.alpha_, b2.alpha_) and np.allclose(b1.beta_, b2.beta_)


def test_belief_choices_log_the_share_of_pool_columns_won() -> None:
    b = ThompsonBandit(actions=("a", "b"), n_stages=2, prior_alpha=np.array([[30, 10], [10, 30]]),
                       prior_beta=np.array([[70, 90], [90, 70]]), random_state=2).fit()
    sure = b.choose_belief(np.array([[1.0, 0.0], [0.0, 1.0]]))
    assert sure[0].tolist() == [0, 1]
    a, p = b.choose_belief(np.tile([0.5, 0.5], (20000, 1)))
    for k in (0, 1):
        assert abs(np.mean(a == k) - p[a == k][0]) < 0.02


def test_choosing_before_fit_says_what_to_do() -> None:
    with pytest.raises(NotFittedError, match="fit"):
        ThompsonBandit(actions=("a",)).choose(0)
