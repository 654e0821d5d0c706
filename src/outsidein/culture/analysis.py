"""One call for a wave: scores, reliability, CFA, invariance, aggregation and the groups shown.

:func:`analyse_wave` is what the service, the CLI's ``culture report --json``, the pages and
the report read; its :meth:`WaveAnalysis.to_dict` is the JSON they print.  Group scores in it
have been through :func:`~outsidein.culture.disclosed_scores` (the anonymity rules), and each
shown organisation or department says which of its component scores agreement supports.

>>> from outsidein.culture.instrument import build_instrument
>>> from outsidein.culture.simulate import simulate_survey
>>> inst = build_instrument({"version": "1", "items": [
...     {"id": f"{c[:3]}{i}", "component": c, "text": "t"}
...     for c in ("customer_orientation", "responsiveness") for i in range(3)]})
>>> sim = simulate_survey(inst, n_orgs=6, mean_size=40, seed=2)
>>> a = analyse_wave(sim.responses, inst)
>>> sorted(a.to_dict())
['aggregation', 'cfa', 'groups', 'instrument_version', 'invariance', 'n', 'notes', 'reliability']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from outsidein.culture._results import jsonable, records
from outsidein.culture.aggregation import AggregationResult, aggregation, group_keys
from outsidein.culture.anonymity import AnonymityRules, disclosed_scores
from outsidein.culture.cfa import ComponentCFA
from outsidein.culture.instrument import ENGAGEMENT, Instrument
from outsidein.culture.invariance import MeasurementInvariance
from outsidein.culture.reliability import ReliabilityResult, reliability
from outsidein.culture.scoring import key_items, score_respondents
from outsidein.errors import ConvergenceError, DataValidationError

__all__ = ["WaveAnalysis", "analyse_wave"]


@dataclass
class WaveAnalysis:
    """Everything :func:`analyse_wave` found for one wave."""

    instrument_version: str
    n: int
    scores: pd.DataFrame  # one row per respondent (not for display: no anonymity applied)
    reliability: ReliabilityResult
    cfa: ComponentCFA | None
    invariance: MeasurementInvariance | None
    aggregation: AggregationResult
    groups: pd.DataFrame  # anonymised cells with scores where shown
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """``{"reliability", "cfa", "invariance", "aggregation", "groups", "n", ...}``."""
        agg = {c: {"icc1": v["icc1"], "icc2": v["icc2"], "mean_rwg": v["mean_rwg"],
                   "icc1_ci": v["icc1_ci"], "icc2_ci": v["icc2_ci"],
                   "share_supported": v["share_supported"],
                   "supports_aggregation": v["supports_aggregation"]}
               for c, v in self.aggregation.components.items()}
        return {
            "instrument_version": self.instrument_version, "n": self.n,
            "reliability": self.reliability.to_dict(),
            "cfa": self.cfa.to_dict() if self.cfa is not None else None,
            "invariance": self.invariance.to_dict() if self.invariance is not None else None,
            "aggregation": jsonable({"unit": self.aggregation.unit, "components": agg}),
            "groups": records(self.groups), "notes": list(self.notes)}

    def to_pandas(self) -> pd.DataFrame:
        """The anonymised groups table."""
        return self.groups.copy()

    def __repr__(self) -> str:
        cfa = repr(self.cfa.fit_) if self.cfa is not None else "no CFA"
        return (f"WaveAnalysis(instrument {self.instrument_version}, n={self.n}; {cfa}; "
                f"{len(self.groups)} cells, {int(self.groups['show_score'].sum())} shown)")


def analyse_wave(responses: pd.DataFrame, instrument: Instrument, *,
                 unit: str | Sequence[str] | None = None, invariance_by: str | None = None,
                 dimensions: Sequence[str] = ("department", "role"),
                 rules: AnonymityRules | None = None, rwg_min: float = 0.70,
                 min_group_n: int = 30) -> WaveAnalysis:
    """Analyse one wave of *responses* (see ``docs/culture-engine.md`` for the columns).

    *unit* is the level scores are aggregated to: ``"org"`` when there are two organisations
    or more, else ``("org", "department")``.  *invariance_by* names a column (``industry``,
    ``org``) to test measurement invariance across; it is skipped, with a note, when fewer
    than two of its groups have *min_group_n* complete responses.
    """
    if not len(responses):
        raise DataValidationError("the wave has no responses")
    notes: list[str] = []
    keyed = key_items(responses, instrument)
    scores = score_respondents(responses, instrument)
    factors = instrument.factors([*instrument.mo_components,
                                  *([ENGAGEMENT] if ENGAGEMENT in instrument.components
                                    else [])])
    cfa: ComponentCFA | None = None
    try:
        cfa = ComponentCFA(factors).fit(keyed)
    except (DataValidationError, ConvergenceError, np.linalg.LinAlgError) as exc:
        notes.append(f"No factor analysis: {exc}")
    rel = reliability(keyed, instrument, cfa=cfa)
    inv: MeasurementInvariance | None = None
    if invariance_by is not None:
        if invariance_by not in responses.columns:
            notes.append(f"No invariance test: the responses have no {invariance_by!r} column")
        else:
            try:
                inv = MeasurementInvariance(factors, group=invariance_by,
                                            min_group_n=min_group_n).fit(
                    keyed.assign(**{invariance_by: responses[invariance_by].to_numpy()}))
            except (DataValidationError, ConvergenceError, np.linalg.LinAlgError) as exc:
                notes.append(f"No invariance test: {exc}")
    if unit is None:
        unit = "org" if "org" in responses.columns and responses["org"].nunique() >= 2 \
            else ("org", "department")
    agg = aggregation(keyed, scores, instrument, unit=unit, rwg_min=rwg_min)
    dims = [d for d in dimensions if d in scores.columns]
    groups = disclosed_scores(scores, list(instrument.score_columns), unit="org",
                              dimensions=dims, rules=rules)
    groups["not_supported"] = _not_supported(groups, agg, unit)
    return WaveAnalysis(instrument.version, len(responses), scores, rel, cfa, inv, agg, groups,
                        notes + rel.words())


def _not_supported(groups: pd.DataFrame, agg: AggregationResult,
                   unit: str | Sequence[str]) -> list[list[str] | None]:
    """Per shown cell at the aggregation level: components whose r_wg is below the cut-off."""
    table = agg.groups
    bad: dict[str, list[str]] = {}
    for r in table[~table["supported"]].to_dict(orient="records"):
        bad.setdefault(str(r[agg.unit]), []).append(str(r["component"]))
    cols = [unit] if isinstance(unit, str) else list(unit)
    out: list[list[str] | None] = []
    for r in groups.to_dict(orient="records"):
        if not r["show_score"]:
            out.append(None)
            continue
        if cols == ["org"] and r["dimension"] == "all" and r["org"] != "(all)":
            key = str(r["org"])
        elif cols == ["org", "department"] and r["dimension"] == "department":
            key = str(group_keys(pd.DataFrame({"org": [r["org"]],
                                               "department": [r["group"]]}), cols).iloc[0])
        else:
            out.append(None)
            continue
        out.append(bad.get(key, []))
    return out
