"""Confirmatory factor analysis of the component model (semopy), with the usual fit indices.

:class:`ComponentCFA` fits one factor per component, each measured by its items, factors
free to correlate, the first item of each factor fixing its scale (lavaan's default), by
maximum likelihood (semopy's ``MLW`` objective).  It reports chi-square, df, CFI, TLI and RMSEA
as semopy computes them and SRMR from the residual correlations (semopy has none): the root
mean square of the differences between the observed and the model-implied correlations over
the lower triangle with the diagonal, as lavaan's ``srmr``.  On Holzinger & Swineford (1939)
this reproduces lavaan to the published digits (``tests/validation/test_holzinger_swineford``).

>>> rng = np.random.default_rng(0)
>>> f = rng.normal(size=(500, 2))
>>> X = pd.DataFrame(np.column_stack([f[:, [0]] * .8 + rng.normal(size=(500, 3)) * .6,
...                                   f[:, [1]] * .7 + rng.normal(size=(500, 3)) * .7]),
...                  columns=["a1", "a2", "a3", "b1", "b2", "b3"])
>>> cfa = ComponentCFA({"A": ["a1", "a2", "a3"], "B": ["b1", "b2", "b3"]}).fit(X)
>>> cfa.fit_.df, cfa.fit_.cfi > 0.95, cfa.fit_.rmsea < 0.06
(8, True, True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from outsidein.culture._mgcfa import blas_controller
from outsidein.culture._results import jsonable, records
from outsidein.errors import ConvergenceError, DataValidationError, NotFittedError

__all__ = ["ComponentCFA", "FitIndices", "lavaan_syntax", "srmr"]


@dataclass(frozen=True)
class FitIndices:
    """How well a factor model reproduces the observed covariances.

    Hu & Bentler (1999): good around CFI/TLI >= .95, RMSEA <= .06, SRMR <= .08; acceptable
    CFI/TLI >= .90, RMSEA <= .08.
    """

    chi2: float
    df: int
    pvalue: float
    cfi: float
    tli: float
    rmsea: float
    srmr: float
    n: int

    @property
    def verdict(self) -> str:
        """``good``, ``acceptable`` or ``poor`` by the Hu & Bentler cut-offs."""
        if self.cfi >= .95 and self.tli >= .95 and self.rmsea <= .06 and self.srmr <= .08:
            return "good"
        if self.cfi >= .90 and self.tli >= .90 and self.rmsea <= .08 and self.srmr <= .08:
            return "acceptable"
        return "poor"

    def to_dict(self) -> dict[str, Any]:
        """The indices as plain JSON values, with the verdict."""
        return jsonable({**asdict(self), "verdict": self.verdict})

    def __repr__(self) -> str:
        return (f"FitIndices(chi2={self.chi2:.3f}, df={self.df}, cfi={self.cfi:.3f}, "
                f"tli={self.tli:.3f}, rmsea={self.rmsea:.3f}, srmr={self.srmr:.3f}, "
                f"n={self.n}: {self.verdict})")


def lavaan_syntax(factors: Mapping[str, Sequence[str]]) -> str:
    """The measurement model in lavaan/semopy syntax.

    >>> print(lavaan_syntax({"visual": ["x1", "x2", "x3"]}))
    visual =~ x1 + x2 + x3
    """
    return "\n".join(f"{f} =~ {' + '.join(items)}" for f, items in factors.items())


def srmr(observed_cov: np.ndarray, implied_cov: np.ndarray) -> float:
    """Standardised root mean square residual from the residual correlations.

    >>> srmr(np.eye(2), np.eye(2))
    0.0
    """
    d = np.sqrt(np.diag(observed_cov))
    di = np.sqrt(np.diag(implied_cov))
    resid = observed_cov / np.outer(d, d) - implied_cov / np.outer(di, di)
    low = np.tril_indices(len(d))
    return float(np.sqrt(np.mean(resid[low] ** 2)))


class ComponentCFA(BaseEstimator):  # type: ignore[misc]
    """One-factor-per-component CFA by maximum likelihood (semopy).

    Parameters
    ----------
    factors : mapping
        ``{factor: [item, ...]}``, e.g. :meth:`Instrument.factors`.
    estimator : str
        semopy objective (``"MLW"``: Wishart maximum likelihood, lavaan's ``ML``).

    Attributes
    ----------
    fit_ : FitIndices
    loadings_ : DataFrame ``[factor, item, estimate, se, std]`` (``std``: standardised)
    factor_correlations_ : DataFrame
    residual_variances_ : Series (per item, unstandardised)
    n_ : int (rows used: those with every item answered)
    """

    def __init__(self, factors: Mapping[str, Sequence[str]], *,
                 estimator: str = "MLW") -> None:
        self.factors = factors
        self.estimator = estimator

    def fit(self, X: pd.DataFrame, y: Any = None) -> ComponentCFA:
        """Fit the model to the item columns of *X* (rows with a missing answer are dropped)."""
        items = [i for its in self.factors.values() for i in its]
        missing = [i for i in items if i not in X.columns]
        if missing:
            raise DataValidationError(f"CFA: no column for item(s) {', '.join(missing)}")
        data = X[items].astype(float).dropna()
        if len(data) <= len(items):
            raise DataValidationError(f"CFA: {len(data)} complete responses for {len(items)} "
                                      "items; it needs more responses than items")
        import semopy  # ~1 s to import: only when a CFA runs, not with outsidein.culture

        model = semopy.Model(lavaan_syntax(self.factors))
        with blas_controller().limit(limits=1, user_api="blas"):  # small matrices: 1 thread
            res = model.fit(data, obj=self.estimator)
            if not getattr(res, "success", True):
                raise ConvergenceError(f"CFA did not converge ({res.message}); check for "
                                       "items with no variation or factors with < 3 items")
            stats = semopy.calc_stats(model).T["Value"]
            sigma = np.asarray(model.calc_sigma()[0], dtype=float)
            est = model.inspect(std_est=True)
        observed = list(model.vars["observed"])
        S = np.asarray(model.mx_cov, dtype=float)
        self.fit_ = FitIndices(
            chi2=float(stats["chi2"]), df=int(round(float(stats["DoF"]))),
            pvalue=float(stats["chi2 p-value"]), cfi=float(stats["CFI"]),
            tli=float(stats["TLI"]), rmsea=float(stats["RMSEA"]), srmr=srmr(S, sigma),
            n=len(data))
        load = est[(est["op"] == "~") & est["rval"].isin(list(self.factors))]
        se = pd.to_numeric(load["Std. Err"].replace("-", np.nan), errors="coerce")
        self.loadings_ = pd.DataFrame({
            "factor": load["rval"].to_numpy(), "item": load["lval"].to_numpy(),
            "estimate": load["Estimate"].astype(float).to_numpy(),
            "se": se.astype(float).to_numpy(),
            "std": load["Est. Std"].astype(float).to_numpy()})
        cov = est[(est["op"] == "~~") & est["lval"].isin(list(self.factors))
                  & est["rval"].isin(list(self.factors))]
        names = list(self.factors)
        corr = pd.DataFrame(np.eye(len(names)), index=names, columns=names)
        for _, r in cov.iterrows():
            corr.loc[r["lval"], r["rval"]] = corr.loc[r["rval"], r["lval"]] = float(r["Est. Std"])
        self.factor_correlations_ = corr
        resid = est[(est["op"] == "~~") & (est["lval"] == est["rval"])
                    & est["lval"].isin(observed)]
        self.residual_variances_ = pd.Series(resid["Estimate"].astype(float).to_numpy(),
                                             index=resid["lval"].to_numpy())
        self.n_ = len(data)
        return self

    def _check(self) -> None:
        if not hasattr(self, "fit_"):
            raise NotFittedError("ComponentCFA is not fitted yet; call fit(X) first")

    def std_loadings(self, factor: str) -> pd.Series:
        """The standardised loadings of *factor*'s items."""
        self._check()
        d = self.loadings_[self.loadings_["factor"] == factor]
        return pd.Series(d["std"].to_numpy(), index=d["item"].to_numpy(), name=factor)

    def to_dict(self) -> dict[str, Any]:
        """The fit indices and loadings as plain JSON values."""
        self._check()
        return {**self.fit_.to_dict(), "loadings": records(self.loadings_)}

    def to_pandas(self) -> pd.DataFrame:
        """The loadings table."""
        self._check()
        return self.loadings_.copy()

    def __repr__(self) -> str:
        base = f"ComponentCFA({len(self.factors)} factors)"
        return f"{base}: {self.fit_!r}" if hasattr(self, "fit_") else base
