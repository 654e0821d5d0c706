"""Offline policy evaluation: what a candidate policy would have earned, read from a log.

Four standard estimators of a target policy's value V(pi_e) = E[sum_a pi_e(a|x) r(x, a)]
from rounds logged by another (behaviour) policy, in the Open Bandit Pipeline's array
conventions so that code written for ``obp`` carries over:

- ``reward`` (n,), ``action`` (n,) and ``position`` (n,) of each logged round;
- ``pscore`` (n,): the probability with which the behaviour policy chose the logged action;
- ``action_dist`` (n, n_actions, len_list): the target policy's probability of each action
  in each slot (``position``) of each round;
- ``estimated_rewards_by_reg_model`` (n, n_actions, len_list): a reward model's prediction
  q(x, a, k), for :func:`dm` and :func:`dr`.

Each estimator returns a :class:`PolicyValue`: the estimate on the whole log and a
percentile bootstrap confidence interval (rounds resampled with replacement).  They are
written here, in numpy, rather than imported from ``obp``, because obp pins old pandas and
imports torch at start-up; the formulas follow Dudik, Langford & Li (2011) and obp's
``InverseProbabilityWeighting``, ``SelfNormalizedInverseProbabilityWeighting``,
``DirectMethod`` and ``DoublyRobust``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from outsidein.errors import DataValidationError

__all__ = ["PolicyValue", "dm", "dr", "ipw", "snipw"]

FloatArray = NDArray[np.float64]

#: resampled cells per bootstrap chunk: bounds memory (~32 MB of indices at a time)
_CHUNK_CELLS = 4_000_000
#: tolerance on "each slot's action probabilities sum to 1"
_SUM_TOL = 1e-6


@dataclass(frozen=True)
class PolicyValue:
    """An estimated policy value with its bootstrap confidence interval.

    Attributes
    ----------
    estimator : str
        ``"ipw"``, ``"snipw"``, ``"dm"`` or ``"dr"``.
    estimate : float
        The estimate on the whole log (expected reward per round under the target policy).
    ci_low, ci_high : float
        Percentile bootstrap interval at level ``1 - alpha``.
    alpha : float
        Significance level of the interval.
    n_rounds : int
        Logged rounds used.
    n_bootstrap : int
        Bootstrap resamples behind the interval.

    Examples
    --------
    >>> v = PolicyValue("ipw", 0.005, 0.004, 0.006, 0.05, 10_000, 1_000)
    >>> v
    PolicyValue(ipw 0.005 [95% CI 0.004, 0.006], 10,000 rounds)
    >>> v.relative_to(0.004).estimate
    1.25
    """

    estimator: str
    estimate: float
    ci_low: float
    ci_high: float
    alpha: float
    n_rounds: int
    n_bootstrap: int

    def __repr__(self) -> str:
        level = f"{100 * (1 - self.alpha):g}%"
        return (f"PolicyValue({self.estimator} {self.estimate:.6g} [{level} CI "
                f"{self.ci_low:.6g}, {self.ci_high:.6g}], {self.n_rounds:,} rounds)")

    def relative_to(self, baseline: float) -> PolicyValue:
        """The value and interval divided by *baseline* (e.g. the logged click rate).

        The baseline is taken as known: its own sampling error is not in the interval.
        """
        if not np.isfinite(baseline) or baseline <= 0:
            raise DataValidationError(
                f"baseline for a relative policy value: expected a positive number, got "
                f"{baseline!r}")
        return PolicyValue(self.estimator, self.estimate / baseline, self.ci_low / baseline,
                           self.ci_high / baseline, self.alpha, self.n_rounds, self.n_bootstrap)

    def to_dict(self) -> dict[str, float | int | str]:
        """The fields as a plain dict (for JSON and tables)."""
        return {"estimator": self.estimator, "estimate": self.estimate,
                "ci_low": self.ci_low, "ci_high": self.ci_high, "alpha": self.alpha,
                "n_rounds": self.n_rounds, "n_bootstrap": self.n_bootstrap}


# ----------------------------------------------------------------------------- validation

def _vector(name: str, values: ArrayLike, n: int) -> NDArray[Any]:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise DataValidationError(f"{name}: expected a 1-D array of {n:,} rounds, got shape "
                                  f"{arr.shape}")
    if arr.shape[0] != n:
        raise DataValidationError(
            f"{name}: expected {n:,} rounds (the first axis of action_dist), got {arr.shape[0]:,};"
            " pass arrays that describe the same logged rounds")
    return arr


def _floats(name: str, values: ArrayLike, n: int) -> FloatArray:
    arr = _vector(name, values, n)
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise DataValidationError(f"{name}: expected numbers, got dtype {arr.dtype}")
    out = arr.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(out))
    if bad.size:
        raise DataValidationError(f"{name}: expected finite numbers, found {bad.size:,} "
                                  f"NaN or infinite (first at row {bad[0]})")
    return out


def _indices(name: str, values: ArrayLike, n: int, size: int, axis: str) -> NDArray[np.intp]:
    arr = _vector(name, values, n)
    if not np.issubdtype(arr.dtype, np.integer):
        raise DataValidationError(f"{name}: expected integer indices, got dtype {arr.dtype}")
    bad = np.flatnonzero((arr < 0) | (arr >= size))
    if bad.size:
        raise DataValidationError(
            f"{name}: expected integers from 0 to {size - 1} ({axis} of action_dist), found "
            f"{bad.size:,} outside (first at row {bad[0]}: {arr[bad[0]]})")
    return arr.astype(np.intp)


def _action_dist(values: ArrayLike) -> FloatArray:
    dist = np.asarray(values, dtype=np.float64)
    if dist.ndim != 3 or dist.shape[0] == 0:
        raise DataValidationError(
            f"action_dist: expected shape (n_rounds, n_actions, len_list) with n_rounds >= 1, "
            f"got shape {dist.shape}; reshape a (n, n_actions) array with [:, :, None]")
    if not np.all(np.isfinite(dist)) or np.any(dist < 0):
        raise DataValidationError("action_dist: expected probabilities >= 0, found negative, "
                                  "NaN or infinite values")
    sums = dist.sum(axis=1)
    bad = np.argwhere(np.abs(sums - 1.0) > _SUM_TOL)
    if bad.size:
        i, k = bad[0]
        raise DataValidationError(
            f"action_dist: the target policy's probabilities over actions must sum to 1 in "
            f"every round and position; {len(bad):,} do not (first: round {i}, position {k}, "
            f"sum {sums[i, k]:.6g})")
    return dist


def _pscore(values: ArrayLike, n: int) -> FloatArray:
    ps = _floats("pscore", values, n)
    bad = np.flatnonzero((ps <= 0) | (ps > 1))
    if bad.size:
        raise DataValidationError(
            f"pscore: expected logged propensities in (0, 1], found {bad.size:,} outside "
            f"(first at row {bad[0]}: {ps[bad[0]]:g}); a round the behaviour policy could not "
            "have chosen cannot be reweighted: fix its logged probability or drop it")
    return ps


def _position(values: ArrayLike | None, n: int, len_list: int) -> NDArray[np.intp]:
    if values is None:
        if len_list > 1:
            raise DataValidationError(
                f"position: required when action_dist has {len_list} positions (len_list > 1)")
        return np.zeros(n, dtype=np.intp)
    return _indices("position", values, n, len_list, "axis 2")


def _reward_model(values: ArrayLike, shape: tuple[int, ...]) -> FloatArray:
    q = np.asarray(values, dtype=np.float64)
    if q.shape != shape:
        raise DataValidationError(
            f"estimated_rewards_by_reg_model: expected the shape of action_dist {shape}, got "
            f"{q.shape}")
    if not np.all(np.isfinite(q)):
        raise DataValidationError("estimated_rewards_by_reg_model: expected finite numbers, "
                                  "found NaN or infinite values")
    return q


def _check_ci(alpha: float, n_bootstrap: int) -> None:
    if not 0 < alpha < 1:
        raise DataValidationError(f"alpha: expected a level in (0, 1) such as 0.05, got {alpha!r}")
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, int | np.integer) \
            or n_bootstrap < 1:
        raise DataValidationError(f"n_bootstrap: expected a positive integer, got {n_bootstrap!r}")


@dataclass(frozen=True)
class _Log:
    """Validated arrays of one evaluation, plus the per-round pieces the estimators share."""

    dist: FloatArray
    position: NDArray[np.intp]
    rows: NDArray[np.intp]

    @property
    def n(self) -> int:
        return int(self.dist.shape[0])

    def slot(self, values: FloatArray) -> FloatArray:
        """``values[i, :, position[i]]`` for every round: shape (n, n_actions)."""
        return values[self.rows, :, self.position]


def _log(action_dist: ArrayLike, position: ArrayLike | None) -> _Log:
    dist = _action_dist(action_dist)
    n, _, len_list = dist.shape
    return _Log(dist, _position(position, n, len_list), np.arange(n))


def _weights(log: _Log, action: ArrayLike,
             pscore: ArrayLike) -> tuple[NDArray[np.intp], FloatArray]:
    a = _indices("action", action, log.n, log.dist.shape[1], "axis 1")
    return a, log.dist[log.rows, a, log.position] / _pscore(pscore, log.n)


# ------------------------------------------------------------------------------ bootstrap

def _bootstrap_means(columns: FloatArray, n_bootstrap: int,
                     rng: np.random.Generator) -> FloatArray:
    """Column means of *n_bootstrap* resamples of the rounds: shape (k, n_bootstrap).

    Resamples are drawn in chunks of indices (no Python loop over resamples).  When most
    rounds contribute zero to every column (IPW on clicks: most rewards are 0), only the
    counts of the other rounds matter, and those counts are multinomial: drawing them
    directly gives the same resampling distribution at a fraction of the cost.
    """
    k, n = columns.shape
    out = np.empty((k, n_bootstrap))
    nonzero = np.flatnonzero(np.any(columns != 0, axis=0))
    if nonzero.size == 0:
        out.fill(0.0)
        return out
    if nonzero.size * 4 < n:
        probs = np.append(np.full(nonzero.size, 1.0 / n), 1.0 - nonzero.size / n)
        probs[-1] = max(probs[-1], 0.0)
        step = max(1, _CHUNK_CELLS // (nonzero.size + 1))
        kept = columns[:, nonzero]
        for start in range(0, n_bootstrap, step):  # chunks of resamples
            stop = min(start + step, n_bootstrap)
            counts = rng.multinomial(n, probs, size=stop - start)[:, :-1]
            out[:, start:stop] = (kept @ counts.T) / n
        return out
    step = max(1, _CHUNK_CELLS // n)
    for start in range(0, n_bootstrap, step):  # chunks of resamples
        stop = min(start + step, n_bootstrap)
        idx = rng.integers(0, n, size=(stop - start, n))
        for j in range(k):
            out[j, start:stop] = np.take(columns[j], idx).mean(axis=1)
    return out


def _value(name: str, columns: FloatArray, statistic: Callable[[FloatArray], FloatArray], *,
           alpha: float, n_bootstrap: int, random_state: int | np.random.Generator | None
           ) -> PolicyValue:
    rng = np.random.default_rng(random_state)
    estimate = float(statistic(columns.mean(axis=1, keepdims=True))[0])
    boots = statistic(_bootstrap_means(columns, n_bootstrap, rng))
    low, high = np.nanquantile(boots, [alpha / 2, 1 - alpha / 2])
    return PolicyValue(name, estimate, float(low), float(high), float(alpha),
                       int(columns.shape[1]), int(n_bootstrap))


def _mean(means: FloatArray) -> FloatArray:
    return means[0]


def _ratio(means: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(means[1] > 0, means[0] / np.where(means[1] > 0, means[1], 1.0), np.nan)


# ----------------------------------------------------------------------------- estimators

def ipw(*, reward: ArrayLike, action: ArrayLike, pscore: ArrayLike, action_dist: ArrayLike,
        position: ArrayLike | None = None, alpha: float = 0.05, n_bootstrap: int = 2000,
        random_state: int | np.random.Generator | None = None) -> PolicyValue:
    """Inverse propensity weighting: mean of ``reward * pi_e(a|x, k) / pscore``.

    Unbiased when every logged propensity is right and positive wherever the target
    policy acts; its variance grows with the weights.

    Parameters
    ----------
    reward : array-like of shape (n,)
        Observed reward of each logged round.
    action : array-like of int, shape (n,)
        Logged action (0 .. n_actions - 1).
    pscore : array-like of shape (n,)
        Probability with which the behaviour policy chose the logged action, in (0, 1].
    action_dist : array-like of shape (n, n_actions, len_list)
        Target policy's action probabilities per round and position.
    position : array-like of int, shape (n,), optional
        Slot of the logged action; required when ``len_list > 1``.
    alpha : float, default 0.05
        The interval has level ``1 - alpha``.
    n_bootstrap : int, default 2000
        Bootstrap resamples.
    random_state : int, Generator or None
        Seed of the bootstrap.

    Returns
    -------
    PolicyValue

    Raises
    ------
    DataValidationError
        (a ``ValueError``) on shape mismatches, ``pscore`` outside (0, 1], action
        probabilities that do not sum to 1, or indices out of range.

    Examples
    --------
    >>> import numpy as np
    >>> dist = np.tile([[[0.9], [0.1]]], (4, 1, 1))     # the target plays action 0 90% of the time
    >>> v = ipw(reward=[1.0, 0.0, 0.0, 1.0], action=[0, 0, 1, 1], pscore=[0.5] * 4,
    ...         action_dist=dist, random_state=0)
    >>> v.estimate                                      # (1.8 + 0 + 0 + 0.2) / 4
    0.5
    """
    log = _log(action_dist, position)
    _, w = _weights(log, action, pscore)
    r = _floats("reward", reward, log.n)
    _check_ci(alpha, n_bootstrap)
    return _value("ipw", (r * w)[None, :], _mean, alpha=alpha, n_bootstrap=n_bootstrap,
                  random_state=random_state)


def snipw(*, reward: ArrayLike, action: ArrayLike, pscore: ArrayLike, action_dist: ArrayLike,
          position: ArrayLike | None = None, alpha: float = 0.05, n_bootstrap: int = 2000,
          random_state: int | np.random.Generator | None = None) -> PolicyValue:
    """Self-normalised IPW: ``sum(reward * w) / sum(w)`` with ``w = pi_e / pscore``.

    Slightly biased but consistent, bounded by the range of the rewards, and far less
    variable than :func:`ipw` when the weights are large.  Parameters as :func:`ipw`.

    Returns
    -------
    PolicyValue

    Examples
    --------
    >>> import numpy as np
    >>> dist = np.tile([[[0.9], [0.1]]], (4, 1, 1))
    >>> v = snipw(reward=[1.0, 0.0, 0.0, 1.0], action=[0, 0, 1, 1], pscore=[0.5] * 4,
    ...           action_dist=dist, random_state=0)
    >>> round(v.estimate, 6)                            # (1.8 + 0.2) / (1.8 + 1.8 + 0.2 + 0.2)
    0.5
    """
    log = _log(action_dist, position)
    _, w = _weights(log, action, pscore)
    r = _floats("reward", reward, log.n)
    _check_ci(alpha, n_bootstrap)
    if not np.any(w > 0):
        raise DataValidationError(
            "snipw: the target policy gives probability 0 to every logged action (no overlap "
            "between the two policies); no reweighting estimator can evaluate it on this log")
    return _value("snipw", np.stack([r * w, w]), _ratio, alpha=alpha,
                  n_bootstrap=n_bootstrap, random_state=random_state)


def dm(*, action_dist: ArrayLike, estimated_rewards_by_reg_model: ArrayLike,
       position: ArrayLike | None = None, alpha: float = 0.05, n_bootstrap: int = 2000,
       random_state: int | np.random.Generator | None = None) -> PolicyValue:
    """Direct method: mean over rounds of ``sum_a pi_e(a|x, k) q(x, a, k)``.

    Needs no propensities and has a small variance, but it is only as right as the
    reward model: exact when ``q`` is the true expected reward.

    Parameters
    ----------
    action_dist : array-like of shape (n, n_actions, len_list)
        Target policy's action probabilities per round and position.
    estimated_rewards_by_reg_model : array-like of shape (n, n_actions, len_list)
        The reward model's prediction for every round, action and position.
    position : array-like of int, shape (n,), optional
        Slot of each logged round; required when ``len_list > 1``.
    alpha, n_bootstrap, random_state
        As in :func:`ipw`.

    Returns
    -------
    PolicyValue

    Examples
    --------
    >>> import numpy as np
    >>> dist = np.tile([[[0.9], [0.1]]], (2, 1, 1))
    >>> q = np.tile([[[0.5], [0.1]]], (2, 1, 1))
    >>> round(dm(action_dist=dist, estimated_rewards_by_reg_model=q).estimate, 6)
    0.46
    """
    log = _log(action_dist, position)
    q = _reward_model(estimated_rewards_by_reg_model, log.dist.shape)
    _check_ci(alpha, n_bootstrap)
    direct = np.sum(log.slot(log.dist) * log.slot(q), axis=1)
    return _value("dm", direct[None, :], _mean, alpha=alpha, n_bootstrap=n_bootstrap,
                  random_state=random_state)


def dr(*, reward: ArrayLike, action: ArrayLike, pscore: ArrayLike, action_dist: ArrayLike,
       estimated_rewards_by_reg_model: ArrayLike, position: ArrayLike | None = None,
       alpha: float = 0.05, n_bootstrap: int = 2000,
       random_state: int | np.random.Generator | None = None) -> PolicyValue:
    """Doubly robust: the direct method plus IPW of the reward model's residual.

    ``mean(sum_a pi_e(a|x,k) q(x,a,k) + w * (reward - q(x, a_logged, k)))`` with
    ``w = pi_e / pscore``.  Consistent when either the propensities or the reward model
    is right.  Parameters as :func:`ipw` plus ``estimated_rewards_by_reg_model``.

    Returns
    -------
    PolicyValue

    Examples
    --------
    >>> import numpy as np
    >>> dist = np.tile([[[0.9], [0.1]]], (4, 1, 1))
    >>> q = np.tile([[[0.5], [0.5]]], (4, 1, 1))
    >>> v = dr(reward=[1.0, 0.0, 0.0, 1.0], action=[0, 0, 1, 1], pscore=[0.5] * 4,
    ...        action_dist=dist, estimated_rewards_by_reg_model=q, random_state=0)
    >>> round(v.estimate, 6)                            # 0.5 + (0.9 - 0.9 - 0.1 + 0.1) / 4
    0.5
    """
    log = _log(action_dist, position)
    a, w = _weights(log, action, pscore)
    r = _floats("reward", reward, log.n)
    q = _reward_model(estimated_rewards_by_reg_model, log.dist.shape)
    _check_ci(alpha, n_bootstrap)
    direct = np.sum(log.slot(log.dist) * log.slot(q), axis=1)
    doubly = direct + w * (r - q[log.rows, a, log.position])
    return _value("dr", doubly[None, :], _mean, alpha=alpha, n_bootstrap=n_bootstrap,
                  random_state=random_state)
