"""A stage classifier on each customer's interaction history, for where stage labels exist.

The second learned stage model (the first is the hidden Markov model of
:mod:`outsidein.sense.hmm`): where a company knows the stage of past interactions (a CRM's
lifecycle field; the demo's ``truth_stages``), a gradient-boosted classifier learns the
stage from what a customer did up to and including each interaction — never after, so it
is a filter, usable online, like the decayed-evidence scorer.

:func:`history_features` turns interactions (customer, time, channel, type) into one row
per interaction: the interaction itself, the time since the customer's previous and first
interactions and since their last checkout, how many interactions of each type they had
before, and how many in the last 7 and 30 days.  :class:`StageClassifier` (LightGBM,
scikit-learn contract) learns the stage from those rows.

Fitted with labels and scored on customers it never saw, it also gives an empirical
ceiling for any filter on the same clues: the best accuracy a flexible model reaches from
the past alone.  (The exact Bayes limit needs the generator's own model; the demo's
generator is not a hidden Markov model, so this is its stand-in, reported as such.)

>>> import numpy as np
>>> X = history_features(np.array([0, 0, 1]), np.array([0.0, 86400.0, 0.0]),
...                      np.array([2, 2, 0]), np.array([1, 4, 0]), n_channels=7, n_types=12)
>>> X.shape, float(X[1, N_FIXED - 1])  # 2nd row: one interaction in the 7 days before it
((3, 37), 1.0)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from outsidein.errors import DataValidationError, NotFittedError

__all__ = ["N_FIXED", "StageClassifier", "history_features"]

_DAY = 86400.0
_NEVER = 10_000.0  # days, for "no checkout yet"
#: Features before the one-hot and per-type columns: days since previous, since first,
#: since last checkout, interactions before, in the last 30 days, in the last 7 days.
N_FIXED = 6


def history_features(customer: NDArray[Any], ts: NDArray[Any], channel: NDArray[Any],
                     typ: NDArray[Any], *, n_channels: int, n_types: int,
                     checkout_type: int = 4) -> NDArray[np.float64]:
    """One row of features per interaction, from its customer's history up to it.

    Parameters
    ----------
    customer, ts, channel, typ
        Arrays of equal length: customer codes (ints), seconds, channel and type codes
        (ints in ``range(n_channels)`` and ``range(n_types)``).  Any order: rows come back
        in the order given.
    checkout_type
        The type code of a purchase (days since the last one is a feature).
    """
    n = len(customer)
    order = np.lexsort((np.arange(n), ts, customer))
    c, t = np.asarray(customer)[order], np.asarray(ts, float)[order]
    ch, ty = np.asarray(channel)[order], np.asarray(typ)[order]
    new = np.r_[True, c[1:] != c[:-1]]
    start = np.maximum.accumulate(np.where(new, np.arange(n), 0))
    idx = np.arange(n)
    prev_gap = np.where(new, _NEVER, np.r_[0.0, np.diff(t)] / _DAY)
    since_first = (t - t[start]) / _DAY
    # time of the last checkout at or before each row, within the customer
    co_time = np.where(ty == checkout_type, t, -np.inf)
    co_time = np.where(new & (ty != checkout_type), -np.inf, co_time)
    last_co = _group_running_max(co_time, new)
    since_checkout = np.where(np.isfinite(last_co), (t - last_co) / _DAY, _NEVER)
    key = c.astype(float) * 1e11 + t  # sorted: customer first, then time
    in_30 = idx - np.searchsorted(key, key - 30 * _DAY, side="left")
    in_7 = idx - np.searchsorted(key, key - 7 * _DAY, side="left")
    before = idx - start
    one_type = np.zeros((n, n_types))
    one_type[idx, ty] = 1.0
    counts = np.cumsum(one_type, axis=0)
    counts -= counts[start] - one_type[start]  # restart at each customer
    counts -= one_type  # before this interaction
    one_channel = np.zeros((n, n_channels))
    one_channel[idx, ch] = 1.0
    out = np.column_stack([prev_gap, since_first, since_checkout, before, in_30, in_7,
                           one_type, one_channel, counts])
    back = np.empty(n, np.intp)
    back[order] = idx
    return out[back]


def _group_running_max(values: NDArray[np.float64], new: NDArray[np.bool_]
                       ) -> NDArray[np.float64]:
    """Running maximum that restarts where *new* is True (values are -inf or times)."""
    group = np.cumsum(new)
    # within a group times only grow, so a running max of (group, value) pairs works when
    # each group's values are offset above every earlier group's
    offset = group * 1e12
    shifted = np.where(np.isfinite(values), values + offset, offset - 1.0)
    run = np.maximum.accumulate(shifted)
    return np.where(run >= offset, run - offset, -np.inf)


class StageClassifier:
    """Gradient-boosted stage classifier on :func:`history_features` (LightGBM).

    Parameters
    ----------
    n_estimators, learning_rate, num_leaves
        LightGBM's settings.
    random_state
        Seed.

    Attributes
    ----------
    classes_ : ndarray
        The stage labels seen in ``fit``.
    model_ : lightgbm.LGBMClassifier
        The fitted booster.
    """

    def __init__(self, n_estimators: int = 150, learning_rate: float = 0.1,
                 num_leaves: int = 31, random_state: int = 0) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.random_state = random_state

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"n_estimators": self.n_estimators, "learning_rate": self.learning_rate,
                "num_leaves": self.num_leaves, "random_state": self.random_state}

    def __repr__(self) -> str:
        return (f"StageClassifier(n_estimators={self.n_estimators}, "
                f"learning_rate={self.learning_rate})")

    def fit(self, X: Any, y: Any) -> StageClassifier:
        """Learn the stage (labels *y*) from feature rows *X*."""
        # lazy: importing lightgbm loads its native library and OpenMP into the process;
        # only the commands that fit this model need it
        import lightgbm as lgb

        X, y = np.asarray(X, float), np.asarray(y)
        if len(X) != len(y) or len(X) == 0:
            raise DataValidationError(f"StageClassifier.fit: {len(X)} rows of features and "
                                      f"{len(y)} labels; expected the same, at least one")
        self.model_ = lgb.LGBMClassifier(
            n_estimators=self.n_estimators, learning_rate=self.learning_rate,
            num_leaves=self.num_leaves, random_state=self.random_state, n_jobs=1,
            verbose=-1).fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def _check(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError("StageClassifier: call fit() first")

    def predict(self, X: Any) -> NDArray[Any]:
        """The most likely stage of each row."""
        self._check()
        return np.asarray(self.model_.predict(np.asarray(X, float)))

    def predict_proba(self, X: Any) -> NDArray[np.float64]:
        """Stage probabilities per row, columns in :attr:`classes_` order."""
        self._check()
        return np.asarray(self.model_.predict_proba(np.asarray(X, float)))
