"""The learned stage model: a hidden Markov model over weekly interaction symbols.

A customer's week is one symbol: the interaction type of the week (the most telling one
when there are several) or ``quiet``.  :class:`StageHMM` fits a categorical HMM whose seven
hidden states are the stages of :mod:`outsidein.sense.stages`, then senses the stage online
by forward filtering (only the past: what a decision can know), in numpy.

Choices made here
-----------------
* Fitting uses hmmlearn's ``CategoricalHMM`` with ``implementation="scaling"`` (about 10x
  faster than the default "log" here; FIELD-NOTES.md).  EM starts from a prior that gives
  each hidden state its stage's meaning: emissions from the evidence scorer's weights
  (:data:`outsidein.sense.evidence.DEFAULT_WEIGHTS`) and a sticky buying-cycle transition
  matrix (:func:`cycle_transmat`).  So state k stays stage k after EM (no relabelling
  against a truth).  With stage labels (``fit(..., stages=...)``) the model is fitted by
  counting instead (a supervised HMM, add-one smoothing).
* Online filtering is plain numpy on a length-7 vector (:meth:`StageHMM.step`, a few
  microseconds); whole panels filter vectorised over customers (:func:`forward_filter`).
* :func:`bayes_limit_accuracy` is the ceiling: the accuracy of the same forward filter run
  with the generator's *true* parameters.  Filtering (not smoothing) is the right ceiling
  because a decision can only use the past.

Measured on the demo (``truth_stages``, one step per interaction, no weekly binning;
fitted on 3,000 customers, scored on 3,000 others, on the demo's five labels): counted from
the labels (``fit(..., stages=...)``) 0.952, a stand-in for the generator's own model;
EM without labels 0.64-0.68 (EM moves away from the stage meanings, since the demo is not
a seven-state HMM: do not use unsupervised EM there); the evidence scorer's defaults 0.82.
On the simulator's market (an HMM) EM reaches the Bayes limit (``tests/sense/test_hmm.py``).

Not wired into the live engine: it senses with the decayed-evidence scorer or, where
stage labels exist, the labelled classifier (:mod:`outsidein.sense.sequence`, ``[sense]
stage_model = "classifier"``), which beat this model on the demo.  The market simulator
(:mod:`outsidein.sense.simulate`) fits and filters with it.

>>> import numpy as np
>>> m = StageHMM().fit(np.array([[0, 1, 3, 4, 12, 12]] * 30))
>>> m.transmat_.shape, m.emissionprob_.shape
((7, 7), (7, 13))
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from hmmlearn.hmm import CategoricalHMM

from outsidein.errors import NotFittedError
from outsidein.sense.evidence import DEFAULT_WEIGHTS
from outsidein.sense.stages import INTERACTION_TYPES, STAGE_INDEX, STAGES

__all__ = ["QUIET", "SYMBOLS", "StageHMM", "bayes_limit_accuracy", "cycle_transmat",
           "filtered_accuracy", "forward_filter", "prior_emissionprob", "weekly_symbols"]

log = logging.getLogger(__name__)

#: observation alphabet: the interaction types, then "quiet" (no interaction that week)
SYMBOLS: tuple[str, ...] = (*INTERACTION_TYPES, "quiet")
QUIET = len(INTERACTION_TYPES)
_K = len(STAGES)
#: how telling each type is when a week has several (higher wins)
_RANK = {t: r for r, t in enumerate(("email_open", "visit", "email_click", "review", "search",
                                     "product_view", "pricing_view", "support_call",
                                     "unsubscribe", "cart_add", "complaint", "checkout"))}


def cycle_transmat(stay: float = 0.8) -> np.ndarray:
    """A generic weekly buying-cycle transition prior: stay, move on, rarely fall back or drop.

    >>> cycle_transmat().sum(axis=1).round(6).tolist() == [1.0] * 7
    True
    """
    move = {"aware": {"considering": 0.7, "lapsed": 0.3},
            "considering": {"deciding": 0.6, "aware": 0.2, "lapsed": 0.2},
            "deciding": {"purchased": 0.5, "considering": 0.3, "lapsed": 0.2},
            "purchased": {"loyal": 0.7, "at_risk": 0.3},
            "loyal": {"purchased": 0.5, "at_risk": 0.5},
            "at_risk": {"loyal": 0.4, "lapsed": 0.5, "purchased": 0.1},
            "lapsed": {"aware": 1.0}}
    a = np.full((_K, _K), 1e-3)
    for s, row in move.items():
        i = STAGE_INDEX[s]
        a[i, i] = stay if s != "lapsed" else 0.95
        for t, w in row.items():
            a[i, STAGE_INDEX[t]] = (1 - a[i, i]) * w
    return a / a.sum(axis=1, keepdims=True)


def prior_emissionprob() -> np.ndarray:
    """Emission prior from the evidence scorer's default weights, plus a quiet column."""
    quiet = {"aware": 2.0, "considering": 0.8, "deciding": 0.5, "purchased": 0.3, "loyal": 1.5,
             "at_risk": 2.0, "lapsed": 6.0}
    b = np.full((_K, len(SYMBOLS)), 0.05)
    for key, row in DEFAULT_WEIGHTS.items():
        if ":" in key:
            continue
        o = SYMBOLS.index(key)
        for s, w in row.items():
            if s in STAGE_INDEX and w > 0:
                b[STAGE_INDEX[s], o] += w
    for s, q in quiet.items():
        b[STAGE_INDEX[s], QUIET] += q
    return b / b.sum(axis=1, keepdims=True)


def weekly_symbols(weeks: np.ndarray, types: np.ndarray, n_weeks: int) -> np.ndarray:
    """One customer's weekly symbols from interaction weeks (0-based) and type names.

    >>> weekly_symbols(np.array([0, 0, 2]), np.array(["visit", "cart_add", "review"]), 4).tolist()
    [3, 12, 10, 12]
    """
    out = np.full(n_weeks, QUIET, dtype=np.int64)
    best = np.full(n_weeks, -1)
    for w, t in zip(weeks.tolist(), types.tolist(), strict=True):
        if 0 <= w < n_weeks and _RANK.get(t, 0) > best[w]:
            best[w] = _RANK.get(t, 0)
            out[w] = SYMBOLS.index(t)
    return out


def forward_filter(startprob: np.ndarray, transmat: np.ndarray, emissionprob: np.ndarray,
                   obs: np.ndarray) -> np.ndarray:
    """Filtered stage probabilities P(stage_t | symbols up to t), vectorised over customers.

    Parameters
    ----------
    obs
        Symbols, shape ``(n_customers, n_weeks)``.

    Returns
    -------
    ndarray, shape ``(n_customers, n_weeks, n_stages)``
    """
    obs = np.atleast_2d(np.asarray(obs, dtype=np.int64))
    n, t = obs.shape
    b_t = np.asarray(emissionprob, float).T  # (symbols, K)
    a = np.asarray(transmat, float)
    out = np.empty((n, t, a.shape[0]))
    alpha = np.asarray(startprob, float)[None, :] * b_t[obs[:, 0]]
    alpha /= alpha.sum(axis=1, keepdims=True)
    out[:, 0] = alpha
    for k in range(1, t):
        alpha = (alpha @ a) * b_t[obs[:, k]]
        alpha /= alpha.sum(axis=1, keepdims=True)
        out[:, k] = alpha
    return out


def filtered_accuracy(startprob: np.ndarray, transmat: np.ndarray, emissionprob: np.ndarray,
                      obs: np.ndarray, true_states: np.ndarray) -> float:
    """Share of customer-weeks whose filtered most probable stage is the true one."""
    post = forward_filter(startprob, transmat, emissionprob, obs)
    return float(np.mean(post.argmax(axis=2) == np.asarray(true_states)))


def bayes_limit_accuracy(startprob: np.ndarray, transmat: np.ndarray, emissionprob: np.ndarray,
                         obs: np.ndarray, true_states: np.ndarray) -> float:
    """The Bayes limit: stage accuracy of forward filtering with the generator's true parameters.

    No online stage model can beat it on average on data from that generator: the filtered
    posterior under the true model is the best any rule can know from the past.
    """
    return filtered_accuracy(startprob, transmat, emissionprob, obs, true_states)


def _as_panel(X: Any, lengths: Any) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(X, dtype=np.int64)
    if x.ndim == 2 and lengths is None:
        return x.reshape(-1), np.full(x.shape[0], x.shape[1])
    if x.ndim != 1:
        raise ValueError(f"X: expected a (customers, weeks) array or a flat array with lengths; "
                         f"got shape {x.shape}")
    lens = np.asarray([len(x)] if lengths is None else lengths, dtype=np.int64)
    if lens.sum() != len(x):
        raise ValueError(f"lengths sum to {lens.sum()} but X has {len(x)} symbols")
    return x, lens


class StageHMM:
    """A categorical HMM whose hidden states are the seven stages.

    Parameters
    ----------
    n_iter, tol
        EM iterations and tolerance (hmmlearn).
    init_startprob, init_transmat, init_emissionprob
        EM starting point; None for the stage-anchored priors.
    random_state
        Seed for hmmlearn.
    """

    def __init__(self, n_iter: int = 30, tol: float = 1e-3, init_startprob: Any = None,
                 init_transmat: Any = None, init_emissionprob: Any = None,
                 random_state: int | None = 0):
        self.n_iter = n_iter
        self.tol = tol
        self.init_startprob = init_startprob
        self.init_transmat = init_transmat
        self.init_emissionprob = init_emissionprob
        self.random_state = random_state

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("n_iter", "tol", "init_startprob",
                                              "init_transmat", "init_emissionprob",
                                              "random_state")}

    def __repr__(self) -> str:
        return "StageHMM()"

    def fit(self, X: Any, lengths: Any = None, stages: Any = None) -> StageHMM:
        """Fit on symbol sequences: a ``(customers, weeks)`` array, or flat with ``lengths``.

        With ``stages`` (same shape as ``X``) the parameters are counted (supervised);
        without, EM from the stage-anchored prior.
        """
        x, lens = _as_panel(X, lengths)
        if x.min() < 0 or x.max() >= len(SYMBOLS):
            raise ValueError(f"X: symbols must be 0..{len(SYMBOLS) - 1} (see SYMBOLS)")
        if stages is not None:
            return self._count(x, lens, np.asarray(stages, dtype=np.int64).reshape(-1))
        pi0 = (np.full(_K, 1.0 / _K) if self.init_startprob is None
               else np.asarray(self.init_startprob, float))
        model = CategoricalHMM(n_components=_K, n_features=len(SYMBOLS), n_iter=self.n_iter,
                               tol=self.tol, init_params="", params="ste",
                               implementation="scaling", random_state=self.random_state)
        model.startprob_ = pi0
        model.transmat_ = (cycle_transmat() if self.init_transmat is None
                           else np.asarray(self.init_transmat, float))
        model.emissionprob_ = (prior_emissionprob() if self.init_emissionprob is None
                               else np.asarray(self.init_emissionprob, float))
        model.fit(x.reshape(-1, 1), lens)
        self.startprob_ = np.asarray(model.startprob_)
        self.transmat_ = np.asarray(model.transmat_)
        self.emissionprob_ = np.asarray(model.emissionprob_)
        self.log_likelihood_ = float(model.monitor_.history[-1])
        self.n_iter_ = int(model.monitor_.iter)
        hist = list(model.monitor_.history)
        self.converged_ = len(hist) >= 2 and abs(hist[-1] - hist[-2]) < self.tol
        return self

    def _count(self, x: np.ndarray, lens: np.ndarray, s: np.ndarray) -> StageHMM:
        if s.shape != x.shape or s.min() < 0 or s.max() >= _K:
            raise ValueError(f"stages: expected {x.shape[0]} stage numbers 0..{_K - 1}, one per "
                             "symbol")
        starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
        pi = np.bincount(s[starts], minlength=_K) + 1.0
        ok = np.ones(len(s), bool)
        ok[starts] = False  # no transition into the first week of a sequence
        idx = np.flatnonzero(ok)
        a = np.ones((_K, _K))
        np.add.at(a, (s[idx - 1], s[idx]), 1.0)
        b = np.ones((_K, len(SYMBOLS)))
        np.add.at(b, (s, x), 1.0)
        self.startprob_ = pi / pi.sum()
        self.transmat_ = a / a.sum(axis=1, keepdims=True)
        self.emissionprob_ = b / b.sum(axis=1, keepdims=True)
        self.log_likelihood_ = float("nan")
        self.n_iter_, self.converged_ = 0, True
        return self

    def _check(self) -> None:
        if not hasattr(self, "transmat_"):
            raise NotFittedError("StageHMM: call fit() on interaction sequences first")

    def filter(self, X: np.ndarray) -> np.ndarray:
        """Filtered stage probabilities for a ``(customers, weeks)`` symbol array."""
        self._check()
        return forward_filter(self.startprob_, self.transmat_, self.emissionprob_, X)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The filtered most probable stage per customer-week."""
        return self.filter(X).argmax(axis=2)

    def initial_belief(self) -> np.ndarray:
        """The stage distribution before any week is seen."""
        self._check()
        return self.startprob_.copy()

    def step(self, belief: np.ndarray, symbol: int, quiet_steps: int = 0,
             first: bool = False) -> np.ndarray:
        """One online filtering step: ``quiet_steps`` quiet weeks, then a week with ``symbol``.

        ``first=True`` for the customer's first week (no transition from the start belief).
        """
        b = self.emissionprob_
        a = self.transmat_
        q = b[:, QUIET]
        for _ in range(quiet_steps):
            belief = (belief @ a) * q
            belief = belief / belief.sum()
        belief = (belief if first else belief @ a) * b[:, symbol]
        return belief / belief.sum()
