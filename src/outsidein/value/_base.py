"""Shared machinery of the BTYD and spend models: input checks, compression, fitting.

Every model maximises its log-likelihood over log-parameters on the
*distinct* rows of its sufficient statistics weighted by their counts (exact,
and the reason fitting cost grows with distinct rows rather than with
customers): by Newton steps where the likelihood gives its exact Hessian
(BG/NBD, MBG/NBD), else with L-BFGS-B.  Standard errors come from the
Hessian of the log-likelihood in the natural parameters: the exact one, or
central differences of the analytic gradient.

We write these likelihoods by hand rather than call ``lifetimes`` (archived,
slow, overflows on Pareto/NBD) or ``pymc-marketing`` (Bayesian, slow on
large data): the closed forms are short, and analytic gradients on compressed
rows make a million-customer fit take well under a second.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.stats import norm
from sklearn.base import BaseEstimator
from threadpoolctl import ThreadpoolController

from outsidein.errors import ConvergenceError, DataValidationError, NotFittedError
from outsidein.value._newton import hessian_by_differences, newton_exact, newton_fixed
from outsidein.value._rows import compress as compress  # the models import these from here
from outsidein.value._rows import factor as factor
from outsidein.value._rows import group as group

logger = logging.getLogger(__name__)

ArrayLike = Any
LogLikGrad = Callable[[np.ndarray], tuple[float, np.ndarray]]

_LOG_BOUND = 25.0  # log-parameters are kept in [-25, 25]: exp(25) ~ 7e10
_WARM_ROWS = 20_000  # above this many distinct rows, warm-start from a sample ...
_WARM_CUSTOMERS = 20_000  # ... of about this many customers


class TransactionModel(Protocol):
    """Anything with ``expected_purchases(t, frequency, recency, T)`` (BG/BB: n_periods).

    :class:`~outsidein.value.BetaGeo`, :class:`~outsidein.value.ModifiedBetaGeo`,
    :class:`~outsidein.value.ParetoNBD` and :class:`~outsidein.value.BetaGeoBetaBinom`
    are transaction models.

    Examples
    --------
    >>> from outsidein.value import BetaGeo, TransactionModel
    >>> model: TransactionModel = BetaGeo()
    """

    def expected_purchases(self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike,
                           T: ArrayLike) -> np.ndarray:
        """Expected purchases in the next *t* periods given each customer's history."""
        ...


class SpendModel(Protocol):
    """Anything with ``expected_spend(frequency, mean_spend)``, e.g. GammaGamma.

    Examples
    --------
    >>> from outsidein.value import GammaGamma, SpendModel
    >>> model: SpendModel = GammaGamma()
    """

    def expected_spend(self, frequency: ArrayLike, mean_spend: ArrayLike) -> np.ndarray:
        """Expected value of each customer's future transactions."""
        ...


def as_float_array(name: str, values: ArrayLike, *, integer: bool = False) -> np.ndarray:
    """Return *values* as a 1-d float array; raise DataValidationError if unusable."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise DataValidationError(f"{name}: expected a 1-d array of numbers, got shape {arr.shape}")
    if arr.size and not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise DataValidationError(f"{name} row {bad}: expected a finite number, got {arr[bad]}; "
                                  "drop or fill missing values first")
    if arr.size and arr.min() < 0:
        bad = int(np.argmin(arr))
        raise DataValidationError(f"{name} row {bad}: expected a value >= 0, got {arr[bad]}")
    if integer and arr.size and np.any(arr != np.round(arr)):
        bad = int(np.flatnonzero(arr != np.round(arr))[0])
        raise DataValidationError(f"{name} row {bad}: expected a whole number of repeat "
                                  f"purchases, got {arr[bad]}")
    return arr


def check_rfm(frequency: ArrayLike, recency: ArrayLike, T: ArrayLike, *, t_name: str = "T",
              integer_times: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate (frequency, recency, T) for fitting: same length, 0 <= recency <= T."""
    x = as_float_array("frequency", frequency, integer=True)
    tx = as_float_array("recency", recency, integer=integer_times)
    big_t = as_float_array(t_name, T, integer=integer_times)
    if not (x.size == tx.size == big_t.size):
        raise DataValidationError(f"frequency, recency and {t_name} must have the same length, "
                                  f"got {x.size}, {tx.size} and {big_t.size}")
    if x.size == 0:
        raise DataValidationError("no customers to fit: frequency is empty")
    if not np.any(x > 0):
        raise DataValidationError(f"none of the {x.size} customers has a repeat purchase "
                                  "(frequency > 0), so purchase rates cannot be told from "
                                  "drop-out; use a longer calibration period")
    over = tx > big_t * (1 + 1e-12) + 1e-12
    if np.any(over):
        bad = int(np.flatnonzero(over)[0])
        raise DataValidationError(f"row {bad}: recency {tx[bad]} is after the end of the "
                                  f"observation period {t_name}={big_t[bad]}; recency is the "
                                  f"time of the last purchase, measured like {t_name}")
    zero = (x == 0) & (tx > 0)
    if np.any(zero):
        bad = int(np.flatnonzero(zero)[0])
        raise DataValidationError(f"row {bad}: frequency 0 with recency {tx[bad]}; a customer "
                                  "without repeat purchases has recency 0")
    return x, np.minimum(tx, big_t), big_t


def check_weights(weights: ArrayLike | None, n: int) -> np.ndarray | None:
    if weights is None:
        return None
    w = as_float_array("weights", weights)
    if w.size != n:
        raise DataValidationError(f"weights: expected {n} values (one per row), got {w.size}")
    if w.sum() <= 0:
        raise DataValidationError("weights: all zero; at least one row needs a positive count")
    return w


def _remember_last(loglik_grad: LogLikGrad) -> LogLikGrad:
    """*loglik_grad*, keeping its last result: the fit's final point is evaluated only once."""
    last: dict[bytes, tuple[Any, ...]] = {}

    def remembered(params: np.ndarray, hessian: bool = False) -> Any:
        key = np.asarray(params, dtype=float).tobytes()
        out = last.get(key)
        if out is None or (hessian and len(out) != 3):
            out = loglik_grad(params, hessian=True) if hessian else loglik_grad(params)  # type: ignore[call-arg]
            last.clear()
            last[key] = out
        return out if hessian else out[:2]

    return remembered


@functools.cache
def _blas_controller() -> ThreadpoolController:
    """Inspecting the loaded BLAS libraries takes milliseconds: do it once."""
    return ThreadpoolController()


class BaseModel(BaseEstimator):
    """Fitting, standard errors, summary and repr shared by every model.

    A scikit-learn estimator: the settings are the keyword arguments of
    ``__init__`` (``get_params``, ``set_params`` and ``sklearn.base.clone``
    work), learned values end in ``_``.  A model is fitted once it has
    ``params_``, whether :meth:`fit` or the caller set them.

    Examples
    --------
    >>> from sklearn.base import clone
    >>> from outsidein.value import BetaGeo
    >>> m = BetaGeo(penalizer_coef=0.001)
    >>> m.get_params()
    {'penalizer_coef': 0.001}
    >>> clone(m)
    BetaGeo(penalizer_coef=0.001)
    """

    _param_names: tuple[str, ...] = ()
    _paper: str = ""
    _central_hessian = False
    #: the likelihood gives its exact Hessian (``loglik_grad(p, hessian=True)``)
    _exact_hessian = False

    def __init__(self, *, penalizer_coef: float = 0.0) -> None:
        self.penalizer_coef = penalizer_coef

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "params_")

    # -- fitting ---------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not self.__sklearn_is_fitted__():
            raise NotFittedError(f"This {type(self).__name__} is not fitted yet; call "
                                 f"fit(...) with your customers' data before predicting")

    def _maximise(self, make: Callable[[list[np.ndarray], np.ndarray], LogLikGrad],
                  columns: list[np.ndarray], w: np.ndarray, start: np.ndarray) -> None:
        """Maximise the weighted log-likelihood; set params_, log_likelihood_, SEs.

        *make(columns, weights)* returns the log-likelihood-and-gradient function of
        those (distinct) rows.  With many distinct rows, a Poisson-thinned sample of
        about 20,000 customers is fitted first; Newton steps on the full data (with
        the exact Hessian, or the sample's) then finish the job in a handful of
        evaluations.
        """
        pen = float(self.penalizer_coef)
        if pen < 0:
            raise DataValidationError(f"penalizer_coef: expected a value >= 0, got {pen}")
        # BLAS threads only add overhead on 4 parameters (and hurt on a busy machine)
        with _blas_controller().limit(limits=1, user_api="blas"):
            self._maximise_inner(make, columns, w, start)

    def _maximise_inner(self, make: Callable[[list[np.ndarray], np.ndarray], LogLikGrad],
                        columns: list[np.ndarray], w: np.ndarray, start: np.ndarray) -> None:
        rng = np.random.default_rng(0)
        theta0 = np.log(start)
        jitter = [theta0 + rng.normal(0, 1.0, start.size) for _ in range(4)]
        n_total = float(w.sum())
        loglik_grad = _remember_last(make(columns, w))
        sample = None
        if w.size > _WARM_ROWS and n_total > 4 * _WARM_CUSTOMERS:
            sub = rng.poisson(w * (_WARM_CUSTOMERS / n_total)).astype(float)
            keep = sub > 0
            sample = (make([c[keep] for c in columns], sub[keep]), float(sub.sum()))
        fitted = (self._fit_exact(loglik_grad, n_total, [theta0, *jitter], sample)
                  if self._exact_hessian else None)
        if fitted is None and sample is not None:
            sub_obj = self._objective(*sample)
            try:
                res = self._optimise(sub_obj, [theta0, *jitter], tol=1e-8)
                fitted = newton_fixed(self._objective(loglik_grad, n_total), res.x,
                                      hessian_by_differences(sub_obj, res.x))
            except (ConvergenceError, np.linalg.LinAlgError):
                fitted = None
        if fitted is None:
            best = self._optimise(self._objective(loglik_grad, n_total), [theta0, *jitter])
            fitted = best.x, int(best.nit)
        theta, nit = fitted
        params = np.exp(theta)
        ll, grad = loglik_grad(params)[:2]
        self.params_ = dict(zip(self._param_names, (float(v) for v in params), strict=True))
        self.log_likelihood_ = float(ll)
        self.n_customers_ = n_total
        self.n_rows_ = int(w.size)
        self.n_iter_ = nit
        self.standard_errors_ = self._standard_errors(loglik_grad, params, grad)

    def _fit_exact(self, loglik_grad: LogLikGrad, n_total: float, starts: list[np.ndarray],
                   sample: tuple[LogLikGrad, float] | None) -> tuple[np.ndarray, int] | None:
        """Newton steps with the exact Hessian, from a sample's estimate when there is one.

        None when they fail (the caller then runs L-BFGS-B from several starts).
        """
        try:
            start = starts[0]
            if sample is not None:
                start = self._sample_estimate(*sample, starts)
            return newton_exact(self._objective_hess(loglik_grad, n_total), start,
                                tol=1e-9, bound=_LOG_BOUND)
        except (ConvergenceError, np.linalg.LinAlgError):
            return None

    def _sample_estimate(self, loglik_grad: LogLikGrad, n_sample: float,
                         starts: list[np.ndarray]) -> np.ndarray:
        """The estimate on a sample: a start from which Newton steps on all rows are few."""
        try:
            return newton_exact(self._objective_hess(loglik_grad, n_sample), starts[0],
                                tol=1e-7, bound=_LOG_BOUND)[0]
        except (ConvergenceError, np.linalg.LinAlgError):
            return self._optimise(self._objective(loglik_grad, n_sample), starts, tol=1e-8).x

    def _objective(self, loglik_grad: LogLikGrad, n_total: float
                   ) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
        """Minus the mean log-likelihood (plus penalty) and its gradient in log-parameters."""
        pen = float(self.penalizer_coef)

        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            p = np.exp(theta)
            ll, g = loglik_grad(p)
            if not np.isfinite(ll) or not np.all(np.isfinite(g)):
                return 1e300, np.zeros_like(theta)
            f = -ll / n_total + pen * float(np.sum(p**2))
            grad = (-g / n_total + 2 * pen * p) * p
            return f, grad

        return objective

    def _objective_hess(self, loglik_grad: LogLikGrad, n_total: float
                        ) -> Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]]:
        """:meth:`_objective` with its Hessian in log-parameters (models with exact Hessians).

        With p = exp(theta): d2f/dtheta2 = P (d2f/dp2) P + diag(p df/dp), P = diag(p).
        """
        pen = float(self.penalizer_coef)

        def objective(theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
            p = np.exp(theta)
            out = loglik_grad(p, hessian=True)  # type: ignore[call-arg]
            if len(out) != 3:
                raise ConvergenceError("no Hessian from this likelihood")
            ll, g, h = out
            if not (np.isfinite(ll) and np.all(np.isfinite(g)) and np.all(np.isfinite(h))):
                return 1e300, np.zeros_like(theta), np.eye(theta.size)
            f = -ll / n_total + pen * float(np.sum(p**2))
            grad_p = -g / n_total + 2 * pen * p
            hess_p = -h / n_total + 2 * pen * np.eye(p.size)
            return f, grad_p * p, p[:, None] * hess_p * p[None, :] + np.diag(grad_p * p)

        return objective

    def _optimise(self, objective: Callable[[np.ndarray], tuple[float, np.ndarray]],
                  starts: list[np.ndarray], tol: float = 1e-9) -> Any:
        """L-BFGS-B on log-parameters from each start in turn until one converges."""
        best = None
        for theta0 in starts:
            res = optimize.minimize(objective, theta0, jac=True, method="L-BFGS-B",
                                    bounds=[(-_LOG_BOUND, _LOG_BOUND)] * theta0.size,
                                    options={"maxiter": 2000, "ftol": 1e-15, "gtol": tol,
                                             "maxcor": 20})
            ok = np.isfinite(res.fun) and res.fun < 1e299 and float(
                np.max(np.abs(res.jac))) < max(1e-5, 100 * tol)
            at_bound = np.any(np.abs(res.x) >= _LOG_BOUND - 1e-6)
            if ok and not at_bound:
                return res
            if best is None or (np.isfinite(res.fun) and res.fun < best.fun):
                best = res
            logger.debug("%s: start %s did not converge (%s)", type(self).__name__, theta0,
                         res.message)
        self._raise_convergence(best)

    def _raise_convergence(self, res: Any) -> None:
        detail = "" if res is None else f" (last attempt: {res.message})"
        raise ConvergenceError(
            f"{type(self).__name__} did not converge{detail}. Try: rescale the time unit "
            "(e.g. weeks instead of days) so rates are near 1; add a small penalizer, e.g. "
            f"{type(self).__name__}(penalizer_coef=0.001); check the data (recency <= T, "
            "frequency counts repeat purchases only, enough repeat buyers)")

    def _standard_errors(self, loglik_grad: LogLikGrad, params: np.ndarray,
                         grad: np.ndarray) -> dict[str, float]:
        """Square roots of the diagonal of the inverse of minus the Hessian."""
        k = params.size
        out = loglik_grad(params, hessian=True) if self._exact_hessian else ()  # type: ignore[call-arg]
        if len(out) == 3:
            hess = np.asarray(out[2], dtype=float)
        else:
            hess = np.empty((k, k))
            # central differences of the gradient; wider steps where the gradient itself
            # comes from differences (Pareto/NBD's hypergeometric block)
            rel = 1e-4 if self._central_hessian else 1e-5
            for j in range(k):
                h = rel * params[j]
                up, dn = params.copy(), params.copy()
                up[j] += h
                dn[j] -= h
                hess[:, j] = (loglik_grad(up)[1] - loglik_grad(dn)[1]) / (2 * h)
            hess = (hess + hess.T) / 2
        try:
            cov = np.linalg.inv(-hess)
            se = np.sqrt(np.where(np.diag(cov) > 0, np.diag(cov), np.nan))
        except np.linalg.LinAlgError:
            se = np.full(k, np.nan)
        self.hessian_ = hess
        return dict(zip(self._param_names, (float(v) for v in se), strict=True))

    # -- results ---------------------------------------------------------------------------
    @property
    def summary(self) -> pd.DataFrame:
        """Estimates with standard errors and 95% Wald intervals, one row per parameter."""
        self._check_fitted()
        z = float(norm.ppf(0.975))
        est = pd.Series(self.params_)
        se = pd.Series(getattr(self, "standard_errors_", {k: np.nan for k in self.params_}))
        return pd.DataFrame({"estimate": est, "se": se, "lower 95%": est - z * se,
                             "upper 95%": est + z * se}).rename_axis("param")

    def _fit_words(self) -> str:
        if not hasattr(self, "log_likelihood_"):
            return "parameters set by hand"
        return (f"log-likelihood {self.log_likelihood_:.2f} on {self.n_customers_:g} "
                "customers")

    def __repr__(self) -> str:
        name = type(self).__name__
        if not hasattr(self, "params_"):
            settings = f"penalizer_coef={self.penalizer_coef}" if self.penalizer_coef else ""
            return f"{name}({settings})"
        body = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        return f"<{name} {self._paper}: {body}; {self._fit_words()}>"

    def _repr_html_(self) -> str:
        if not hasattr(self, "params_"):
            return f"<pre>{self!r}</pre>"
        caption = f"{type(self).__name__} ({self._paper}), {self._fit_words()}"
        return (f"<div><strong>{caption}</strong>"
                f"{self.summary.to_html(float_format=lambda v: f'{v:.4f}')}</div>")

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, str]:
        # Jupyter asks for the bundle first: ours shows the estimates table rather than
        # scikit-learn's estimator diagram, which has nothing to say about a fitted BTYD model
        return {"text/plain": repr(self), "text/html": self._repr_html_()}

    def _vec(self) -> np.ndarray:
        self._check_fitted()
        return np.array([self.params_[k] for k in self._param_names])
