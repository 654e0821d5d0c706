"""Multi-group CFA by normal-theory maximum likelihood with equality constraints (numpy).

The model of group g: ``Sigma_g = L_g Phi_g L_g' + Theta_g`` and ``mu_g = nu_g + L_g kappa_g``.
The scale of each factor is set by its variance, fixed to 1 in every group (configural) or in
the first group (metric and scalar, where the loadings are shared); the factor means are 0
except in the later groups of the scalar model.  This is lavaan's model with ``std.lv``-style
identification, which gives the same chi-square as its marker-variable default.

The discrepancy is lavaan's: ``F = sum_g n_g [log|Sigma_g| + tr(S_g Sigma_g^-1) - log|S_g| - p
+ (m_g - mu_g)' Sigma_g^-1 (m_g - mu_g)]`` with ``S_g`` the covariance divided by ``n_g``, and
chi-square = F at its minimum.  The gradient is analytic; L-BFGS-B minimises.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize
from threadpoolctl import ThreadpoolController

from outsidein.errors import ConvergenceError

__all__ = ["LEVELS", "GroupMoments", "MGFit", "baseline_chi2", "blas_controller",
           "fit_multigroup", "moments"]

LEVELS = ("configural", "metric", "scalar")


@functools.cache
def blas_controller() -> ThreadpoolController:
    """One controller (building it scans the loaded libraries); small matrices run ~100x
    faster on one BLAS thread than with threads contending for the cores."""
    return ThreadpoolController()


@dataclass(frozen=True)
class GroupMoments:
    """Per group: size, mean vector, ML covariance (divided by n)."""

    n: np.ndarray  # (G,)
    mean: np.ndarray  # (G, p)
    cov: np.ndarray  # (G, p, p)


def moments(x: np.ndarray, codes: np.ndarray, n_groups: int) -> GroupMoments:
    """The sufficient statistics of complete rows *x* (n, p) in groups *codes* (0..G-1)."""
    p = x.shape[1]
    n = np.bincount(codes, minlength=n_groups).astype(float)
    mean = np.zeros((n_groups, p))
    cov = np.zeros((n_groups, p, p))
    for g in range(n_groups):
        xg = x[codes == g]
        mean[g] = xg.mean(axis=0)
        d = xg - mean[g]
        cov[g] = d.T @ d / len(xg)
    return GroupMoments(n, mean, cov)


@dataclass(frozen=True)
class MGFit:
    """A fitted multi-group model: chi-square, df, the free parameters and the matrices."""

    chi2: float
    df: int
    params: np.ndarray
    loadings: np.ndarray  # (G, p, m)
    intercepts: np.ndarray  # (G, p)
    sigma: np.ndarray  # (G, p, p) model-implied covariances
    converged: bool
    phi: np.ndarray | None = None  # (G, m, m)
    theta: np.ndarray | None = None  # (G, p)
    kappa: np.ndarray | None = None  # (G, m)


class _Spec:
    """Where each model matrix entry takes its value: a free parameter index or -1 (fixed)."""

    def __init__(self, pattern: np.ndarray, G: int, level: str,
                 free_loadings: Sequence[int] = (), free_intercepts: Sequence[int] = ()):
        p, m = pattern.shape
        self.p, self.m, self.G = p, m, G
        k = 0

        def new(shape: tuple[int, ...]) -> np.ndarray:
            nonlocal k
            size = int(np.prod(shape))
            out = np.arange(k, k + size).reshape(shape)
            k += size
            return out

        self.lam = -np.ones((G, p, m), dtype=int)
        shared = level in ("metric", "scalar")
        rows, cols = np.nonzero(pattern)
        common = new((len(rows),)) if shared else np.zeros(0, dtype=int)
        for g in range(G):
            own = new((len(rows),)) if not shared else common
            for t, (i, j) in enumerate(zip(rows, cols, strict=True)):
                self.lam[g, i, j] = own[t] if not shared or i not in free_loadings else -1
        if shared:  # released items get their own loadings in every group
            for g in range(G):
                for i, j in zip(rows, cols, strict=True):
                    if i in free_loadings:
                        self.lam[g, i, j] = new((1,))[0]
        self.phi = -np.ones((G, m, m), dtype=int)
        self.phi_fixed = np.zeros((G, m, m))
        for g in range(G):
            fixed_var = not shared or g == 0
            for a in range(m):
                for b in range(a + 1):
                    if a == b and fixed_var:
                        self.phi_fixed[g, a, a] = 1.0
                        continue
                    idx = new((1,))[0]
                    self.phi[g, a, b] = self.phi[g, b, a] = idx
        self.theta = np.stack([new((p,)) for _ in range(G)])
        self.nu = np.zeros((G, p), dtype=int)
        if level == "scalar":
            nu = new((p,))
            for g in range(G):
                self.nu[g] = nu
                for item in free_intercepts:
                    self.nu[g, item] = new((1,))[0]
        else:
            for g in range(G):
                self.nu[g] = new((p,))
        self.kappa = -np.ones((G, m), dtype=int)
        if level == "scalar":
            for g in range(1, G):
                self.kappa[g] = new((m,))
        self.k = k

    def unpack(self, th: np.ndarray, g: int) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                       np.ndarray, np.ndarray]:
        lam = np.where(self.lam[g] >= 0, th[self.lam[g]], 0.0)
        phi = np.where(self.phi[g] >= 0, th[self.phi[g]], self.phi_fixed[g])
        theta = th[self.theta[g]]
        nu = th[self.nu[g]]
        kappa = np.where(self.kappa[g] >= 0, th[self.kappa[g]], 0.0)
        return lam, phi, theta, nu, kappa


def _objective(th: np.ndarray, spec: _Spec, mom: GroupMoments,
               logdet_s: np.ndarray) -> tuple[float, np.ndarray]:
    """The discrepancy over all groups at once (batched) and its gradient."""
    k = len(th)
    ext = np.append(th, 0.0)  # index -1 reads the trailing 0
    lam = ext[spec.lam]
    phi = np.where(spec.phi >= 0, ext[spec.phi], spec.phi_fixed)
    theta = ext[spec.theta]
    nu = ext[spec.nu]
    kappa = ext[spec.kappa]
    lam_t = lam.transpose(0, 2, 1)
    sigma = lam @ phi @ lam_t
    sigma[:, np.arange(spec.p), np.arange(spec.p)] += theta
    try:
        c = np.linalg.cholesky(sigma)
    except np.linalg.LinAlgError:
        return 1e20, np.zeros_like(th)
    inv = np.linalg.inv(sigma)
    d = mom.mean - (nu + np.einsum("gpm,gm->gp", lam, kappa))
    logdet = 2 * np.log(np.diagonal(c, axis1=1, axis2=2)).sum(axis=1)
    a = mom.cov + d[:, :, None] * d[:, None, :]
    ng = mom.n
    f = float(np.sum(ng * (logdet + np.sum(a * inv, axis=(1, 2)) - logdet_s - spec.p)))
    w = ng[:, None, None] * (inv - inv @ a @ inv)
    gmu = -2 * ng[:, None] * np.einsum("gpq,gq->gp", inv, d)
    g_lam = 2 * w @ lam @ phi + gmu[:, :, None] * kappa[:, None, :]
    g_phi = lam_t @ w @ lam
    g_theta = np.diagonal(w, axis1=1, axis2=2)
    g_kappa = np.einsum("gpm,gp->gm", lam, gmu)
    grad = np.zeros(k + 1)
    for idx, val in ((spec.lam, g_lam), (spec.phi, g_phi), (spec.theta, g_theta),
                     (spec.nu, gmu), (spec.kappa, g_kappa)):
        grad += np.bincount(idx.ravel(), weights=val.ravel(), minlength=k + 1)[: k + 1] \
            if idx.min() >= 0 else np.bincount(np.where(idx < 0, k, idx).ravel(),
                                               weights=val.ravel(), minlength=k + 1)
    return f, grad[:k]


def _start(spec: _Spec, mom: GroupMoments, pattern: np.ndarray) -> np.ndarray:
    th = np.zeros(spec.k)
    for g in range(spec.G):
        var = np.diag(mom.cov[g])
        for i, j in zip(*np.nonzero(pattern), strict=True):
            th[spec.lam[g, i, j]] = np.sqrt(0.5 * var[i])
        th[spec.theta[g]] = 0.5 * var
        th[spec.nu[g]] = mom.mean[g] if spec.G == 1 else mom.mean[0]
        for a in range(spec.m):
            if spec.phi[g, a, a] >= 0:
                th[spec.phi[g, a, a]] = 1.0
    for g in range(spec.G):  # per-group intercepts start at their own means
        for i in range(spec.p):
            if np.sum(spec.nu == spec.nu[g, i]) == 1:
                th[spec.nu[g, i]] = mom.mean[g, i]
    return th


def _scales(spec: _Spec, mom: GroupMoments) -> np.ndarray:
    """Per parameter, the square root of the number of groups it belongs to (1 for a group's
    own): the optimiser works on parameter x scale, so a loading shared by 500 groups (whose
    curvature is about 500 times a group's own) and a group's own variance look alike to it
    (a diagonal preconditioner: L-BFGS-B needs far fewer steps)."""
    groups = np.zeros(spec.k)
    for idx in (spec.lam, spec.phi, spec.theta, spec.nu, spec.kappa):
        for g in range(spec.G):
            groups[np.unique(idx[g][idx[g] >= 0])] += 1
    return np.sqrt(np.maximum(groups, 1.0))


def _carry(spec: _Spec, mom: GroupMoments, idx: np.ndarray, vals: np.ndarray,
           th0: np.ndarray) -> None:
    """Set each parameter of *idx* to the size-weighted mean of the values of *vals* it
    stands for (a parameter shared by the groups starts at their mean, not at the last)."""
    m = idx >= 0
    if not m.any():
        return
    w = np.broadcast_to(mom.n.reshape((-1,) + (1,) * (idx.ndim - 1)), idx.shape)[m]
    total = np.bincount(idx[m], weights=vals[m] * w, minlength=spec.k)
    weight = np.bincount(idx[m], weights=w, minlength=spec.k)
    got = weight > 0
    th0[got] = total[got] / weight[got]


def _warm(spec: _Spec, mom: GroupMoments, start: MGFit, th0: np.ndarray) -> None:
    """Start from the fit of the level before: every matrix entry both models have, shared
    entries at the groups' mean; then the factor variances rescaled to the shared loadings,
    and the factor means from each group's intercepts (with hundreds of groups, a start
    this close saves most of the optimiser's iterations)."""
    _carry(spec, mom, spec.lam, start.loadings, th0)
    _carry(spec, mom, spec.nu, start.intercepts, th0)
    if start.phi is None or start.theta is None or start.kappa is None:
        return
    _carry(spec, mom, spec.theta, start.theta, th0)
    _carry(spec, mom, spec.kappa, start.kappa, th0)
    ext = np.append(th0, 0.0)
    lam = ext[spec.lam]
    pattern = lam[0] != 0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(pattern, start.loadings / np.where(lam == 0, 1.0, lam), np.nan)
    r = np.nanmedian(np.where(pattern[None], ratio, np.nan), axis=1)  # (G, m)
    r = np.where(np.isfinite(r) & (r > 0), r, 1.0)
    phi = start.phi * r[:, :, None] * r[:, None, :]
    _carry(spec, mom, spec.phi, phi, th0)
    if (spec.kappa >= 0).any() and not np.any(start.kappa):
        nu = np.append(th0, 0.0)[spec.nu]
        for g in range(spec.G):
            if (spec.kappa[g] >= 0).all():
                th0[spec.kappa[g]] = np.linalg.lstsq(lam[g], start.intercepts[g] - nu[g],
                                                     rcond=None)[0]


def fit_multigroup(mom: GroupMoments, pattern: np.ndarray, level: str, *,
                   free_loadings: Sequence[int] = (), free_intercepts: Sequence[int] = (),
                   start: MGFit | None = None) -> MGFit:
    """Fit the *level* model (``configural``, ``metric`` or ``scalar``) to the moments."""
    G, p = mom.mean.shape
    spec = _Spec(pattern, G, level, free_loadings, free_intercepts)
    th0 = _start(spec, mom, pattern)
    if start is not None:
        _warm(spec, mom, start, th0)
    logdet_s = np.array([np.linalg.slogdet(c)[1] for c in mom.cov])
    bounds: list[tuple[float | None, float | None]] = [(None, None)] * spec.k
    for g in range(G):
        for i in spec.theta[g]:
            bounds[i] = (1e-8, None)
        for a in range(spec.m):
            if spec.phi[g, a, a] >= 0:
                bounds[spec.phi[g, a, a]] = (1e-8, None)
    scale = _scales(spec, mom)

    def scaled(u: np.ndarray) -> tuple[float, np.ndarray]:
        f, grad = _objective(u / scale, spec, mom, logdet_s)
        return f, grad / scale

    with blas_controller().limit(limits=1, user_api="blas"):
        res = optimize.minimize(scaled, th0 * scale, jac=True, method="L-BFGS-B",
                                bounds=[(None if lo is None else lo * s, None)
                                        for (lo, _), s in zip(bounds, scale, strict=True)],
                                options={"maxiter": 20000, "maxcor": 30, "ftol": 1e-15,
                                         "gtol": 1e-9 * float(mom.n.sum())})
    if not np.isfinite(res.fun) or res.fun >= 1e19:
        raise ConvergenceError(f"the {level} multi-group CFA did not converge: {res.message}")
    res.x = res.x / scale
    moments_count = G * (p * (p + 1) // 2 + p)
    th = res.x
    lam = np.stack([spec.unpack(th, g)[0] for g in range(G)])
    nu = np.stack([spec.unpack(th, g)[3] for g in range(G)])
    parts = [spec.unpack(th, g) for g in range(G)]
    sig = np.stack([q[0] @ q[1] @ q[0].T + np.diag(q[2]) for q in parts])
    return MGFit(float(res.fun), moments_count - spec.k, th, lam, nu, sig,
                 bool(res.success) or "ABNORMAL" not in str(res.message),
                 phi=np.stack([q[1] for q in parts]), theta=np.stack([q[2] for q in parts]),
                 kappa=np.stack([q[4] for q in parts]))


def baseline_chi2(mom: GroupMoments) -> tuple[float, int]:
    """Chi-square and df of the independence model (free variances and means per group)."""
    G, p = mom.mean.shape
    chi2 = sum(mom.n[g] * (np.sum(np.log(np.diag(mom.cov[g])))
                           - np.linalg.slogdet(mom.cov[g])[1]) for g in range(G))
    return float(chi2), G * p * (p - 1) // 2
