"""May individual answers be read as a group's score?  ICC(1), ICC(2) and r_wg(J).

For unbalanced groups (one-way ANOVA with the adjusted mean group size
``k0 = (N - sum(n_g^2) / N) / (G - 1)``):

* ICC(1) = (MSB - MSW) / (MSB + (k0 - 1) MSW): the share of variance that lies between groups;
* ICC(2) = (MSB - MSW) / MSB = 1 - 1/F: the reliability of a group's mean;
* intervals from the F distribution (Shrout & Fleiss 1979, one-way model);
* r_wg(J) (James, Demaree & Wolf 1984) for a group answering J items on A-point scales:
  ``J (1 - q) / (J (1 - q) + q)`` with ``q`` the mean ratio of each item's within-group
  variance to the uniform null variance ``(A^2 - 1) / 12``; ``q >= 1`` gives 0.

A group's score is *supported* when its r_wg(J) is at least 0.70 (and it has two answers or
more); the sample supports aggregation when ICC(2) is at least 0.70.  We compute these
directly (pingouin's ``intraclass_corr`` needs a balanced design).

>>> rng = np.random.default_rng(0)
>>> g = np.repeat(np.arange(200), rng.integers(5, 40, 200))
>>> y = rng.normal(size=200)[g] * 0.5 + rng.normal(size=g.size)  # true ICC(1) = .2
>>> r = icc(y, g)
>>> bool(r.icc1_ci[0] < 0.2 < r.icc1_ci[1])
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from outsidein.culture._results import jsonable
from outsidein.culture.instrument import Instrument

__all__ = ["ICC", "AggregationResult", "aggregation", "group_keys", "icc", "rwg_j"]


@dataclass(frozen=True)
class ICC:
    """ICC(1) and ICC(2) with their intervals, and the ANOVA behind them."""

    icc1: float
    icc1_ci: tuple[float, float]
    icc2: float
    icc2_ci: tuple[float, float]
    f: float
    pvalue: float
    k0: float
    n_groups: int
    n: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values."""
        return jsonable(asdict(self))


def icc(values: Sequence[float] | np.ndarray | pd.Series,
        groups: Sequence[Any] | np.ndarray | pd.Series, *, level: float = 0.95) -> ICC:
    """ICC(1), ICC(2), their intervals at *level*, F and its p-value; NaN values are dropped."""
    y = np.asarray(values, dtype=float)
    codes, _ = pd.factorize(np.asarray(groups), use_na_sentinel=True)
    ok = ~np.isnan(y) & (codes >= 0)
    y, codes = y[ok], codes[ok]
    _, codes = np.unique(codes, return_inverse=True)
    n_g = np.bincount(codes).astype(float)
    G, N = len(n_g), float(len(y))
    nan2 = (float("nan"), float("nan"))
    if G < 2 or N - G < 1:
        return ICC(float("nan"), nan2, float("nan"), nan2, float("nan"), float("nan"),
                   float("nan"), G, int(N))
    means = np.bincount(codes, weights=y) / n_g
    grand = y.mean()
    msb = float(np.sum(n_g * (means - grand) ** 2) / (G - 1))
    msw = float(np.sum((y - means[codes]) ** 2) / (N - G))
    k0 = float((N - np.sum(n_g ** 2) / N) / (G - 1))
    if msw == 0:  # everyone agrees with their group: the F-based intervals are 0/0
        one = 1.0 if msb > 0 else float("nan")
        return ICC(one, (one, one), one, (one, one), float("inf") if msb > 0 else float("nan"),
                   0.0 if msb > 0 else float("nan"), k0, G, int(N))
    F = msb / msw
    icc1 = (msb - msw) / (msb + (k0 - 1) * msw)
    icc2 = (msb - msw) / msb if msb > 0 else float("nan")
    a = 1 - level
    fl = F / stats.f.ppf(1 - a / 2, G - 1, N - G)
    fu = F * stats.f.ppf(1 - a / 2, N - G, G - 1)
    ci1 = ((fl - 1) / (fl + k0 - 1), (fu - 1) / (fu + k0 - 1))
    ci2 = (1 - 1 / fl, 1 - 1 / fu)
    return ICC(float(icc1), (float(ci1[0]), float(ci1[1])), float(icc2),
               (float(ci2[0]), float(ci2[1])), float(F), float(stats.f.sf(F, G - 1, N - G)),
               k0, G, int(N))


def rwg_j(items: pd.DataFrame, groups: pd.Series | np.ndarray | Sequence[Any],
          scale_points: Sequence[int]) -> pd.Series:
    """r_wg(J) per group for the item columns of *items* (answers on *scale_points*-point scales).

    >>> X = pd.DataFrame({"a": [4, 4, 4, 1, 5, 3], "b": [4, 5, 4, 2, 5, 1]})
    >>> rwg_j(X, ["x", "x", "x", "y", "y", "y"], [5, 5]).round(2).tolist()
    [0.96, 0.0]
    """
    null = (np.asarray(scale_points, dtype=float) ** 2 - 1) / 12
    g = pd.Series(np.asarray(groups), index=items.index)
    var = items.groupby(g, sort=True).var(ddof=1)
    q = (var.to_numpy(dtype=float) / null).mean(axis=1)
    J = items.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        r = J * (1 - q) / (J * (1 - q) + q)
    r = np.where(q >= 1, 0.0, r)
    return pd.Series(r, index=var.index, name="rwg")


def group_keys(frame: pd.DataFrame, unit: str | Sequence[str]) -> pd.Series:
    """One label per row for *unit* (a column, or columns joined with `` / ``)."""
    cols = [unit] if isinstance(unit, str) else list(unit)
    if len(cols) == 1:
        return frame[cols[0]].astype(str)
    return frame[cols].astype(str).agg(" / ".join, axis=1)


@dataclass(frozen=True)
class AggregationResult:
    """ICCs and agreement per component, and which groups' scores agreement supports."""

    unit: str
    components: dict[str, dict[str, Any]]
    groups: pd.DataFrame  # [unit, component, n, rwg, supported]

    def to_dict(self) -> dict[str, Any]:
        """``{"unit", "components": {c: {icc1, icc1_ci, icc2, icc2_ci, mean_rwg, ...}}}``.

        The per-group table ``groups`` is left out: a group's r_wg says something about a
        group that may be too small to show; views take it through
        :func:`~outsidein.culture.analyse_wave`, which applies the anonymity rules.
        """
        return {"unit": self.unit, "components": jsonable(self.components)}

    def to_pandas(self) -> pd.DataFrame:
        """One row per component."""
        return pd.DataFrame([{"component": c, **v} for c, v in self.components.items()])

    def supported(self, group: str, component: str) -> bool:
        """Whether *group*'s *component* score may be read as a group score."""
        g = self.groups
        row = g[(g[self.unit] == group) & (g["component"] == component)]
        return bool(len(row)) and bool(row["supported"].iloc[0])

    def __repr__(self) -> str:
        rows = "; ".join(f"{c}: ICC1 {v['icc1']:.2f}, ICC2 {v['icc2']:.2f}, "
                         f"r_wg {v['mean_rwg']:.2f}" for c, v in self.components.items())
        return f"AggregationResult(by {self.unit}: {rows})"


def aggregation(keyed_items: pd.DataFrame, scores: pd.DataFrame, instrument: Instrument, *,
                unit: str | Sequence[str] = "org", rwg_min: float = 0.70,
                icc2_min: float = 0.70, level: float = 0.95) -> AggregationResult:
    """ICC(1), ICC(2), r_wg(J) per component across the groups of *unit*.

    *scores* (from :func:`~outsidein.culture.score_respondents`) holds the *unit* column(s)
    and the component scores; *keyed_items* the reverse-keyed answers, same rows.
    """
    name = unit if isinstance(unit, str) else "/".join(unit)
    keys = group_keys(scores, unit)
    sizes = keys.value_counts()
    comps: dict[str, dict[str, Any]] = {}
    rows = []
    for c in instrument.components:
        its = instrument.items_for(c)
        if len(its) < 2 or c not in scores.columns:
            continue
        r = icc(scores[c].to_numpy(), keys.to_numpy(), level=level)
        rw = rwg_j(keyed_items[[it.id for it in its]], keys, [it.points for it in its])
        n = sizes.reindex(rw.index).fillna(0).astype(int)
        sup = (rw >= rwg_min) & (n >= 2)
        comps[c] = {"icc1": r.icc1, "icc1_ci": list(r.icc1_ci), "icc2": r.icc2,
                    "icc2_ci": list(r.icc2_ci), "f": r.f, "pvalue": r.pvalue,
                    "n_groups": r.n_groups, "mean_rwg": float(np.nanmean(rw.to_numpy())),
                    "share_supported": float(sup.mean()),
                    "supports_aggregation": bool(r.icc2 >= icc2_min)}
        rows.append(pd.DataFrame({name: rw.index.astype(str), "component": c,
                                  "n": n.to_numpy(), "rwg": rw.to_numpy(),
                                  "supported": sup.to_numpy()}))
    groups = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=[name, "component", "n", "rwg", "supported"])
    return AggregationResult(name, comps, groups)
