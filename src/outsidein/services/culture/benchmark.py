"""The benchmark: an organisation's percentile among the others, and the items to work on.

The norm database is the consultant's own organisations: each one's organisation-level
scores from the latest wave it answered (up to the wave looked at), counted only where the
anonymity rules show its score (5 respondents or more).  While fewer than
:data:`MIN_REAL_NORMS` real organisations are in it, the engine's illustrative norm set
(:func:`outsidein.culture.norms.illustrative_norms`, drawn from the stated
:data:`~outsidein.culture.norms.NORM_MODEL`) is added and everything that uses it says
*illustrative*.  Organisations of illustrative (simulated) waves count as illustrative too.

:func:`org_level` is one organisation-level row per organisation of a wave;
:func:`benchmark` gives the percentile gauges (overall, by industry, by size, with the number
of organisations behind each) and the gap-driver items in words.

>>> MIN_REAL_NORMS
20
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from outsidein.culture.instrument import COMPONENT_LABELS, Instrument
from outsidein.culture.norms import (
    NORM_MODEL,
    illustrative_norms,
    percentile_ranks,
    top_quartile_gaps,
)
from outsidein.culture.scoring import key_items, score_respondents
from outsidein.services.culture.groups import group_scores

__all__ = ["MIN_REAL_NORMS", "benchmark", "norm_table", "org_level"]

#: Real organisations needed before the illustrative norm set is left out.
MIN_REAL_NORMS = 20


def org_level(frame: pd.DataFrame, instrument: Instrument, orgs: pd.DataFrame, *,
              illustrative: bool) -> pd.DataFrame:
    """One row per organisation of a wave: n, shown flag, scores and 0-100 item means.

    Scores and item means are NaN for an organisation whose score the anonymity rules hide.
    """
    scores = score_respondents(frame, instrument)
    table = group_scores(scores, instrument.score_columns)
    top = table[(table["dimension"] == "all") & (table["org"] != "(all)")].copy()
    keyed = key_items(frame, instrument)
    pct = pd.DataFrame({it.id: (keyed[it.id] - it.scale_min) / (it.scale_max - it.scale_min)
                        * 100.0 for it in instrument.items}, index=frame.index)
    pct["org"] = frame["org"].astype(str).to_numpy()
    items = pct.groupby("org").mean()
    out = top.drop(columns=["dimension", "group", "show_comments", "reason"]).rename(
        columns={"show_score": "shown"})
    out = out.merge(items, left_on="org", right_index=True, how="left")
    hidden = ~out["shown"].to_numpy(dtype=bool)
    cols = [c for c in out.columns if c not in ("org", "n", "shown")]
    out.loc[hidden, cols] = np.nan
    out = out.merge(orgs, on="org", how="left")
    out["illustrative"] = illustrative
    return out.reset_index(drop=True)


def norm_table(levels: Mapping[str, pd.DataFrame], instrument: Instrument) -> pd.DataFrame:
    """Each organisation's latest shown row across *levels* (wave -> :func:`org_level`, in
    order), plus the illustrative set while real organisations are fewer than the minimum."""
    latest: dict[str, dict[str, Any]] = {}
    for table in levels.values():
        for r in table[table["shown"]].to_dict(orient="records"):
            latest[str(r["org"])] = r
    real = pd.DataFrame(list(latest.values()))
    n_real = int((~real["illustrative"].astype(bool)).sum()) if len(real) else 0
    if n_real >= MIN_REAL_NORMS:
        return real[~real["illustrative"].astype(bool)].reset_index(drop=True)
    extra = illustrative_norms(instrument, n_orgs=400, seed=0)
    return pd.concat([real, extra], ignore_index=True) if len(real) else extra


def benchmark(levels: Mapping[str, pd.DataFrame], instrument: Instrument, wave: str,
              org: str) -> dict[str, Any]:
    """Percentile gauges and gap-driver items for *org* in *wave* (empty when it is hidden)."""
    upto: dict[str, pd.DataFrame] = {}
    for name, table in levels.items():
        upto[name] = table
        if name == wave:
            break
    mine = upto[wave][upto[wave]["org"] == org]
    if not len(mine) or not bool(mine["shown"].iloc[0]):
        return {}
    norms = norm_table(upto, instrument)
    cols = list(instrument.score_columns)
    ranks = percentile_ranks(mine, norms, cols)
    illustrative = bool(norms["illustrative"].astype(bool).any())
    gauges = []
    for c in ["market_orientation", *[c for c in cols if c != "market_orientation"]]:
        part = ranks[ranks["component"] == c]
        if not len(part):
            continue
        cuts = [{"cut": r["cut"], "percentile": _num(r["percentile"]), "n_orgs": int(r["n_orgs"])}
                for r in part.to_dict(orient="records")]
        gauges.append({"component": c, "label": COMPONENT_LABELS.get(c, c),
                       "score": _num(mine[c].iloc[0]), "percentile": cuts[0]["percentile"],
                       "n_orgs": cuts[0]["n_orgs"], "cuts": cuts})
    item_ids = [it.id for it in instrument.items]
    gaps = top_quartile_gaps(mine[item_ids].iloc[0], norms, instrument, top=3)
    return {"gauges": gauges, "gaps": gaps.words(), "gap_items": gaps.to_dict()["gaps"],
            "illustrative": illustrative, "n_orgs": int(len(norms)),
            "n_real": int((~norms["illustrative"].astype(bool)).sum()),
            "model": NORM_MODEL if illustrative else ""}


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(f) else round(f, 1)
