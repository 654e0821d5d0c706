"""Simulated survey waves with a known factor structure, for tests and the demo.

Each respondent's market-orientation components and engagement are latent factors (unit
variance; the market-orientation factors correlate ``mo_correlation``, engagement correlates
``engagement_correlation`` with them).  A share ``icc`` of every factor's variance lies between
organisations.  An item is ``loading * factor + noise`` (standardised), then put on its answer
scale: continuous when ``discrete=False`` (so the true reliabilities and ICCs are exact), else
rounded to the scale's points.  Reverse-keyed items are stored reversed, as respondents
answer them.  Across waves an organisation's factors follow ``u_t = rho u_(t-1) + innovation``,
and engagement also gains ``lagged_effect * customer orientation_(t-1)``: the planted
"a rise in customer focus precedes a rise in engagement".  Performance answers reflect an
organisation-level performance of ``performance_effect * market orientation + noise``.

>>> from outsidein.culture.instrument import build_instrument
>>> inst = build_instrument({"version": "1", "items": [
...     {"id": f"c{i}", "component": "customer_orientation", "text": "t"} for i in range(3)]})
>>> sim = simulate_survey(inst, n_orgs=4, mean_size=10, seed=1)
>>> sorted(sim.responses.columns)[:4], sim.truth["alpha"]["customer_orientation"] > 0.5
(['c0', 'c1', 'c2', 'comment'], True)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from outsidein.culture.instrument import ENGAGEMENT, PERFORMANCE, Instrument

__all__ = ["DEPARTMENTS", "INDUSTRIES", "ROLES", "SimulatedSurvey", "simulate_survey"]

DEPARTMENTS: tuple[str, ...] = ("Sales", "Service", "Marketing", "Operations", "Finance", "IT",
                                "Product", "HR")
ROLES: tuple[str, ...] = ("Staff", "Team lead", "Manager")
_ROLE_P = np.array([0.7, 0.2, 0.1])
INDUSTRIES: tuple[str, ...] = ("Retail", "Financial services", "Manufacturing", "Software",
                               "Healthcare", "Logistics", "Telecoms", "Hospitality")
_COMMENTS = ("Decisions about customers take too long.", "We listen to customers more now.",
             "Other teams rarely share what they learn.", "Good place to work.",
             "Management should visit customers.", "")


@dataclass(frozen=True)
class SimulatedSurvey:
    """Responses (one row per respondent and wave), the organisations, and the truth."""

    responses: pd.DataFrame
    orgs: pd.DataFrame
    truth: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        waves = self.responses["wave"].nunique()
        return (f"SimulatedSurvey({len(self.responses)} responses, {len(self.orgs)} orgs, "
                f"{waves} wave(s))")


def _population_alpha(lam: np.ndarray) -> float:
    sigma = np.outer(lam, lam) + np.diag(1 - lam ** 2)
    k = len(lam)
    return float(k / (k - 1) * (1 - np.trace(sigma) / sigma.sum()))


def simulate_survey(instrument: Instrument, *, n_orgs: int = 40, mean_size: float = 60,
                    waves: int = 1, icc: float = 0.15, lagged_effect: float = 0.0,
                    stability: float = 0.6, performance_effect: float = 0.5,
                    mo_correlation: float = 0.6, engagement_correlation: float = 0.4,
                    loading: tuple[float, float] = (0.6, 0.85), discrete: bool = True,
                    intercept_shift: Mapping[str, float] | None = None,
                    seed: int = 0) -> SimulatedSurvey:
    """Simulate *waves* survey waves of *n_orgs* organisations (sizes vary around *mean_size*).

    ``intercept_shift`` moves the named items up (in item SD units) for respondents of the
    first industry: a planted breach of scalar invariance.
    """
    rng = np.random.default_rng(seed)
    factors = [c for c in instrument.components if c != PERFORMANCE]
    f = len(factors)
    phi = np.full((f, f), mo_correlation)
    for i, c in enumerate(factors):
        if c == ENGAGEMENT:
            phi[i, :] = phi[:, i] = engagement_correlation
    np.fill_diagonal(phi, 1.0)
    chol = np.linalg.cholesky(phi)
    items = [it for it in instrument.items if it.component in factors]
    lam = rng.uniform(loading[0], loading[1], size=len(items))
    fidx = np.array([factors.index(it.component) for it in items])
    co = factors.index("customer_orientation") if "customer_orientation" in factors else 0
    en = factors.index(ENGAGEMENT) if ENGAGEMENT in factors else None
    mo_idx = [i for i, c in enumerate(factors) if c != ENGAGEMENT]

    orgs = pd.DataFrame({
        "org": [f"org{i + 1:03d}" for i in range(n_orgs)],
        "industry": rng.choice(INDUSTRIES, size=n_orgs),
        "employees": np.round(np.exp(rng.normal(np.log(400), 1.1, n_orgs))).astype(int) + 10})
    sizes = np.maximum(3, rng.negative_binomial(4, 4 / (4 + mean_size), n_orgs))
    n_dept = rng.integers(3, len(DEPARTMENTS) + 1, n_orgs)
    u = (rng.standard_normal((n_orgs, f)) @ chol.T) * np.sqrt(icc)
    perf_noise = rng.standard_normal(n_orgs)
    shift = dict(intercept_shift or {})
    frames = []
    org_latent = []
    for w in range(1, waves + 1):
        if w > 1:
            innov = (rng.standard_normal((n_orgs, f)) @ chol.T) * np.sqrt(icc * (1 - stability**2))
            new = stability * u + innov
            if en is not None:
                new[:, en] += lagged_effect * u[:, co]
            u = new
        org_latent.append(pd.DataFrame(u, columns=factors).assign(org=orgs["org"], wave=w))
        n_w = np.maximum(3, (sizes * rng.uniform(0.8, 1.2, n_orgs)).astype(int))
        org_of = np.repeat(np.arange(n_orgs), n_w)
        N = len(org_of)
        e = (rng.standard_normal((N, f)) @ chol.T) * np.sqrt(1 - icc)
        eta = u[org_of] + e
        z = eta[:, fidx] * lam + rng.standard_normal((N, len(items))) * np.sqrt(1 - lam ** 2)
        resp: dict[str, Any] = {
            "org": orgs["org"].to_numpy()[org_of], "wave": w,
            "department": np.array(DEPARTMENTS)[rng.integers(0, n_dept[org_of])],
            "role": rng.choice(ROLES, size=N, p=_ROLE_P)}
        first = orgs["industry"].to_numpy()[org_of] == INDUSTRIES[0]
        for j, it in enumerate(items):
            mid = (it.scale_min + it.scale_max) / 2
            # discrete: answers lean to agreement; continuous: 4.5 SD each side, so that
            # (almost) nothing is clipped and the truth below stays exact
            sd = (it.scale_max - it.scale_min) / (4.5 if discrete else 9.0)
            lean = 0.3 * sd if discrete else 0.0
            x = mid + lean + sd * (z[:, j] + np.where(first, shift.get(it.id, 0.0), 0.0))
            if discrete:
                x = np.clip(np.rint(x), it.scale_min, it.scale_max)
            else:
                x = np.clip(x, it.scale_min, it.scale_max)
            resp[it.id] = (it.scale_min + it.scale_max - x) if it.reverse else x
        mo_org = u[:, mo_idx].mean(axis=1) / np.sqrt(max(icc, 1e-9))
        perf_org = performance_effect * mo_org + np.sqrt(1 - performance_effect**2) * perf_noise
        for it in instrument.items_for(PERFORMANCE):
            mid = (it.scale_min + it.scale_max) / 2
            sd = (it.scale_max - it.scale_min) / 5
            x = mid + sd * (perf_org[org_of] * 0.8 + rng.standard_normal(N) * 0.6)
            x = np.clip(np.rint(x) if discrete else x, it.scale_min, it.scale_max)
            resp[it.id] = (it.scale_min + it.scale_max - x) if it.reverse else x
        resp["comment"] = rng.choice(_COMMENTS, size=N)
        frames.append(pd.DataFrame(resp))
    responses = pd.concat(frames, ignore_index=True)
    alpha, omega, icc1 = {}, {}, {}
    for c in factors:
        lc = lam[fidx == factors.index(c)]
        alpha[c] = _population_alpha(lc)
        s = lc.sum() ** 2
        omega[c] = float(s / (s + np.sum(1 - lc ** 2)))
        k = len(lc)
        between = icc * lc.mean() ** 2
        within = (1 - icc) * lc.mean() ** 2 + np.sum(1 - lc ** 2) / k ** 2
        icc1[c] = float(between / (between + within))
    truth = {
        "std_loadings": {it.id: float(lam[j]) for j, it in enumerate(items)},
        "loadings": {it.id: float(lam[j] / lam[fidx == fidx[j]][0])
                     for j, it in enumerate(items)},
        "alpha": alpha, "omega": omega, "icc1": icc1, "factor_icc": icc,
        "factor_correlation": phi.tolist(), "factors": factors,
        "lagged_effect": lagged_effect, "performance_effect": performance_effect,
        "intercept_shift": shift, "shifted_industry": INDUSTRIES[0],
        "org_latent": pd.concat(org_latent, ignore_index=True),
        "discrete": discrete}
    return SimulatedSurvey(responses, orgs, truth)
