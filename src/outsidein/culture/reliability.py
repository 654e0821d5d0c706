"""Reliability: Cronbach's alpha, McDonald's omega, corrected item-total correlations.

* alpha = k / (k - 1) * (1 - sum of item variances / variance of the sum), on the rows with
  every item of the component answered;
* omega (total) = (sum of standardised loadings)^2 / ((sum)^2 + sum of (1 - loading^2)), from
  the CFA's standardised loadings (:class:`~outsidein.culture.ComponentCFA`);
* the corrected item-total correlation of an item is its correlation with the sum of the
  *other* items of its component.

An item is flagged weak when its corrected item-total correlation is below 0.30 or its
standardised loading below 0.40 (the usual rules of thumb).

>>> rng = np.random.default_rng(1)
>>> t = rng.normal(size=(2000, 1))
>>> X = pd.DataFrame(t + rng.normal(size=(2000, 4)), columns=list("abcd"))
>>> round(cronbach_alpha(X), 2)  # true value 4 * 1 / (4 * 1 + 1) = 0.80
0.8
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from outsidein.culture._results import jsonable
from outsidein.culture.cfa import ComponentCFA
from outsidein.culture.instrument import COMPONENT_LABELS, Instrument

__all__ = ["ComponentReliability", "ReliabilityResult", "corrected_item_total",
           "cronbach_alpha", "omega_total", "reliability"]


def _complete(items: pd.DataFrame) -> np.ndarray:
    x = items.to_numpy(dtype=float)
    return x[~np.isnan(x).any(axis=1)]


def cronbach_alpha(items: pd.DataFrame) -> float:
    """Cronbach's alpha of the columns of *items* (complete rows only)."""
    x = _complete(items)
    k = x.shape[1]
    if k < 2 or len(x) < 2:
        return float("nan")
    item_var = x.var(axis=0, ddof=1).sum()
    total_var = x.sum(axis=1).var(ddof=1)
    return float(k / (k - 1) * (1 - item_var / total_var)) if total_var > 0 else float("nan")


def corrected_item_total(items: pd.DataFrame) -> pd.Series:
    """Each item's correlation with the sum of the other items (complete rows only).

    >>> X = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 1, 4, 3, 5], "c": [1, 3, 2, 5, 4.]})
    >>> corrected_item_total(X).round(2).tolist()
    [0.99, 0.58, 0.58]
    """
    x = _complete(items)
    total = x.sum(axis=1)
    out = []
    for j in range(x.shape[1]):
        rest = total - x[:, j]
        sx, sr = x[:, j].std(), rest.std()
        out.append(float(np.corrcoef(x[:, j], rest)[0, 1]) if sx > 0 and sr > 0
                   else float("nan"))
    return pd.Series(out, index=items.columns, name="item_total")


def omega_total(std_loadings: Sequence[float] | np.ndarray | pd.Series) -> float:
    """McDonald's omega of a one-factor block from its standardised loadings.

    >>> round(omega_total([0.7, 0.7, 0.7]), 3)
    0.742
    """
    lam = np.asarray(std_loadings, dtype=float)
    s = lam.sum() ** 2
    return float(s / (s + np.sum(1 - lam ** 2)))


@dataclass(frozen=True)
class ComponentReliability:
    """One component's reliability: alpha, omega, item-total correlations, weak items."""

    alpha: float
    omega: float
    n_items: int
    n: int
    item_total: dict[str, float] = field(default_factory=dict)
    loadings: dict[str, float] = field(default_factory=dict)
    weak_items: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values."""
        return jsonable({"alpha": self.alpha, "omega": self.omega, "n_items": self.n_items,
                         "n": self.n, "item_total": self.item_total,
                         "loadings": self.loadings, "weak_items": list(self.weak_items)})


@dataclass(frozen=True)
class ReliabilityResult:
    """Reliability per component (``components``), in the instrument's order."""

    components: dict[str, ComponentReliability]

    def to_dict(self) -> dict[str, Any]:
        """``{component: {"alpha", "omega", "n_items", "n", "item_total", "weak_items"}}``."""
        return {c: r.to_dict() for c, r in self.components.items()}

    def to_pandas(self) -> pd.DataFrame:
        """One row per component: alpha, omega, n_items, n, weak_items."""
        return pd.DataFrame([{"component": c, "alpha": r.alpha, "omega": r.omega,
                              "n_items": r.n_items, "n": r.n,
                              "weak_items": ", ".join(r.weak_items)}
                             for c, r in self.components.items()])

    def words(self) -> list[str]:
        """One sentence per component with a problem (alpha or omega < .70, weak items)."""
        out = []
        for c, r in self.components.items():
            label = COMPONENT_LABELS.get(c, c)
            if r.alpha < 0.70 or (not np.isnan(r.omega) and r.omega < 0.70):
                out.append(f"{label} is measured with low reliability (alpha {r.alpha:.2f}"
                           + (f", omega {r.omega:.2f}" if not np.isnan(r.omega) else "")
                           + "); read its score with care.")
            if r.weak_items:
                out.append(f"{label}: item(s) {', '.join(r.weak_items)} hang together poorly "
                           "with the others; consider rewording them.")
        return out

    def __repr__(self) -> str:
        rows = "; ".join(f"{c}: alpha {r.alpha:.2f}, omega {r.omega:.2f}"
                         for c, r in self.components.items())
        return f"ReliabilityResult({rows})"


def reliability(keyed_items: pd.DataFrame, instrument: Instrument, *,
                cfa: ComponentCFA | None = None, components: Sequence[str] | None = None,
                weak_item_total: float = 0.30, weak_loading: float = 0.40) -> ReliabilityResult:
    """Alpha, omega (when *cfa* covers the component), item-total and weak items per component.

    *keyed_items* are the reverse-keyed answers (:func:`~outsidein.culture.key_items`).
    Components default to every component with at least two items.
    """
    comps = [c for c in (components or instrument.components)
             if len(instrument.items_for(c)) >= 2]
    fitted = cfa is not None and hasattr(cfa, "fit_")
    out: dict[str, ComponentReliability] = {}
    for c in comps:
        ids = [it.id for it in instrument.items_for(c)]
        block = keyed_items[ids]
        itc = corrected_item_total(block)
        loads: dict[str, float] = {}
        omega = float("nan")
        if fitted and cfa is not None and c in cfa.factors:
            lam = cfa.std_loadings(c)
            loads = {str(k): float(v) for k, v in lam.items()}
            omega = omega_total(lam.to_numpy())
        weak = tuple(i for i in ids if itc[i] < weak_item_total
                     or (i in loads and loads[i] < weak_loading))
        out[c] = ComponentReliability(
            alpha=cronbach_alpha(block), omega=omega, n_items=len(ids),
            n=int((~block.isna().any(axis=1)).sum()),
            item_total={i: float(itc[i]) for i in ids}, loadings=loads, weak_items=weak)
    return ReliabilityResult(out)
