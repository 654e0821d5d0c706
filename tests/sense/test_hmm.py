"""The learned stage model: EM on unlabelled weeks reaches the Bayes limit of a synthetic market."""

from __future__ import annotations

import numpy as np
import pytest

from outsidein.errors import NotFittedError
from outsidein.sense.hmm import (
    QUIET,
    SYMBOLS,
    StageHMM,
    bayes_limit_accuracy,
    cycle_transmat,
    filtered_accuracy,
    forward_filter,
    prior_emissionprob,
    weekly_symbols,
)
from outsidein.sense.simulate import Market, sample_market


@pytest.fixture(scope="module")
def market() -> tuple[Market, np.ndarray, np.ndarray, np.ndarray]:
    m = Market()
    rng = np.random.default_rng(21)
    _, train = sample_market(m, 1000, 40, rng)          # unlabelled history
    test_stages, test_symbols = sample_market(m, 2000, 40, rng)  # fresh customers
    return m, train, test_stages, test_symbols


def test_em_reaches_90_percent_of_the_bayes_limit_on_a_synthetic_market(market) -> None:
    m, train, stages, symbols = market
    limit = bayes_limit_accuracy(m.startprob, m.transmat, m.emissionprob, symbols, stages)
    model = StageHMM(n_iter=15).fit(train)
    learned = filtered_accuracy(model.startprob_, model.transmat_, model.emissionprob_, symbols,
                                stages)
    assert learned >= 0.9 * limit, (learned, limit)
    # the learned states kept their stage meaning (no relabelling against the truth)
    assert np.abs(model.emissionprob_ - m.emissionprob).max() < 0.06
    assert np.abs(np.diag(model.transmat_) - np.diag(m.transmat)).max() < 0.08
    # the prior alone (before EM) is clearly worse: learning matters
    prior = filtered_accuracy(np.full(7, 1 / 7), cycle_transmat(), prior_emissionprob(),
                              symbols, stages)
    assert prior < learned - 0.05
    # and the limit is well above always guessing the commonest stage
    assert limit > np.bincount(stages.ravel()).max() / stages.size + 0.3


def test_with_stage_labels_the_model_is_counted(market) -> None:
    m, _, stages, symbols = market
    model = StageHMM().fit(symbols, stages=stages)
    assert np.abs(model.emissionprob_ - m.emissionprob).max() < 0.03
    assert np.abs(model.transmat_ - m.transmat).max() < 0.03
    assert model.predict(symbols[:5]).shape == (5, 40)


def test_online_steps_equal_the_batch_filter(market) -> None:
    _, _, stages, symbols = market
    model = StageHMM().fit(symbols, stages=stages)
    batch = model.filter(symbols[:1])[0]
    belief = model.step(model.initial_belief(), int(symbols[0, 0]), first=True)
    assert np.allclose(belief, batch[0])
    for t in range(1, 40):
        belief = model.step(belief, int(symbols[0, t]))
        assert np.allclose(belief, batch[t])
    # quiet weeks between two events are the same as quiet symbols
    seq = np.array([[3, QUIET, QUIET, 4]])
    ref = forward_filter(model.startprob_, model.transmat_, model.emissionprob_, seq)[0, -1]
    b = model.step(model.initial_belief(), 3, first=True)
    assert np.allclose(model.step(b, 4, quiet_steps=2), ref)


def test_weekly_symbols_keep_the_most_telling_interaction_of_the_week() -> None:
    weeks = np.array([0, 0, 1, 3, 3])
    types = np.array(["email_open", "checkout", "search", "visit", "complaint"])
    out = weekly_symbols(weeks, types, 5)
    assert [SYMBOLS[o] for o in out] == ["checkout", "search", "quiet", "complaint", "quiet"]


def test_bad_input_and_unfitted_use_are_explained() -> None:
    with pytest.raises(ValueError, match="symbols must be 0..12"):
        StageHMM().fit(np.array([[0, 13]]))
    with pytest.raises(ValueError, match="lengths sum to 3 but X has 4"):
        StageHMM().fit(np.array([0, 1, 2, 3]), lengths=[3])
    with pytest.raises(NotFittedError, match="fit"):
        StageHMM().filter(np.array([[0, 1]]))
