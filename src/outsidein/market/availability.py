"""What a stock-out or a slow delivery costs: a matched rate ratio with its interval.

A customer is *hit* by their first order that met a product out of stock, or slow to
deliver, in their region that day.  The question is what that does to what they do next
(repeat purchases, complaints), against comparable customers who were not hit.

The comparison (built in the warehouse, :mod:`outsidein.services.market.segments_data`):

* **treated**: each hit customer from their first hit order on: the outcomes after it
  (orders, complaints) over the days from it to the end of the data;
* **controls**: every order of a customer not (yet) hit, that met no stock-out, with the
  outcomes after it until the end of the data or the customer's own first hit (the count
  stops there, so a later hit does not dilute the controls);
* **matching**: both are put in strata of the same region, calendar month of the
  reference order, number of orders before it (0, 1, 2, 3-4, 5-8, 9+) and tenure band;
  within a stratum the controls' rate (outcomes per day) is what a treated customer would
  have had.

The effect is the standardised rate ratio ``O / E``: outcomes observed among the hit
customers over outcomes expected from the controls of their strata.  1.0 is no effect;
0.5 is "hit customers buy at half the rate".  The 95% interval is on the log scale with a
sandwich variance clustered by customer on both sides (a customer's outcomes are counted
once per treated stratum; a control customer's several reference orders within a stratum
are summed first), so over-dispersed counts do not make it falsely narrow.

:class:`AvailabilityEffect` takes the per-stratum sums (a few thousand rows at most,
whatever the number of customers) and follows the scikit-learn contract.

>>> import pandas as pd
>>> control = pd.DataFrame({"stratum": ["a"], "count": [100.0], "exposure": [1000.0],
...                         "count_sq": [150.0], "count_exposure": [1500.0],
...                         "exposure_sq": [20000.0]})
>>> treated = pd.DataFrame({"group": ["all"], "stratum": ["a"], "customers": [40],
...                         "count": [20.0], "exposure": [400.0], "count_sq": [30.0],
...                         "count_exposure": [300.0], "exposure_sq": [5000.0]})
>>> fit = AvailabilityEffect().fit(treated, control)
>>> round(float(fit.effects_.loc[0, "effect"]), 3)
0.5
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from scipy.stats import norm

from outsidein.errors import NotFittedError

__all__ = ["SUM_COLUMNS", "AvailabilityEffect"]

#: The per-stratum sums both sides give (count and exposure summed per customer first).
SUM_COLUMNS = ("count", "exposure", "count_sq", "count_exposure", "exposure_sq")


class AvailabilityEffect:
    """Standardised rate ratio of hit customers against matched controls (see module doc).

    Parameters
    ----------
    confidence
        Coverage of the interval (default 0.95).
    min_treated
        Groups with fewer treated customers (that have controls in their strata) get no
        estimate (NaN effect).

    Attributes
    ----------
    effects_ : pandas.DataFrame
        One row per group: ``group, customers, observed, expected, effect, ci_low,
        ci_high, change`` (``effect - 1``: -0.5 is half the rate), ``p_value``.
    """

    def __init__(self, *, confidence: float = 0.95, min_treated: int = 10) -> None:
        self.confidence = confidence
        self.min_treated = min_treated

    def fit(self, treated: pd.DataFrame, control: pd.DataFrame) -> AvailabilityEffect:
        """Estimate each group's effect from the per-stratum sums.

        Parameters
        ----------
        treated
            ``group, stratum, customers`` and :data:`SUM_COLUMNS` per (group, stratum).
        control
            ``stratum`` and :data:`SUM_COLUMNS` per stratum.
        """
        z = float(_z(self.confidence))
        c = control.set_index("stratum")
        rate = (c["count"] / c["exposure"]).where(c["exposure"] > 0)
        resid = (c["count_sq"] - 2 * rate * c["count_exposure"] + rate ** 2 * c["exposure_sq"])
        var_rate = (resid.clip(lower=0) / c["exposure"] ** 2).where(c["exposure"] > 0)
        rows: list[dict[str, Any]] = []
        for group, g in treated.groupby("group", sort=False):
            g = g.assign(rate=g["stratum"].map(rate), var_rate=g["stratum"].map(var_rate))
            g = g[g["rate"].notna() & (g["exposure"] > 0)]
            rows.append(self._one(str(group), g, z))
        self.effects_ = pd.DataFrame(rows, columns=[
            "group", "customers", "observed", "expected", "effect", "ci_low", "ci_high",
            "change", "p_value"])
        return self

    def _one(self, group: str, g: pd.DataFrame, z: float) -> dict[str, Any]:
        customers = int(g["customers"].sum())
        observed = float(g["count"].sum())
        expected = float((g["exposure"] * g["rate"]).sum())
        nan = float("nan")
        out: dict[str, Any] = {"group": group, "customers": customers, "observed": observed,
                               "expected": expected, "effect": nan, "ci_low": nan,
                               "ci_high": nan, "change": nan, "p_value": nan}
        if customers < self.min_treated or expected <= 0:
            return out
        rr = observed / expected
        r = g["rate"]
        # treated side: sum over customers of (o - rr * rate * e)^2
        v_t = (g["count_sq"] - 2 * rr * r * g["count_exposure"]
               + (rr * r) ** 2 * g["exposure_sq"]).clip(lower=0).sum()
        # control side: the expected count's variance through each stratum's rate
        v_c = (rr ** 2) * float((g["exposure"] ** 2 * g["var_rate"]).sum())
        se_rr = math.sqrt(float(v_t) + v_c) / expected
        if rr > 0:
            se_log = se_rr / rr
            low, high = rr * math.exp(-z * se_log), rr * math.exp(z * se_log)
            p = float(2 * _norm_sf(abs(math.log(rr)) / se_log)) if se_log > 0 else 0.0
        else:  # no outcome at all after the hit: the upper bound from a Poisson count of 0
            low, high, p = 0.0, min(1.0, 3.0 / expected), 0.0
        out.update(effect=rr, ci_low=low, ci_high=high, change=rr - 1.0, p_value=p)
        return out

    def effect(self, group: str) -> dict[str, Any]:
        """The row of *group* as a mapping.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        KeyError
            A group that was not in the data.
        """
        if not hasattr(self, "effects_"):
            raise NotFittedError("AvailabilityEffect is not fitted yet; call fit(treated, "
                                 "control) first")
        hit = self.effects_[self.effects_["group"] == group]
        if hit.empty:
            raise KeyError(group)
        return dict(hit.iloc[0])

    def __repr__(self) -> str:
        return f"AvailabilityEffect(confidence={self.confidence}, min_treated={self.min_treated})"


def _z(confidence: float) -> float:
    """The normal quantile for a two-sided interval.

    >>> round(_z(0.95), 3)
    1.96
    """
    return float(norm.ppf(0.5 + confidence / 2.0))


def _norm_sf(x: float) -> float:
    """Upper tail of the standard normal.

    >>> round(_norm_sf(1.96), 3)
    0.025
    """
    return float(norm.sf(x))
