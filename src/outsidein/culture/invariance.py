"""Measurement invariance: do the items mean the same thing in every group compared?

Before percentiles compare organisations or industries, three nested multi-group CFAs are
fitted (:mod:`outsidein.culture._mgcfa`, normal-theory ML as lavaan):

* **configural**: the same items load on the same factors in every group;
* **metric**: the loadings are equal across groups (a point of the scale means the same);
* **scalar**: the intercepts are equal too (groups' means can be compared).

Each level is judged by the drop in CFI from the level before (Cheung & Rensvold 2002:
more than 0.01 means the constraint does not hold).  When it fails, the items responsible are
named: each item's constraint is released in turn, the items whose release improves the CFI
most are freed one after another until the drop is within 0.01, then any further item whose
release alone improves the CFI by a fifth of 0.01 or more; those items are listed.
On Holzinger & Swineford by school this reproduces lavaan's chi-squares (115.851, 124.044,
164.103 on 48, 54 and 60 df).

>>> rng = np.random.default_rng(3)
>>> f = rng.normal(size=(1200, 1))
>>> X = pd.DataFrame(f * .8 + rng.normal(size=(1200, 4)) * .6, columns=list("abcd"))
>>> X["grp"] = np.repeat(["u", "v", "w"], 400)
>>> mi = MeasurementInvariance({"F": list("abcd")}, group="grp").fit(X)
>>> mi.holds_["scalar"], mi.levels_["metric"].df
(True, 12)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator

from outsidein.culture._mgcfa import LEVELS, MGFit, baseline_chi2, fit_multigroup, moments
from outsidein.culture._results import jsonable
from outsidein.culture.cfa import FitIndices, srmr
from outsidein.errors import DataValidationError, NotFittedError

__all__ = ["MeasurementInvariance"]


def _indices(fit: MGFit, base: tuple[float, int], n: np.ndarray, cov: np.ndarray) -> FitIndices:
    chi2, df = fit.chi2, fit.df
    b_chi2, b_df = base
    G, N = len(n), float(n.sum())
    denom = max(b_chi2 - b_df, chi2 - df, 0.0)
    cfi = 1.0 - max(chi2 - df, 0.0) / denom if denom > 0 else 1.0
    tli = ((b_chi2 / b_df) - (chi2 / df)) / ((b_chi2 / b_df) - 1) if df > 0 else 1.0
    rmsea = float(np.sqrt(max(chi2 - df, 0.0) / (df * N)) * np.sqrt(G)) if df > 0 else 0.0
    s = float(sum(n[g] / N * srmr(cov[g], fit.sigma[g]) for g in range(G)))
    return FitIndices(chi2=chi2, df=int(df), pvalue=float(stats.chi2.sf(chi2, df)),
                      cfi=float(cfi), tli=float(tli), rmsea=rmsea, srmr=s, n=int(N))


class MeasurementInvariance(BaseEstimator):  # type: ignore[misc]
    """Configural, metric and scalar invariance of the component model across groups.

    Parameters
    ----------
    factors : mapping
        ``{factor: [item, ...]}`` (e.g. :meth:`Instrument.factors`).
    group : str
        The column of X that names each row's group (``"industry"``, ``"org"``).
    min_group_n : int
        Groups with fewer complete responses are left out (and listed in ``dropped_groups_``).
    delta_cfi : float
        The largest drop in CFI a level may cause and still hold.
    max_released : float
        At most this share of the items is released when naming non-invariant items.

    Attributes
    ----------
    levels_ : dict of FitIndices, ``delta_cfi_``, ``holds_``, ``non_invariant_items_``,
    groups_ (the groups compared, with their sizes), dropped_groups_.
    """

    def __init__(self, factors: Mapping[str, Sequence[str]], *, group: str = "industry",
                 min_group_n: int = 30, delta_cfi: float = 0.01,
                 max_released: float = 0.5) -> None:
        self.factors = factors
        self.group = group
        self.min_group_n = min_group_n
        self.delta_cfi = delta_cfi
        self.max_released = max_released

    def fit(self, X: pd.DataFrame, y: Any = None) -> MeasurementInvariance:
        """Fit the three levels to the item columns of *X* grouped by ``X[group]``."""
        items = [i for its in self.factors.values() for i in its]
        missing = [c for c in [*items, self.group] if c not in X.columns]
        if missing:
            raise DataValidationError(f"invariance: no column {', '.join(missing)}")
        data = X[[*items, self.group]].dropna()
        sizes = data[self.group].astype(str).value_counts()
        keep = sorted(sizes[sizes >= self.min_group_n].index)
        self.dropped_groups_ = {str(k): int(v) for k, v in sizes.items() if k not in keep}
        if len(keep) < 2:
            raise DataValidationError(
                f"invariance across {self.group}: it needs two groups of at least "
                f"{self.min_group_n} complete responses; found {len(keep)}")
        data = data[data[self.group].astype(str).isin(keep)]
        codes = pd.Categorical(data[self.group].astype(str), categories=keep).codes
        mom = moments(data[items].to_numpy(dtype=float), np.asarray(codes), len(keep))
        pattern = np.zeros((len(items), len(self.factors)), dtype=bool)
        pos = {it: i for i, it in enumerate(items)}
        for j, its in enumerate(self.factors.values()):
            for it in its:
                pattern[pos[it], j] = True
        base = baseline_chi2(mom)
        fits: dict[str, MGFit] = {}
        self.levels_: dict[str, FitIndices] = {}
        prev: MGFit | None = None
        for lvl in LEVELS:
            fits[lvl] = fit_multigroup(mom, pattern, lvl, start=prev)
            self.levels_[lvl] = _indices(fits[lvl], base, mom.n, mom.cov)
            prev = fits[lvl]
        cfi = {k: v.cfi for k, v in self.levels_.items()}
        self.delta_cfi_ = {"metric": cfi["configural"] - cfi["metric"],
                           "scalar": cfi["metric"] - cfi["scalar"]}
        conf_ok = cfi["configural"] >= 0.90
        self.holds_ = {"configural": bool(conf_ok),
                       "metric": bool(conf_ok and self.delta_cfi_["metric"] <= self.delta_cfi),
                       "scalar": False}
        self.holds_["scalar"] = bool(self.holds_["metric"]
                                     and self.delta_cfi_["scalar"] <= self.delta_cfi)
        self.non_invariant_items_: dict[str, list[str]] = {"metric": [], "scalar": []}
        freed_loadings: list[int] = []
        if self.delta_cfi_["metric"] > self.delta_cfi:
            freed_loadings = self._search(mom, pattern, base, "metric", cfi["configural"],
                                          fits["metric"], [])
            self.non_invariant_items_["metric"] = [items[i] for i in freed_loadings]
        if self.delta_cfi_["scalar"] > self.delta_cfi:
            ref = cfi["metric"]
            start = fits["scalar"]
            if freed_loadings:
                partial = fit_multigroup(mom, pattern, "metric", free_loadings=freed_loadings,
                                         start=fits["metric"])
                ref = _indices(partial, base, mom.n, mom.cov).cfi
                start = fit_multigroup(mom, pattern, "scalar", free_loadings=freed_loadings,
                                       start=fits["scalar"])
            freed = self._search(mom, pattern, base, "scalar", ref, start, freed_loadings)
            self.non_invariant_items_["scalar"] = [items[i] for i in freed]
        self.groups_ = {g: int(sizes[g]) for g in keep}
        self.n_ = int(mom.n.sum())
        return self

    def _search(self, mom: Any, pattern: np.ndarray, base: tuple[float, int], level: str,
                ref_cfi: float, constrained: MGFit, free_loadings: list[int]) -> list[int]:
        """Items whose release brings the CFI drop of *level* within ``delta_cfi``."""
        p = pattern.shape[0]

        def fit(free: list[int]) -> MGFit:
            if level == "metric":
                return fit_multigroup(mom, pattern, "metric", free_loadings=free,
                                      start=constrained)
            return fit_multigroup(mom, pattern, "scalar", free_loadings=free_loadings,
                                  free_intercepts=free, start=constrained)

        cfi0 = _indices(constrained, base, mom.n, mom.cov).cfi
        gains = []
        for i in range(p):
            if level == "metric" and pattern[i].sum() == 0:
                continue
            gains.append((_indices(fit([i]), base, mom.n, mom.cov).cfi - cfi0, i))
        gains.sort(reverse=True)
        freed: list[int] = []
        within = False
        for gain, i in gains[: max(1, int(self.max_released * p))]:
            # free items until the level holds, and name any further item whose release
            # alone recovers a fifth of the allowed drop
            if within and gain < self.delta_cfi / 5:
                break
            freed.append(i)
            idx = _indices(fit(freed), base, mom.n, mom.cov)
            within = ref_cfi - idx.cfi <= self.delta_cfi
        return freed

    def _check(self) -> None:
        if not hasattr(self, "levels_"):
            raise NotFittedError("MeasurementInvariance is not fitted yet; call fit(X) first")

    @property
    def comparable(self) -> bool:
        """Whether group means (and so percentiles) may be compared: scalar invariance holds."""
        self._check()
        return bool(self.holds_["scalar"])

    def words(self) -> str:
        """The verdict in a sentence."""
        self._check()
        d = self.delta_cfi_
        who = f"across {len(self.groups_)} {self.group} groups"
        if self.holds_["scalar"]:
            return (f"The survey measures the same thing {who} (scalar invariance holds: CFI "
                    f"drops {d['metric']:.3f} and {d['scalar']:.3f}), so scores and "
                    "percentiles can be compared.")
        if not self.holds_["configural"]:
            return (f"The component model does not fit well {who} (configural CFI "
                    f"{self.levels_['configural'].cfi:.3f}); compare scores with great care.")
        if not self.holds_["metric"]:
            items = ", ".join(self.non_invariant_items_["metric"]) or "several items"
            return (f"Items {items} are understood differently {who} (metric invariance "
                    f"fails: CFI drops {d['metric']:.3f}); compare scores with care.")
        items = ", ".join(self.non_invariant_items_["scalar"]) or "several items"
        return (f"Loadings are equal {who} but items {items} start from different levels "
                f"(scalar invariance fails: CFI drops {d['scalar']:.3f}); compare "
                "percentiles with care.")

    def to_dict(self) -> dict[str, Any]:
        """``{"group", "groups", "levels", "delta_cfi", "holds", "non_invariant_items", ...}``."""
        self._check()
        return jsonable({"group": self.group, "groups": self.groups_,
                         "dropped_groups": self.dropped_groups_,
                         "levels": {k: v.to_dict() for k, v in self.levels_.items()},
                         "delta_cfi": self.delta_cfi_, "holds": self.holds_,
                         "non_invariant_items": self.non_invariant_items_,
                         "comparable": self.comparable, "words": self.words()})

    def to_pandas(self) -> pd.DataFrame:
        """One row per level: the fit indices and the CFI drop."""
        self._check()
        rows = [{"level": k, **v.to_dict(),
                 "delta_cfi": self.delta_cfi_.get(k, float("nan"))}
                for k, v in self.levels_.items()]
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        if not hasattr(self, "levels_"):
            return f"MeasurementInvariance(group={self.group!r})"
        return f"MeasurementInvariance(group={self.group!r}): {self.words()}"
