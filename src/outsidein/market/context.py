"""Context-conditioned lift: which products sell faster before or during an event (Pop-Tarts).

Input: per kind of event (storm warning, holiday, ...), per window (``before``: the days
before each event starts; ``during``: its days), per product and per *stratum* (a region in
one calendar month: the same region and season), the product's sales ``a`` on window days
over their exposure ``t1`` (days, or orders for a rate per order), and ``b`` over ``t0`` on
the stratum's other days (the baseline); ``days0`` (optional) counts the baseline's days.

* The uplift is the Mantel-Haenszel rate ratio across strata,
  ``RR = sum(a t0 / T) / sum(b t1 / T)`` with ``T = t0 + t1``, so each window is held
  against its own region and month; its interval is ``exp(log RR +- z se)`` with the
  Greenland-Robins (1985) variance of ``log RR``.  A significant finding was selected out
  of every test, so its reported interval (``ci_low``, ``ci_high``) is the false-coverage-
  rate interval of Benjamini & Yekutieli (2005): level ``1 - R (1 - confidence) / m`` for
  ``R`` findings out of ``m`` tests (the plain interval stays in ``ci95_low``/``ci95_high``).
* The test is one-sided, for a rise: given each stratum's total ``a + b``, no lift makes
  ``a`` binomial with mean ``E = (a + b) t1 / T``; the p-value is ``P(X >= sum a)`` for
  ``X ~ Poisson(sum E)`` (conservative: exact enough for the few sales of a rare product,
  where a normal score test claims too much); the q-values control the false discovery
  rate over every (kind, window, product) tested (Benjamini-Hochberg,
  :func:`scipy.stats.false_discovery_control`).
* Obvious or not: the *type's own lift* is the same rate ratio for the other products of
  the product's type; ``surprise = log RR - log type RR`` ranks the findings.  A finding is
  *obvious* when its type rises as a whole (the type's interval lies above 1) or its name or
  type holds a word expected for the kind (``obvious_words``: flashlights and batteries
  before a storm); Pop-Tarts are neither.
* Extra stock: ``(RR - 1)`` times the product's normal units a day in each region times
  the window's days, per event, to be in stock ``days_before`` days before the event.

>>> import pandas as pd
>>> strata = pd.DataFrame({"kind": "storm", "window": "before", "product_id": ["p", "q"],
...     "product_type": "snacks", "name": ["Pop-Tarts", "Chips"], "region": "north",
...     "stratum": "north 2024-06", "a": [21, 3], "t1": 3, "b": [27, 27], "t0": 27,
...     "a_units": [21, 3], "b_units": [27, 27]})
>>> f = ContextLift().fit(strata, n_events={"storm": 1}).findings_
>>> f[["product_id", "rate_ratio", "significant"]].to_dict("records")[0]
{'product_id': 'p', 'rate_ratio': 7.0, 'significant': True}
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator

from outsidein.errors import DataValidationError, NotFittedError

__all__ = ["OBVIOUS_WORDS", "STRATA_COLUMNS", "WINDOWS", "ContextLift", "mantel_haenszel"]

#: the windows tested per kind of event
WINDOWS = ("before", "during")
#: the columns :meth:`ContextLift.fit` needs
STRATA_COLUMNS = ("kind", "window", "product_id", "product_type", "region", "stratum", "a", "t1",
                  "b", "t0", "b_units")
#: words that make a finding expected for a kind of event (matched in names and types)
OBVIOUS_WORDS: dict[str, tuple[str, ...]] = {
    "storm_warning": ("flashlight", "batter", "torch", "candle", "generator", "water",
                      "radio", "tarp", "power bank"),
    "holiday": ("gift", "decoration", "wrapping", "card", "turkey"),
}
_KEY = ["kind", "window", "product_id"]


def mantel_haenszel(a: np.ndarray, t1: np.ndarray, b: np.ndarray, t0: np.ndarray,
                    z: float = 1.959964) -> dict[str, float]:
    """Mantel-Haenszel rate ratio of window vs baseline over strata, its interval, one-sided p.

    One stratum: the plain ratio (30/10) / (10/10) = 3 and se = sqrt(1/30 + 1/10).

    >>> r = mantel_haenszel(np.array([30]), np.array([10]), np.array([10]), np.array([10]))
    >>> round(r["rate_ratio"], 3), round(r["ci_low"], 3), r["p_value"] < 0.05
    (3.0, 1.467, True)
    """
    t = t1 + t0
    ok = t > 0
    a, t1, b, t0, t = a[ok], t1[ok], b[ok], t0[ok], t[ok]
    num, den = float(np.sum(a * t0 / t)), float(np.sum(b * t1 / t))
    exp = float(np.sum((a + b) * t1 / t))
    var = float(np.sum((a + b) * t1 * t0 / t**2))
    obs = float(np.sum(a))
    # P(sum a >= observed) under no lift: the sum of binomials a_i ~ Bin(a_i + b_i, t1_i / T_i)
    # taken as Poisson(E), which is conservative (its variance E exceeds V)
    p = float(stats.poisson.sf(obs - 1, exp)) if exp > 0 else 1.0
    if num > 0 and den > 0:
        rr = num / den
        se = math.sqrt(var / (num * den))
        low, high = rr * math.exp(-z * se), rr * math.exp(z * se)
    else:
        rr = math.inf if num > 0 else (0.0 if den > 0 else math.nan)
        low, high, se = math.nan, math.nan, math.nan
    return {"rate_ratio": rr, "ci_low": low, "ci_high": high, "p_value": p,
            "observed": obs, "expected": exp, "se_log": se}


class ContextLift(BaseEstimator):  # type: ignore[misc]
    """Products whose sales rise with a kind of event, against the same region and season.

    Parameters
    ----------
    alpha : float
        False discovery rate: a finding is significant when its q-value is at most this
        and its rate ratio is above 1.
    confidence : float
        Level of the rate ratio's interval.
    obvious_words : mapping of kind to words, optional
        Expected products per kind (default :data:`OBVIOUS_WORDS`).

    Attributes
    ----------
    findings_ : pandas.DataFrame
        One row per (kind, window, product): ``rate_ratio``, ``ci_low``, ``ci_high``,
        ``p_value``, ``q_value``, ``n_events``, ``type_ratio``, ``type_ci_low``, ``surprise``,
        ``obvious``, ``significant``, ``extra_stock`` ...; significant first, then the
        non-obvious, then by surprise.
    """

    def __init__(self, alpha: float = 0.05, confidence: float = 0.95,
                 obvious_words: Mapping[str, Sequence[str]] | None = None) -> None:
        self.alpha = alpha
        self.confidence = confidence
        self.obvious_words = obvious_words

    def __getattr__(self, name: str) -> Any:
        if name.endswith("_") and not name.startswith("_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit first")
        raise AttributeError(name)

    def fit(self, strata: pd.DataFrame, n_events: Mapping[str, int],
            window_days: Mapping[tuple[str, str], float] | None = None) -> ContextLift:
        """Test every (kind, window, product) of *strata* (columns :data:`STRATA_COLUMNS`).

        *n_events* gives the events of each kind behind the windows; *window_days* the mean
        days of one event's window per (kind, window) (for the extra stock; default 1).
        """
        missing = [c for c in STRATA_COLUMNS if c not in strata.columns]
        if missing:
            raise DataValidationError(f"context strata lack column(s) {', '.join(missing)}")
        if not 0.0 < self.alpha < 1.0 or not 0.0 < self.confidence < 1.0:
            raise DataValidationError("alpha and confidence must lie strictly between 0 and 1")
        z = float(stats.norm.ppf(0.5 + self.confidence / 2))
        s = strata.copy()
        if "name" not in s.columns:
            s["name"] = s["product_id"]
        out = _mh_table(s, "a", "b", z).reset_index()
        info = s.drop_duplicates("product_id").set_index("product_id")[["product_type", "name"]]
        out = out.join(info, on="product_id")
        out = out.merge(self._type_lift(s, z), on=_KEY, how="left")
        out["q_value"] = (stats.false_discovery_control(out["p_value"].to_numpy(), method="bh")
                          if len(out) else [])
        out["n_events"] = out["kind"].map(lambda k: int(n_events.get(k, 0))).astype("int64")
        out["surprise"] = _log(out["rate_ratio"]) - _log(out["type_ratio"])
        out["obvious"] = self._obvious(out)
        out["significant"] = (out["q_value"] <= self.alpha) & (out["rate_ratio"] > 1.0)
        out["ci95_low"], out["ci95_high"] = out["ci_low"], out["ci_high"]
        chosen = int(out["significant"].sum())
        if chosen:
            # Benjamini-Yekutieli (2005): intervals of the R findings selected out of m tests
            # at level 1 - R alpha / m keep the false coverage rate at alpha
            z_fcr = float(stats.norm.ppf(1 - chosen * (1 - self.confidence) / (2 * len(out))))
            sig = out["significant"].to_numpy()
            rr, se = out["rate_ratio"].to_numpy(float), out["se_log"].to_numpy(float)
            out.loc[sig, "ci_low"] = (rr * np.exp(-z_fcr * se))[sig]
            out.loc[sig, "ci_high"] = (rr * np.exp(z_fcr * se))[sig]
        out["extra_stock"] = _extra_stock(out, s, window_days or {})
        out["_plain"] = ~out["obvious"]
        self.findings_ = out.sort_values(["significant", "_plain", "surprise"], ascending=False,
                                         kind="stable").drop(columns="_plain") \
                            .reset_index(drop=True)
        return self

    def _type_lift(self, s: pd.DataFrame, z: float) -> pd.DataFrame:
        """Each product's type's own lift: the rate ratio of the type's other products."""
        typ = s.groupby(["kind", "window", "product_type", "stratum"], as_index=False)[
            ["a", "b"]].sum().rename(columns={"a": "ta", "b": "tb"})
        m = s.merge(typ, on=["kind", "window", "product_type", "stratum"])
        m["oa"], m["ob"] = m["ta"] - m["a"], m["tb"] - m["b"]
        t = _mh_table(m, "oa", "ob", z)[["rate_ratio", "ci_low"]]
        return t.rename(columns={"rate_ratio": "type_ratio", "ci_low": "type_ci_low"}) \
                .reset_index()

    def _obvious(self, out: pd.DataFrame) -> pd.Series:
        words = OBVIOUS_WORDS if self.obvious_words is None else self.obvious_words
        text = (out["name"].astype(str) + " " + out["product_type"].astype(str)).str.lower()
        expected = [any(w.lower() in t for w in words.get(k, ())) for k, t in
                    zip(out["kind"], text, strict=True)]
        type_rises = out["type_ci_low"].fillna(0.0) > 1.0
        return pd.Series(expected, index=out.index, dtype=bool) | type_rises


def _mh_table(s: pd.DataFrame, a_col: str, b_col: str, z: float) -> pd.DataFrame:
    """:func:`mantel_haenszel` for every (kind, window, product) of *s* at once."""
    t1, t0 = s["t1"].to_numpy(float), s["t0"].to_numpy(float)
    a, b = s[a_col].to_numpy(float), s[b_col].to_numpy(float)
    t = t1 + t0
    ok = t > 0
    tt = np.where(ok, t, 1.0)
    terms = pd.DataFrame({
        "num": np.where(ok, a * t0 / tt, 0.0), "den": np.where(ok, b * t1 / tt, 0.0),
        "expected": np.where(ok, (a + b) * t1 / tt, 0.0),
        "var": np.where(ok, (a + b) * t1 * t0 / tt**2, 0.0), "observed": np.where(ok, a, 0.0)})
    for k in _KEY:
        terms[k] = s[k].to_numpy()
    g = terms.groupby(_KEY, sort=True)[["num", "den", "expected", "var", "observed"]].sum()
    num, den, var = g["num"].to_numpy(), g["den"].to_numpy(), g["var"].to_numpy()
    obs, exp = g["observed"].to_numpy(), g["expected"].to_numpy()
    both = (num > 0) & (den > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rr = np.where(both, num / np.where(den > 0, den, 1.0),
                      np.where(num > 0, np.inf, np.where(den > 0, 0.0, np.nan)))
        se = np.where(both, np.sqrt(var / np.where(both, num * den, 1.0)), np.nan)
    p = np.where(exp > 0, stats.poisson.sf(obs - 1, np.where(exp > 0, exp, 1.0)), 1.0)
    return pd.DataFrame({"rate_ratio": rr, "ci_low": rr * np.exp(-z * se),
                         "ci_high": rr * np.exp(z * se), "p_value": p, "observed": obs,
                         "expected": exp, "se_log": se}, index=g.index)


def _log(x: pd.Series) -> pd.Series:
    v = pd.to_numeric(x, errors="coerce").astype(float)
    return pd.Series(np.log(v.where(v > 0)), index=x.index)


def _extra_stock(out: pd.DataFrame, s: pd.DataFrame,
                 window_days: Mapping[tuple[str, str], float]) -> list[dict[str, Any]]:
    """Extra units per event and region: (RR - 1) x normal units a day x the window's days."""
    days0 = "days0" if "days0" in s.columns else "t0"
    base = s.groupby(["kind", "window", "product_id", "region"], as_index=False)[
        ["b_units", days0]].sum()
    base["per_day"] = base["b_units"] / base[days0].where(base[days0] > 0)
    per: dict[tuple[str, str, str], list[tuple[str, float]]] = {}
    for r in base.itertuples(index=False):
        per.setdefault((r.kind, r.window, r.product_id), []).append(
            (str(r.region), float(r.per_day) if r.per_day == r.per_day else 0.0))
    result = []
    for r in out.itertuples(index=False):
        rr = float(r.rate_ratio)
        days = float(window_days.get((r.kind, r.window), 1.0))
        units = sorted(((round(max(rr - 1.0, 0.0) * d * days, 1), reg)
                        for reg, d in per.get((r.kind, r.window, r.product_id), [])
                        if math.isfinite(rr)), reverse=True)
        regions = [{"region": reg, "units_per_event": u} for u, reg in units]
        result.append({"units_per_event": round(sum(u for u, _ in units), 1),
                       "regions": regions,
                       "days_before": int(math.ceil(days)) if r.window == "before" else 0})
    return result
