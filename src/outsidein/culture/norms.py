"""The norm database: percentile ranks against other organisations, and the gap to the top.

An organisation's score is ranked among the organisations in the norm table (itself left
out): ``percentile = 100 * (number below + half the number equal) / n``, overall and per
component, for every organisation, for its industry and for its size band, with the number of
organisations behind each percentile.  :func:`illustrative_norms` draws a norm set from
:data:`NORM_MODEL` for a workspace that has no clients yet; every row carries
``illustrative = True`` and every view must say so.

>>> from outsidein.culture.instrument import build_instrument
>>> inst = build_instrument({"version": "1", "items": [
...     {"id": f"c{i}", "component": "customer_orientation", "text": "t"} for i in range(3)]})
>>> norms = illustrative_norms(inst, n_orgs=200, seed=1)
>>> bool(norms["illustrative"].all()), len(norms)
(True, 200)
>>> me = pd.DataFrame({"org": ["me"], "industry": ["Retail"], "employees": [120],
...                    "customer_orientation": [80.0], "market_orientation": [80.0]})
>>> r = percentile_ranks(me, norms, ["market_orientation"])
>>> r["cut"].iloc[0], int(r["n_orgs"].iloc[0]), bool(r["percentile"].iloc[0] > 90)
('all', 200, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from outsidein.culture._results import records
from outsidein.culture.instrument import COMPONENT_LABELS, MO_COMPONENTS, Instrument
from outsidein.culture.simulate import INDUSTRIES

__all__ = ["NORM_MODEL", "SIZE_BANDS", "GapResult", "illustrative_norms", "percentile_rank",
           "percentile_ranks", "size_band", "top_quartile_gaps"]

SIZE_BANDS: tuple[str, ...] = ("1-49", "50-249", "250-999", "1000+")
_EDGES = np.array([50, 250, 1000])

#: the stated model the illustrative norm set is drawn from
NORM_MODEL = (
    "ILLUSTRATIVE norms, not survey data: organisation-level component scores (0-100) drawn "
    "from a multivariate normal with mean 62 and SD 9 for each market-orientation component, "
    "correlation 0.6 between components, engagement mean 65 SD 10 correlating 0.4 with market "
    "orientation; industry shifts of -3 to +3 points; organisations of 1000+ employees 2 "
    "points lower; item means = component mean + an item offset (SD 4) + noise (SD 3); "
    "performance = 50 + 0.3 SD per SD of market orientation + noise.")


def size_band(employees: Any) -> Any:
    """The size band of *employees* (a number or an array).

    >>> size_band(120), size_band([10, 5000]).tolist()
    ('50-249', ['1-49', '1000+'])
    """
    e = np.asarray(employees, dtype=float)
    idx = np.searchsorted(_EDGES, e, side="right")
    if idx.ndim == 0:
        return SIZE_BANDS[int(idx)]
    return np.array(SIZE_BANDS, dtype=object)[idx]


def percentile_rank(value: float, reference: Sequence[float] | np.ndarray) -> float:
    """Percentile rank of *value* among *reference* (mid-rank for ties), 0-100.

    >>> percentile_rank(3, [1, 2, 3, 4])
    62.5
    """
    ref = np.asarray(reference, dtype=float)
    ref = ref[~np.isnan(ref)]
    if not len(ref) or np.isnan(value):
        return float("nan")
    return float(100 * ((ref < value).sum() + 0.5 * (ref == value).sum()) / len(ref))


def _bands(frame: pd.DataFrame) -> np.ndarray:
    if "size_band" in frame.columns:
        return frame["size_band"].astype(str).to_numpy()
    if "employees" in frame.columns:
        return np.asarray(size_band(frame["employees"].to_numpy()), dtype=object)
    return np.full(len(frame), "", dtype=object)


def percentile_ranks(org_scores: pd.DataFrame, norms: pd.DataFrame,
                     columns: Sequence[str], *, org: str = "org") -> pd.DataFrame:
    """Long table ``[org, component, cut, percentile, n_orgs, illustrative]``.

    Cuts: ``all``, ``industry: <industry>`` and ``size: <band>`` (when the columns exist).
    An organisation present in *norms* is left out of its own reference.
    """
    illus = bool(norms["illustrative"].any()) if "illustrative" in norms.columns else False
    n_ind = norms["industry"].astype(str).to_numpy() if "industry" in norms.columns else None
    n_band = _bands(norms)
    o_band = _bands(org_scores)
    n_org = norms[org].astype(str).to_numpy() if org in norms.columns else \
        np.full(len(norms), None, dtype=object)
    rows = []
    for i, r in enumerate(org_scores.to_dict(orient="records")):
        others = n_org != str(r[org])
        cuts: list[tuple[str, np.ndarray]] = [("all", others)]
        if n_ind is not None and "industry" in r:
            cuts.append((f"industry: {r['industry']}", others & (n_ind == str(r["industry"]))))
        if o_band[i]:
            cuts.append((f"size: {o_band[i]}", others & (n_band == o_band[i])))
        for c in columns:
            if c not in norms.columns or c not in r:
                continue
            ref = norms[c].to_numpy(dtype=float)
            for name, mask in cuts:
                sel = ref[mask]
                sel = sel[~np.isnan(sel)]
                rows.append({org: r[org], "component": c, "cut": name,
                             "percentile": percentile_rank(float(r[c]), sel),
                             "n_orgs": int(len(sel)), "illustrative": illus})
    return pd.DataFrame(rows, columns=[org, "component", "cut", "percentile", "n_orgs",
                                       "illustrative"])


def illustrative_norms(instrument: Instrument, n_orgs: int = 400, seed: int = 0
                       ) -> pd.DataFrame:
    """An illustrative norm table drawn from :data:`NORM_MODEL` (labelled ``illustrative``).

    Columns: ``org, industry, employees, size_band``, each component, ``market_orientation``,
    one 0-100 column per item, ``n_respondents``, ``illustrative``.
    """
    rng = np.random.default_rng(seed)
    mo = list(instrument.mo_components)
    k = len(mo)
    cov = np.full((k, k), 0.6 * 81.0)
    np.fill_diagonal(cov, 81.0)
    industry = rng.choice(INDUSTRIES, size=n_orgs)
    shift = dict(zip(INDUSTRIES, np.linspace(-3, 3, len(INDUSTRIES)), strict=True))
    employees = np.round(np.exp(rng.normal(np.log(300), 1.2, n_orgs))).astype(int) + 5
    base = rng.multivariate_normal(np.full(k, 62.0), cov, size=n_orgs)
    base += np.array([shift[i] for i in industry])[:, None]
    base -= 2.0 * (employees >= 1000)[:, None]
    base = np.clip(base, 0, 100)
    out = pd.DataFrame({"org": [f"norm{i + 1:04d}" for i in range(n_orgs)],
                        "industry": industry, "employees": employees,
                        "size_band": size_band(employees)})
    for j, c in enumerate(mo):
        out[c] = base[:, j]
    mo_score = base.mean(axis=1)
    z = (mo_score - mo_score.mean()) / mo_score.std()
    if "engagement" in instrument.components:
        out["engagement"] = np.clip(65 + 10 * (0.4 * z + np.sqrt(1 - 0.16)
                                               * rng.standard_normal(n_orgs)), 0, 100)
    if "performance" in instrument.components:
        out["performance"] = np.clip(50 + 12 * (0.3 * z + np.sqrt(1 - 0.09)
                                                * rng.standard_normal(n_orgs)), 0, 100)
    out["market_orientation"] = mo_score
    for it in instrument.items:
        if it.component not in out.columns:
            continue
        offset = rng.normal(0, 4)
        out[it.id] = np.clip(out[it.component] + offset + rng.normal(0, 3, n_orgs), 0, 100)
    out["n_respondents"] = np.maximum(5, rng.negative_binomial(3, 3 / 63, n_orgs))
    out["illustrative"] = True
    return out


@dataclass(frozen=True)
class GapResult:
    """The items that drive the gap to the top quartile, largest first."""

    gaps: pd.DataFrame  # [item, component, text, score, top_quartile, gap]
    illustrative: bool = False

    def words(self) -> list[str]:
        """One sentence per item, e.g. what to work on."""
        note = " (against illustrative norms)" if self.illustrative else ""
        return [f"\u201c{r['text']}\u201d ({COMPONENT_LABELS.get(r['component'], r['component'])}"
                f"): you score {r['score']:.0f}, the top quartile starts at "
                f"{r['top_quartile']:.0f}{note} - a gap of {r['gap']:.0f} points."
                for r in self.gaps.to_dict(orient="records")]

    def to_dict(self) -> dict[str, Any]:
        """``{"gaps": [...], "words": [...], "illustrative"}``."""
        return {"gaps": records(self.gaps), "words": self.words(),
                "illustrative": self.illustrative}

    def to_pandas(self) -> pd.DataFrame:
        """The gaps table."""
        return self.gaps.copy()

    def __repr__(self) -> str:
        return "GapResult(" + "; ".join(f"{r['item']}: {r['gap']:.0f}"
                                        for r in self.gaps.to_dict(orient="records")) + ")"


def top_quartile_gaps(org_items: pd.Series, norm_items: pd.DataFrame, instrument: Instrument,
                      top: int = 3, components: Sequence[str] = MO_COMPONENTS) -> GapResult:
    """The *top* items where the organisation trails the norms' top quartile the most.

    *org_items* are the organisation's mean 0-100 item scores
    (:func:`~outsidein.culture.item_scores` averaged); *norm_items* has one 0-100 column per
    item and one row per norm organisation.
    """
    rows = []
    for it in instrument.items:
        if it.component not in components or it.id not in norm_items.columns \
                or it.id not in org_items.index:
            continue
        q = float(np.nanquantile(norm_items[it.id].to_numpy(dtype=float), 0.75))
        v = float(org_items[it.id])
        if np.isnan(v) or v >= q:
            continue
        rows.append({"item": it.id, "component": it.component, "text": it.text, "score": v,
                     "top_quartile": q, "gap": q - v})
    gaps = pd.DataFrame(rows, columns=["item", "component", "text", "score", "top_quartile",
                                       "gap"])
    gaps = gaps.sort_values("gap", ascending=False).head(top).reset_index(drop=True)
    illus = bool(norm_items["illustrative"].any()) if "illustrative" in norm_items else False
    return GapResult(gaps, illus)
