"""What sets the top decile apart: measures and attributes ranked by a stated effect size.

Each candidate compares the top-decile customers with the rest:

* a **measure** (orders, average order value, tenure, income ...) by its
  standardized mean difference, Cohen's *d*: the difference of the two means
  over their pooled standard deviation;
* a **share** (customers in an industry, acquired through a channel, who
  bought a product type) by Cohen's *h*: ``2 asin(sqrt(p_top)) - 2 asin(sqrt(p_rest))``,
  the standardized difference of two proportions.

Both are on the same scale (0.2 small, 0.5 medium, 0.8 large), so one ranking
holds them.  A row needs a minimum support (:data:`MIN_SUPPORT` top-decile
customers who have the value, or a known measure) and a non-negligible effect
(:data:`MIN_EFFECT`) that shows in the rounded numbers; a constant measure,
an unknown value, a side with no customers, or "100 weeks vs 100 weeks" is
filler and is left out.  Numbers come with words for people
(``top_text``, ``rest_text``, ``difference_text``: percent, currency, counts).

>>> import numpy as np, pandas as pd
>>> df = pd.DataFrame({"orders": [9, 8, 9, 7] * 10 + [2, 3, 1, 2] * 40,
...                    "industry": ["software"] * 40 + ["retail", "software"] * 80})
>>> top = np.arange(len(df)) < 40
>>> table = rank_drivers(measure_drivers(df, top, [Measure("orders", "orders", "count")]),
...                      attribute_drivers(df, top, ["industry"]))
>>> table[["driver", "top_text", "rest_text", "effect"]].to_numpy().tolist()
[['orders', '8.2', '2.0', 8.48], ['industry: software', '100%', '50%', 1.57]]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from outsidein.value.profit import money

__all__ = ["COLUMNS", "EFFECT_SIZES", "MIN_EFFECT", "MIN_SUPPORT", "Measure",
           "attribute_drivers", "format_amount", "measure_drivers", "rank_drivers",
           "share_drivers"]

#: top-decile customers who must have a value (or a known measure) for a row to count
MIN_SUPPORT = 30
#: effects smaller than this (in standard units) say nothing and are left out
MIN_EFFECT = 0.1
EFFECT_SIZES = {"measure": "standardized mean difference (Cohen's d)",
                "share": "standardized difference in share (Cohen's h)"}
#: the columns of a drivers table
COLUMNS = ["driver", "kind", "top_decile", "rest", "ratio", "difference", "effect",
           "effect_size", "top_customers", "unit", "top_text", "rest_text", "difference_text"]
_UNKNOWN = {"", "unknown", "none", "nan", "null", "n/a", "na", "<na>"}


@dataclass(frozen=True)
class Measure:
    """A per-customer measure: its column, its words, and its unit (money, count, weeks ...)."""

    column: str
    words: str
    unit: str = "number"


def format_amount(x: float, unit: str) -> str:
    """*x* in words for its *unit*, never in scientific notation.

    Examples
    --------
    >>> format_amount(1234.5, "money"), format_amount(0.256, "share"), format_amount(12.04, "count")
    ('$1.2k', '26%', '12.0')
    >>> format_amount(37.6, "weeks"), format_amount(2.5e9, "number")
    ('38 weeks', '2,500,000,000')
    """
    if x is None or not np.isfinite(x):
        return ""
    if unit == "money":
        return money(x)
    if unit in ("share", "probability"):
        return f"{100 * x:.0f}%"
    if unit == "weeks":
        return f"{x:,.0f} weeks"
    if unit == "count" or abs(x) < 100:
        return f"{x:,.1f}"
    return f"{x:,.0f}"


def _difference_text(diff: float, unit: str) -> str:
    if unit in ("share", "probability"):
        return f"{100 * diff:+.0f} points"
    text = format_amount(abs(diff), unit)
    return ("+" if diff >= 0 else "-") + text


def _row(driver: str, kind: str, a: float, b: float, effect: float, support: int,
         unit: str) -> dict[str, object]:
    ratio = a / b if b else np.nan
    return {"driver": driver, "kind": kind, "top_decile": float(a), "rest": float(b),
            "ratio": float(ratio), "difference": float(a - b), "effect": round(float(effect), 2),
            "effect_size": EFFECT_SIZES["measure" if kind == "measure" else "share"],
            "top_customers": int(support), "unit": unit, "top_text": format_amount(a, unit),
            "rest_text": format_amount(b, unit), "difference_text": _difference_text(a - b, unit)}


def measure_drivers(frame: pd.DataFrame, top: np.ndarray, measures: Sequence[Measure], *,
                    min_support: int = MIN_SUPPORT) -> pd.DataFrame:
    """Each measure's means, top decile vs the rest, and Cohen's *d* (see the module doc).

    A measure needs *min_support* top-decile customers with a value, two of the
    rest, and a spread (a constant, such as a cost to serve that is 0 for all, is filler).
    """
    top = np.asarray(top, dtype=bool)
    rows = []
    for m in measures:
        if m.column not in frame.columns:
            continue
        v = pd.to_numeric(frame[m.column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        v = np.where(np.isfinite(v), v, np.nan)
        a, b = v[top & ~np.isnan(v)], v[~top & ~np.isnan(v)]
        if len(a) < max(min_support, 2) or len(b) < 2:
            continue
        pooled = np.sqrt(((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1))
                         / (len(a) + len(b) - 2))
        if not np.isfinite(pooled) or pooled <= 0:
            continue
        rows.append(_row(m.words, "measure", a.mean(), b.mean(), (a.mean() - b.mean()) / pooled,
                         len(a), m.unit))
    return pd.DataFrame(rows, columns=COLUMNS)


def _cohen_h(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return 2 * np.arcsin(np.sqrt(p)) - 2 * np.arcsin(np.sqrt(q))


def share_drivers(counts: pd.DataFrame, n_top: int, n_rest: int, *, kind: str = "attribute",
                  min_support: int = MIN_SUPPORT) -> pd.DataFrame:
    """Shares of customers with each value, top decile vs the rest, and Cohen's *h*.

    Parameters
    ----------
    counts
        ``driver`` (the value in words), ``top`` and ``rest`` (customers with it on each side).
    n_top, n_rest
        Customers on each side.

    Examples
    --------
    >>> c = pd.DataFrame({"driver": ["bought hardware"], "top": [30], "rest": [90]})
    >>> share_drivers(c, 40, 360, kind="product type")[["top_text", "rest_text", "effect"]]
      top_text rest_text  effect
    0      75%       25%    1.05
    """
    if n_top <= 0 or n_rest <= 0 or counts.empty:
        return pd.DataFrame(columns=COLUMNS)
    c = counts[counts["top"] >= min_support]
    p, q = c["top"].to_numpy(float) / n_top, c["rest"].to_numpy(float) / n_rest
    effect = _cohen_h(p, q)
    rows = [_row(str(d), kind, pi, qi, e, int(t), "share")
            for d, pi, qi, e, t in zip(c["driver"], p, q, effect, c["top"], strict=True)]
    return pd.DataFrame(rows, columns=COLUMNS)


def attribute_drivers(frame: pd.DataFrame, top: np.ndarray, columns: Sequence[str], *,
                      min_support: int = MIN_SUPPORT) -> pd.DataFrame:
    """For each value of each attribute column: share of the top decile vs the rest (Cohen's h).

    Missing and unknown values are not compared (a value named "unknown" is filler).
    """
    top = np.asarray(top, dtype=bool)
    n_top, n_rest = int(top.sum()), int((~top).sum())
    frames = []
    for col in columns:
        if col not in frame.columns:
            continue
        v = frame[col].astype("string").str.strip()
        known = v.notna() & ~v.str.lower().isin(_UNKNOWN).fillna(True)
        if not known.any():
            continue
        t = pd.crosstab(v[known], top[known.to_numpy()])
        counts = pd.DataFrame({"driver": [f"{col.replace('_', ' ')}: {x}" for x in t.index],
                               "top": t[True].to_numpy() if True in t.columns else 0,
                               "rest": t[False].to_numpy() if False in t.columns else 0})
        frames.append(share_drivers(counts, n_top, n_rest, min_support=min_support))
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)


def rank_drivers(*tables: pd.DataFrame, min_effect: float = MIN_EFFECT,
                 max_rows: int = 15) -> pd.DataFrame:
    """The drivers of *tables* with an effect of at least *min_effect*, largest effect first.

    A row whose two sides read the same once rounded for people is left out too.
    """
    tables = tuple(t for t in tables if not t.empty)
    if not tables:
        return pd.DataFrame(columns=COLUMNS)
    out = pd.concat(tables, ignore_index=True)
    out = out[(out["effect"].abs() >= min_effect) & (out["top_text"] != out["rest_text"])]
    out = out.assign(_size=out["effect"].abs()).sort_values(["_size", "driver"],
                                                            ascending=[False, True])
    return out.drop(columns="_size").head(max_rows).reset_index(drop=True)
