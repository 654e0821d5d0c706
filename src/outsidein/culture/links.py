"""Links: culture to performance and to engagement, and what comes first across waves.

* :func:`performance_link`: an organisation-level least-squares regression of performance on
  market orientation, with t-intervals for the slope and a Fisher-z interval for r (meta-
  analyses put this correlation near 0.3);
* :func:`engagement_link`: the same for engagement;
* :func:`kpi_link`: a culture score against one of the company's own customer KPIs (repeat
  rate, CLV, NPS) across waves or departments: the same regression, but it says "too few"
  below :data:`MIN_KPI_POINTS` points, names its units ("waves", "department-waves") and
  words the slope in the KPI's own unit;
* :func:`cross_lagged`: across waves, ``y_t = a + b y_(t-1) + c x_(t-1)`` (and the mirror for
  ``x_t``) over the units seen in consecutive waves, on standardised scores, with
  cluster-robust (by unit) intervals: does a rise in customer focus precede a rise in
  engagement (``c`` > 0) more than the reverse?

>>> rng = np.random.default_rng(0)
>>> orgs = pd.DataFrame({"market_orientation": rng.normal(60, 10, 300)})
>>> orgs["performance"] = 0.4 * orgs["market_orientation"] + rng.normal(0, 5, 300)
>>> r = performance_link(orgs)
>>> bool(r.slope_ci[0] < 0.4 < r.slope_ci[1]), r.n
(True, 300)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from outsidein.culture._results import jsonable
from outsidein.culture.instrument import COMPONENT_LABELS
from outsidein.errors import DataValidationError

__all__ = ["MIN_KPI_POINTS", "CrossLaggedResult", "LinkResult", "cross_lagged",
           "engagement_link", "kpi_link", "performance_link"]

#: The fewest points a KPI link is estimated from: with 3 or 4 waves, a straight line through
#: them says almost nothing, and its interval (t with n - 2 degrees of freedom) is huge.
MIN_KPI_POINTS = 5
#: Below this many points a KPI link is estimated but worded as a hint.
FEW_POINTS = 10


def _label(c: str) -> str:
    return COMPONENT_LABELS.get(c, c.replace("_", " ")).lower()


def _amount(v: float, unit: str, *, named: bool = True) -> str:
    """A change *v* of a KPI in its unit: ``%`` (a share 0-1), ``$`` or points.

    >>> _amount(0.027, "%"), _amount(-3.5, "$"), _amount(1.25, "points", named=False)
    ('+2.7 percentage points', '-$3.50', '+1.2')
    """
    if unit == "$":
        return f"{'-' if v < 0 else '+'}${abs(v):,.2f}"
    text = f"{100 * v:+.1f}" if unit == "%" else f"{v:+.1f}"
    if not named:
        return text
    return f"{text} percentage points" if unit == "%" else f"{text} points"


@dataclass(frozen=True)
class LinkResult:
    """A simple regression of *y* on *x* across units: slope, r, intervals, words."""

    x: str
    y: str
    slope: float
    slope_ci: tuple[float, float]
    r: float
    r_ci: tuple[float, float]
    pvalue: float
    n: int
    level: float
    #: what one point is, plural ("organisations", "waves", "department-waves")
    unit: str = "organisations"
    #: the fewest points estimated from (fewer: no estimate, and the words say so)
    min_n: int = 4
    #: *y* as people read it ("" : from its column name) and its unit (``%``, ``$``, points)
    y_title: str = ""
    y_unit: str = "points"

    @property
    def words(self) -> str:
        """The finding in a sentence."""
        y = self.y_title or _label(self.y)
        if np.isnan(self.slope):
            return (f"Too few {self.unit} ({self.n}) to relate {y} to {_label(self.x)}: "
                    f"at least {self.min_n} are needed.")
        lo, hi = self.slope_ci
        sure = "" if lo > 0 or hi < 0 else " (the interval includes no link at all)"
        hint = (f" With only {self.n} {self.unit}, read it as a hint, not a finding."
                if self.min_n > 4 and self.n < FEW_POINTS else "")
        return (f"Across {self.n} {self.unit}, 10 points more {_label(self.x)} go with "
                f"{_amount(10 * self.slope, self.y_unit)} of {y} ({self.level:.0%} "
                f"interval {_amount(10 * lo, self.y_unit, named=False)} to "
                f"{_amount(10 * hi, self.y_unit, named=self.y_unit == '$')}"
                f"; r = {self.r:.2f}){sure}.{hint}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values with the words."""
        return jsonable({**asdict(self), "words": self.words})

    def to_pandas(self) -> pd.DataFrame:
        """One row."""
        return pd.DataFrame([self.to_dict()])

    def __repr__(self) -> str:
        return f"LinkResult({self.y} ~ {self.x}: slope {self.slope:.3f}, r {self.r:.2f}, " \
               f"n {self.n})"


def _link(table: pd.DataFrame, x: str, y: str, level: float, min_n: int = 4,
          **words: Any) -> LinkResult:
    for c in (x, y):
        if c not in table.columns:
            raise DataValidationError(f"link: no column {c!r}")
    d = table[[x, y]].astype(float).dropna()
    n = len(d)
    nan2 = (float("nan"), float("nan"))
    if n < max(min_n, 4) or d[x].std() == 0 or d[y].std() == 0:
        return LinkResult(x, y, float("nan"), nan2, float("nan"), nan2, float("nan"), n, level,
                          min_n=max(min_n, 4), **words)
    res = stats.linregress(d[x].to_numpy(), d[y].to_numpy())
    t = stats.t.ppf(0.5 + level / 2, n - 2)
    slope = float(res.slope)
    ci = (slope - t * float(res.stderr), slope + t * float(res.stderr))
    r = float(res.rvalue)
    z, se = np.arctanh(np.clip(r, -0.999999, 0.999999)), 1 / np.sqrt(n - 3)
    zc = stats.norm.ppf(0.5 + level / 2)
    return LinkResult(x, y, slope, ci, r, (float(np.tanh(z - zc * se)),
                                           float(np.tanh(z + zc * se))),
                      float(res.pvalue), n, level, min_n=max(min_n, 4), **words)


def performance_link(orgs: pd.DataFrame, x: str = "market_orientation",
                     y: str = "performance", level: float = 0.95) -> LinkResult:
    """Regress organisations' *y* (performance) on *x* (market orientation), one row each."""
    return _link(orgs, x, y, level)


def engagement_link(table: pd.DataFrame, x: str = "market_orientation",
                    y: str = "engagement", level: float = 0.95) -> LinkResult:
    """The link of engagement with market orientation across the rows of *table*."""
    return _link(table, x, y, level)


def kpi_link(table: pd.DataFrame, x: str, y: str, *, unit: str = "waves",
             y_title: str = "", y_unit: str = "points", min_n: int = MIN_KPI_POINTS,
             level: float = 0.95) -> LinkResult:
    """Regress a customer KPI *y* on a culture score *x* across the rows of *table* (one per
    wave, or per department and wave), with a t-interval for the slope.

    Fewer than *min_n* rows with both values: no estimate, and the words say how many more
    are needed; fewer than :data:`FEW_POINTS`: estimated, worded as a hint.

    >>> t = pd.DataFrame({"market_orientation": [50, 55, 60], "nps": [10, 12, 15]})
    >>> kpi_link(t, "market_orientation", "nps", y_title="NPS").words
    'Too few waves (3) to relate NPS to market orientation: at least 5 are needed.'
    """
    return _link(table, x, y, level, min_n, unit=unit, y_title=y_title, y_unit=y_unit)


@dataclass(frozen=True)
class CrossLaggedResult:
    """Standardised cross-lagged effects with cluster-robust intervals."""

    x: str
    y: str
    x_to_y: float
    x_to_y_ci: tuple[float, float]
    y_to_x: float
    y_to_x_ci: tuple[float, float]
    stability_y: float
    stability_x: float
    n_pairs: int
    n_units: int
    level: float

    @property
    def words(self) -> str:
        """The finding in a sentence."""
        if np.isnan(self.x_to_y):
            return (f"Not enough repeated measurements ({self.n_pairs} unit-wave pairs) to "
                    f"tell whether {_label(self.x)} precedes {_label(self.y)}.")
        lo, hi = self.x_to_y_ci
        if lo > 0:
            verdict = (f"A rise in {_label(self.x)} is followed by a rise in {_label(self.y)} "
                       f"in the next wave")
        elif hi < 0:
            verdict = (f"A rise in {_label(self.x)} is followed by a fall in {_label(self.y)} "
                       f"in the next wave")
        else:
            verdict = (f"There is no clear sign that {_label(self.x)} leads "
                       f"{_label(self.y)}")
        return (f"{verdict} ({self.x_to_y:+.2f} SD per SD, {self.level:.0%} interval "
                f"{lo:+.2f} to {hi:+.2f}; the reverse path is {self.y_to_x:+.2f}; "
                f"{self.n_pairs} pairs of waves in {self.n_units} units).")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values with the words."""
        return jsonable({**asdict(self), "words": self.words})

    def to_pandas(self) -> pd.DataFrame:
        """One row."""
        return pd.DataFrame([self.to_dict()])

    def __repr__(self) -> str:
        return (f"CrossLaggedResult({self.x} -> {self.y}: {self.x_to_y:+.3f} "
                f"[{self.x_to_y_ci[0]:+.3f}, {self.x_to_y_ci[1]:+.3f}], reverse "
                f"{self.y_to_x:+.3f}, {self.n_pairs} pairs)")


def _ols_cluster(X: np.ndarray, y: np.ndarray, cluster: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, int]:
    """Coefficients and CR1 cluster-robust standard errors."""
    n, k = X.shape
    xtx_inv = np.linalg.inv(X.T @ X)
    beta = xtx_inv @ X.T @ y
    e = y - X @ beta
    codes, _ = pd.factorize(cluster)
    G = int(codes.max()) + 1
    scores = np.zeros((G, k))
    np.add.at(scores, codes, X * e[:, None])
    meat = scores.T @ scores
    corr = G / (G - 1) * (n - 1) / (n - k) if G > 1 and n > k else 1.0
    cov = corr * xtx_inv @ meat @ xtx_inv
    return beta, np.sqrt(np.diag(cov)), G


def cross_lagged(panel: pd.DataFrame, *, unit: str = "org", wave: str = "wave",
                 x: str = "customer_orientation", y: str = "engagement",
                 level: float = 0.95) -> CrossLaggedResult:
    """Cross-lagged panel estimate of *x* -> *y* across consecutive waves of each unit.

    *panel* may hold one row per respondent or per unit and wave: rows are averaged per
    (unit, wave) first.  Waves are ordered by sorting their labels.
    """
    for c in (unit, wave, x, y):
        if c not in panel.columns:
            raise DataValidationError(f"cross-lagged: no column {c!r}")
    m = panel.groupby([unit, wave], observed=True)[[x, y]].mean().reset_index()
    order = {w: i for i, w in enumerate(sorted(m[wave].unique()))}
    m["_t"] = m[wave].map(order)
    prev = m.assign(_t=m["_t"] + 1)
    pairs = m.merge(prev, on=[unit, "_t"], suffixes=("", "_prev")).dropna(
        subset=[x, y, f"{x}_prev", f"{y}_prev"])
    n = len(pairs)
    nan2 = (float("nan"), float("nan"))
    n_units = int(pairs[unit].nunique()) if n else 0
    if n < 8 or n_units < 4:
        return CrossLaggedResult(x, y, float("nan"), nan2, float("nan"), nan2, float("nan"),
                                 float("nan"), n, n_units, level)

    def z(v: pd.Series, ref: pd.Series) -> np.ndarray:
        return ((v - ref.mean()) / ref.std()).to_numpy(dtype=float)

    xs = pd.concat([pairs[x], pairs[f"{x}_prev"]])
    ys = pd.concat([pairs[y], pairs[f"{y}_prev"]])
    X = np.column_stack([np.ones(n), z(pairs[f"{y}_prev"], ys), z(pairs[f"{x}_prev"], xs)])
    cl = pairs[unit].astype(str).to_numpy()
    b_y, se_y, G = _ols_cluster(X, z(pairs[y], ys), cl)
    X2 = np.column_stack([np.ones(n), z(pairs[f"{x}_prev"], xs), z(pairs[f"{y}_prev"], ys)])
    b_x, se_x, _ = _ols_cluster(X2, z(pairs[x], xs), cl)
    t = stats.t.ppf(0.5 + level / 2, max(G - 1, 1))
    return CrossLaggedResult(
        x, y, float(b_y[2]), (float(b_y[2] - t * se_y[2]), float(b_y[2] + t * se_y[2])),
        float(b_x[2]), (float(b_x[2] - t * se_x[2]), float(b_x[2] + t * se_x[2])),
        float(b_y[1]), float(b_x[1]), n, n_units, level)
