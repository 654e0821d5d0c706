"""Change points in a KPI series with weekly and yearly seasonality: STL, a step scan, CUSUM.

:class:`ChangeDetector` reads one series (one value per day or per week, oldest first,
``NaN`` where there is nothing to measure) in four steps:

1. **Deseasonalise.**  STL (statsmodels, robust LOESS) with the weekly period removes the
   day-of-week pattern (period 7 for days; none for weeks); measured here, about 40 ms on
   two years of days.  The yearly pattern is not removed as a component: an explicit yearly
   component (MSTL, periods 7 and 365) needs several years, and, measured here on three
   years with a planted step, it moved part of the step into the same days a year earlier
   and reported a false change there.  The yearly swing is smooth over a few weeks, so the
   local trend of step 2 absorbs it instead.
2. **Scan for steps.**  At every period, a regression of the deseasonalised values of the
   :attr:`~ChangeDetector.min_after` periods each side on a local line plus a step at that
   period (solved for all periods at once: the design is the same everywhere) gives the
   step and its p-value.  A trend or the yearly swing go into the line, so they do not pass
   for a step; values are clipped at 4 noise units (the MAD of first differences, which a
   step or a trend does not inflate) from the running median, so a few storm days do not
   make one.  A change is kept where the step is significant at level ``alpha`` (small,
   because the best of many places is kept, which flatters any p-value), reaches
   ``min_change`` of the level before it (or ``min_abs``) in the plain means too (a free
   slope can fake a step), and lasts (in both halves of the periods after it).  The
   clearest change of each neighbourhood wins.
3. **Place the break: ruptures** Binseg (one break, least squares) on the periods around
   the scan's change (it found a planted shift exactly here; Pelt needs a penalty tuned per
   series and broke trends spuriously).  Binseg alone over a whole history would also cut
   trends and seasons into "changes": the scan decides whether there is one, ruptures where.
4. **Date the online alarm: CUSUM.**  A one-sided CUSUM from the level before the break
   (allowance: the larger of ``k`` noise units and half of ``min_change``) says when a daily
   watch would first have sounded (``alarm``, passing ``h``); the change is confirmed
   ``min_after`` periods after the break (``detected``).  river's Page-Hinkley found a
   planted shift 3 days later than this here, and ADWIN gave one false alarm.

Each change (:class:`Change`) has the period it starts at, the alarm and confirmation
periods, the means of the raw series over up to :attr:`~ChangeDetector.window` periods
before and after, the relative change, the p-value and the CUSUM statistic: the evidence an
alert shows.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> days = np.arange(700)
>>> y = 10 + 2 * np.sin(2 * np.pi * days / 7) + rng.normal(0, 1, 700)
>>> y[500:] -= 3
>>> det = ChangeDetector().fit(y)
>>> [(c.at, c.direction) for c in det.changes_]
[(500, 'down')]
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
import ruptures as rpt
from scipy.stats import t as student_t
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from statsmodels.tsa.seasonal import MSTL, STL

__all__ = ["Change", "ChangeDetector", "deseasonalise", "robust_scale"]


@dataclass(frozen=True)
class Change:
    """One confirmed change: where it starts (*at*), when the watch confirmed it (*detected*).

    *before* and *after* are the series' means over the windows each side; *step* is the
    jump at the break and *level* the level just before it, with the trend and the yearly
    swing taken out (the regression of the module doc), so *relative* is ``step / level``.
    """

    at: int
    detected: int
    alarm: int | None
    before: float
    after: float
    n_before: int
    n_after: int
    step: float
    level: float
    p_value: float
    cusum: float
    scale: float

    @property
    def direction(self) -> str:
        """``"up"`` or ``"down"``: the sign of the step."""
        return "up" if self.step > 0 else "down"

    @property
    def relative(self) -> float | None:
        """``step / |level|`` (None when the level is 0)."""
        return self.step / abs(self.level) if self.level else None

    def to_dict(self) -> dict[str, Any]:
        """Plain values, with the direction and the relative change."""
        return {**asdict(self), "direction": self.direction, "relative": self.relative}


def robust_scale(x: np.ndarray) -> float:
    """The noise scale of *x* from its first differences (a step or a trend barely moves it).

    ``1.4826 * MAD(diff) / sqrt(2)``; when over half the differences are equal (sparse
    counts), the standard deviation of the differences over ``sqrt(2)`` instead.

    >>> noise = np.random.default_rng(1).normal(0.0, 2.0, 5000)
    >>> step = np.r_[np.zeros(2500), 9 * np.ones(2500)]
    >>> round(robust_scale(noise), 1), round(robust_scale(noise + step), 1)
    (2.0, 2.0)
    """
    d = np.diff(x[np.isfinite(x)])
    if len(d) < 2:
        return 0.0
    mad = float(np.median(np.abs(d - np.median(d))))
    if mad > 0:
        return float(1.4826 * mad / np.sqrt(2.0))
    return float(np.std(d)) / np.sqrt(2.0)


def pd_rolling_median(v: np.ndarray, width: int) -> np.ndarray:
    """Centred running median of *v* over *width* values (fewer at the ends)."""
    return np.asarray(pd.Series(v).rolling(width, center=True, min_periods=1).median())


def deseasonalise(y: np.ndarray, period: int, yearly: int | None) -> np.ndarray:
    """The seasonal part of *y* (weekly *period*, and *yearly* when given) by robust STL.

    :class:`ChangeDetector` uses the weekly part only (see the module doc for why).

    Gaps (``NaN``) are filled by linear interpolation for the fit; too short a series (fewer
    than two cycles) has no seasonal part (zeros).

    >>> s = deseasonalise(np.tile([1.0, 1.0, 1.0, 1.0, 1.0, 3.0, 3.0], 20), 7, None)
    >>> bool(abs(s[5] - s[0] - 2.0) < 0.01)
    True
    """
    n = len(y)
    ok = np.isfinite(y)
    if ok.sum() < 3 or period < 2 or n < 2 * period + 1:
        return np.zeros(n)
    filled = np.interp(np.arange(n), np.flatnonzero(ok), y[ok])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if yearly is not None and n >= 2 * yearly:
            res = MSTL(filled, periods=(period, yearly), stl_kwargs={"robust": True}).fit()
            seasonal = np.asarray(res.seasonal).sum(axis=1)
        else:
            seasonal = np.asarray(STL(filled, period=period, robust=True).fit().seasonal)
    return np.asarray(seasonal, dtype=float)


class ChangeDetector(BaseEstimator):  # type: ignore[misc]
    """Shifts in the level of one KPI series (see the module doc for the method and reasons).

    Parameters
    ----------
    period
        The weekly period in periods (7 for days; 1 for weeks: no weekly pattern).
    k, h
        CUSUM allowance and alarm threshold, in noise units.
    baseline
        Periods of history needed before the first change can be found.
    min_after
        Periods each side of a break that the scan compares (so also the periods after a
        change needed to confirm it).
    degree
        Degree of the local trend in the confirming regression (1: a line; 2 for weekly
        series, whose windows span a good part of the yearly swing).
    window
        Periods before and after a change over which *before* and *after* are averaged.
    min_abs
        Smallest absolute change worth an alert, instead of *min_change* (for a KPI such as
        NPS whose level may be near 0).
    min_change
        Smallest relative change worth an alert (0.1: 10% of the level before).
    alpha
        Level of the step's t-test that keeps a change.
    """

    def __init__(self, period: int = 7, k: float = 0.5, h: float = 10.0, baseline: int = 56,
                 min_after: int = 42, degree: int = 1,
                 window: int = 91, min_change: float = 0.1, min_abs: float | None = None,
                 alpha: float = 1e-4) -> None:
        self.period = period
        self.k = k
        self.h = h
        self.baseline = baseline
        self.min_after = min_after
        self.degree = degree
        self.window = window
        self.min_abs = min_abs
        self.min_change = min_change
        self.alpha = alpha

    def fit(self, y: Any) -> ChangeDetector:
        """Find the changes of *y* (1-D, oldest first, ``NaN`` for periods without data)."""
        y = np.asarray(y, dtype=float)
        if y.ndim != 1:
            raise ValueError("ChangeDetector: expected one series (1-D)")
        self.seasonal_ = deseasonalise(y, self.period if self.period > 1 else 0, None)
        self.adjusted_ = y - self.seasonal_
        ok = np.isfinite(y)
        self.scale_ = max(robust_scale(self.adjusted_), 1e-12)
        self.changes_: list[Change] = []
        if ok.sum() < self.baseline + self.min_after:
            return self
        first = self._after_valid(ok, int(np.flatnonzero(ok)[0]), self.baseline)
        p, step, level = self._scan(ok, first)
        need = (np.abs(level) * self.min_change if self.min_abs is None
                else np.full(len(level), self.min_abs))
        hit = (p < self.alpha) & (np.abs(step) >= need)
        taken = np.zeros(len(y), dtype=bool)
        for c in np.flatnonzero(hit)[np.argsort(p[hit], kind="stable")]:
            if taken[max(0, c - self.min_after):c + self.min_after].any():
                continue  # one change per neighbourhood: the clearest
            change = self._change(y, ok, int(c))
            if change is not None:
                self.changes_.append(change)
                taken[change.at] = True
        self.changes_.sort(key=lambda ch: ch.at)
        return self

    def _scan(self, ok: np.ndarray, first: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The step test (:meth:`_step_test`) at every period from *first*: p, step, level.

        Where the ``2 * min_after`` periods around a position are all there (the usual case)
        the regression's design is the same everywhere, so all positions are solved at once.
        """
        n, w = len(ok), self.min_after
        p, step, level = np.ones(n), np.zeros(n), np.zeros(n)
        valid = np.flatnonzero(ok)
        full = np.zeros(n, dtype=bool)
        if n >= 2 * w:
            gaps = np.lib.stride_tricks.sliding_window_view(~ok, 2 * w).any(axis=1)
            full[w:n - w + 1] = ~gaps
        full[:first] = False
        if full.any():
            x = self._design(np.arange(-w, w), 0)
            v = self._clipped()
            windows = np.lib.stride_tricks.sliding_window_view(v, 2 * w)[np.flatnonzero(full) - w]
            pinv = np.linalg.pinv(x)
            beta = windows @ pinv.T
            rss = ((windows - beta @ x.T) ** 2).sum(axis=1)
            dof = 2 * w - x.shape[1]
            s2 = rss / dof
            se = np.sqrt(np.maximum(s2 * np.linalg.inv(x.T @ x)[-1, -1], 1e-300))
            tstat = np.where(s2 > 0, np.abs(beta[:, -1]) / se, np.inf)
            p[full], step[full], level[full] = (2 * student_t.sf(tstat, dof), beta[:, -1],
                                                beta[:, 0])
        for c in range(first, n):  # positions with gaps around them
            if full[c] or not ok[c]:
                continue
            k = int(np.searchsorted(valid, c))
            before, after = valid[max(0, k - w):k], valid[k:k + w]
            if len(after) < w or len(before) < w // 2:
                continue
            p[c], step[c], level[c] = self._step_test(np.r_[before, after], c)
        return p, step, level

    def _design(self, offsets: np.ndarray, at: int) -> np.ndarray:
        """Columns: the local trend's powers of the time from the break, then the step."""
        t = (offsets - at).astype(float)
        t = t / max(1.0, float(np.abs(t).max()))
        return np.column_stack([t ** d for d in range(self.degree + 1)]
                               + [(offsets >= at).astype(float)])

    def _clipped(self) -> np.ndarray:
        """The deseasonalised values clipped at 4 noise units from their running median (so
        storm days weigh little), gaps as 0."""
        v = self.adjusted_
        med = pd_rolling_median(v, 2 * self.min_after + 1)
        out = np.clip(v, med - 4 * self.scale_, med + 4 * self.scale_)
        return np.where(np.isfinite(out), out, 0.0)

    def _change(self, y: np.ndarray, ok: np.ndarray, c: int) -> Change | None:
        """Place the break near *c* (ruptures), test it there, and date the online alarm."""
        n = len(y)
        near = self._valid(ok, max(0, c - self.min_after), min(n, c + self.min_after))
        algo = rpt.Binseg(model="l2", min_size=max(self.period, 2), jump=1)
        cut = algo.fit(self.adjusted_[near].reshape(-1, 1)).predict(n_bkps=1)[0]
        at = int(near[cut]) if 0 < cut < len(near) else c
        before = self._valid(ok, 0, at)[-self.min_after:]
        after = self._valid(ok, at, n)[:self.min_after]
        if len(after) < self.min_after or len(before) < self.min_after // 2:
            return None
        p, step, level = self._step_test(np.r_[before, after], at)
        need = abs(level) * self.min_change if self.min_abs is None else self.min_abs
        base = float(np.mean(self.adjusted_[before]))
        moved = float(np.mean(self.adjusted_[after])) - base
        half = len(after) // 2
        halves = [float(np.mean(self.adjusted_[h])) - base for h in (after[:half], after[half:])]
        if (not p < self.alpha or abs(step) < need or moved * step <= 0
                or min(abs(moved), *(abs(h) for h in halves)) < need
                or any(h * moved <= 0 for h in halves)):
            return None  # the step shows in the plain means too, and lasts (both halves after)
        alarm, stat = self._cusum(np.r_[before, after], at, step, level)
        shown_b = self._valid(ok, max(0, at - self.window), at)
        shown_a = self._valid(ok, at, min(n, at + self.window))
        return Change(at=at, detected=int(after[-1]), alarm=alarm,
                      before=float(np.mean(y[shown_b])), after=float(np.mean(y[shown_a])),
                      n_before=len(shown_b), n_after=len(shown_a), step=moved,
                      level=base,
                      p_value=p, cusum=stat, scale=self.scale_)

    def _cusum(self, idx: np.ndarray, at: int, step: float,
               level: float) -> tuple[int | None, float]:
        """When a one-sided CUSUM from the level before *at* first passed ``h`` after *at*."""
        base = self.adjusted_[idx[idx < at]]
        mu = float(np.mean(base)) if len(base) else level
        allow = max(self.k * self.scale_, 0.5 * self.min_change * abs(mu))
        sign = 1.0 if step > 0 else -1.0
        z = sign * (self.adjusted_[idx[idx >= at]] - mu) - allow
        s, top = 0.0, 0.0
        for j, v in zip(idx[idx >= at], z / self.scale_, strict=True):
            s = max(0.0, s + float(v))
            top = max(top, s)
            if s >= self.h:
                return int(j), s
        return None, top

    def _after_valid(self, ok: np.ndarray, start: int, count: int) -> int:
        """The index after *count* valid periods from *start* (len when there are fewer)."""
        idx = np.flatnonzero(ok[start:])
        return int(start + idx[count - 1] + 1) if len(idx) >= count else len(ok)

    @staticmethod
    def _valid(ok: np.ndarray, lo: int, hi: int) -> np.ndarray:
        return np.flatnonzero(ok[lo:hi]) + lo

    def _step_test(self, idx: np.ndarray, at: int) -> tuple[float, float, float]:
        """OLS of the deseasonalised values at *idx* on a local trend and a step at *at*.

        Returns (p, step, level).  Slow movements (a trend, the yearly swing over a few
        weeks) go into the trend, so only a break in the level counts; values are clipped at
        4 noise units from the running median, so that a few storm days do not make a step.
        """
        v = self._clipped()[idx]
        x = self._design(idx, at)
        beta, _res, rank, _sv = np.linalg.lstsq(x, v, rcond=None)
        dof = len(v) - x.shape[1]
        if rank < x.shape[1] or dof < 1:
            return 1.0, 0.0, float(beta[0])
        resid = v - x @ beta
        s2 = float(resid @ resid) / dof
        cov = s2 * np.linalg.inv(x.T @ x)
        se = math.sqrt(max(cov[-1, -1], 1e-300))
        p = float(2 * student_t.sf(abs(beta[-1]) / se, dof)) if s2 > 0 else 0.0
        return p, float(beta[-1]), float(beta[0])

    def check_fitted(self) -> None:
        """Raise :class:`NotFittedError` before :meth:`fit`."""
        if not hasattr(self, "changes_"):
            raise NotFittedError("ChangeDetector: call fit(y) first")
