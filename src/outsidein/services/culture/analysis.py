"""The culture survey's analysis: the wave report, and the findings the pipeline publishes.

:func:`wave_report` runs the engine's one call for a wave
(:func:`outsidein.culture.analysis.analyse_wave`: reliability, CFA, measurement invariance
across industries when there are two or more with enough answers, ICC/r_wg aggregation, and
the groups through the anonymity rules) on a wave's responses from the store, and gives the
JSON ``outsidein culture report --wave W --json`` prints, with ``kpi_links``: the workspace's
organisation's scores in the waves up to W against its customer KPIs after each
(:mod:`outsidein.services.culture.kpi_links`).  :func:`save_report` keeps it in
``results/culture/<wave>.json`` for the Culture page and the report (:func:`read_report`).

:func:`run_culture` is the pipeline step (``culture`` in
:data:`outsidein.services.pipeline.STEPS`): in a demo workspace with no wave yet it first
stores illustrative waves (:mod:`~outsidein.services.culture.simulated`); then it reads the
Culture page's view of the workspace's own organisation and returns :class:`CultureFindings`,
whose :meth:`~CultureFindings.insights` the ``insights`` step publishes, to the departments
concerned.  A workspace without answers gets no finding and no error.

>>> report_path_name("2026 spring/1")
'2026_spring_1.json'
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from outsidein.culture.analysis import analyse_wave
from outsidein.culture.instrument import COMPONENT_LABELS, MO_COMPONENTS
from outsidein.services.culture.instrument import instrument_path, load_instrument
from outsidein.services.culture.kpi_links import kpi_links
from outsidein.services.culture.responses import org_table, wave_instrument, wave_responses
from outsidein.services.culture.simulated import seed_illustrative_waves
from outsidein.services.culture.views import CultureView, culture_view
from outsidein.store.db import session_scope
from outsidein.store.models.auth import Department
from outsidein.store.models.culture import CultureWave

if TYPE_CHECKING:
    from outsidein.workspace import Workspace

__all__ = ["REPORTS", "CultureFindings", "read_report", "report_path", "report_path_name",
           "run_culture", "save_report", "wave_report"]

#: Where wave reports are kept, relative to the workspace folder.
REPORTS = Path("results") / "culture"
#: A department trailing its organisation by this many points on a component gets a finding.
GAP_POINTS = 5.0


def report_path_name(wave: str) -> str:
    """The file name of *wave*'s report (letters, digits, ``-`` and ``_`` kept)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", wave).strip("_") + ".json"


def report_path(ws: Workspace, wave: str) -> Path:
    """``<workspace>/results/culture/<wave>.json``."""
    return ws.root / REPORTS / report_path_name(wave)


def wave_report(ws: Workspace, wave: str) -> dict[str, Any]:
    """The psychometric report of *wave* (see the module doc) as plain JSON values.

    Raises
    ------
    NotFoundError
        No such wave.
    DataValidationError
        The wave has no responses.
    """
    with session_scope(ws.store_url, write=False) as s:
        row, frame = wave_responses(s, wave)
        orgs = org_table(s)
    inst = wave_instrument(row)
    frame = frame.merge(orgs[["org", "industry"]], on="org", how="left")
    by = "industry" if frame["industry"].nunique() >= 2 else None
    result = analyse_wave(frame, inst, invariance_by=by).to_dict()
    return {"wave": row.name, "status": row.status, "illustrative": bool(row.illustrative),
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "organisations": int(frame["org"].nunique()), **result,
            "kpi_links": kpi_links(ws, upto=row.name).to_dict()}


def save_report(ws: Workspace, report: dict[str, Any]) -> Path:
    """Keep *report* atomically (a reader never sees half of it)."""
    path = report_path(ws, str(report["wave"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=1, default=str), encoding="utf-8")
    tmp.replace(path)
    return path


def read_report(ws: Workspace, wave: str) -> dict[str, Any] | None:
    """The kept report of *wave*, or None (never made, or not in the expected layout)."""
    try:
        doc = json.loads(report_path(ws, wave).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and doc.get("wave") == wave else None


@dataclass
class CultureFindings:
    """The culture step's output: the view of the workspace's organisation, and what was seeded."""

    view: CultureView | None = None
    seeded: list[str] = field(default_factory=list)
    departments: dict[str, str] = field(default_factory=dict)  # survey name -> store name

    def to_dict(self) -> dict[str, Any]:
        return {"wave": self.view.wave if self.view else None,
                "org": self.view.org if self.view else None, "seeded": self.seeded}

    def insights(self) -> list[dict[str, Any]]:
        """The organisation's standing and what to work on; a finding per department that
        trails its organisation on a component (only departments whose score is shown)."""
        v = self.view
        if v is None or v.empty or not v.headline.get("shown"):
            return []
        scores = v.headline["scores"]
        mo = [(c, scores[c]) for c in MO_COMPONENTS if scores.get(c) is not None]
        if not mo or scores.get("market_orientation") is None:
            return []
        weakest = min(mo, key=lambda kv: kv[1])
        tag = "Illustrative: " if v.illustrative else ""
        gauge = next((g for g in v.benchmark.get("gauges", [])
                      if g["component"] == "market_orientation"), None)
        rank = (f", percentile {gauge['percentile']:.0f} among {gauge['n_orgs']:,} organisations"
                f"{' (illustrative norms)' if v.benchmark.get('illustrative') else ''}"
                if gauge and gauge["percentile"] is not None else "")
        gaps = v.benchmark.get("gaps") or []
        statement = (f"{v.org} scores {scores['market_orientation']:.0f} of 100 on market "
                     f"orientation in wave {v.wave} ({v.n:,} respondents){rank}. The weakest "
                     f"component is {COMPONENT_LABELS[weakest[0]].lower()} "
                     f"({weakest[1]:.0f}).")
        if gaps:
            statement += " What drives the gap to the top quartile: " + " ".join(gaps)
        statement += " Next: agree one action per department on the weakest component."
        figures = {f"score_{c}": scores[c] for c in scores if scores[c] is not None}
        figures["respondents"] = v.n
        if gauge and gauge["percentile"] is not None:
            figures["percentile_market_orientation"] = gauge["percentile"]
        evidence: dict[str, Any] = {"figures": figures, "link": "/culture",
                                    "illustrative": v.illustrative}
        if v.trend:
            evidence["chart"] = v.trend
        out = [{"key": "culture.market_orientation",
                "title": f"{tag}Market orientation {scores['market_orientation']:.0f}/100: work "
                         f"on {COMPONENT_LABELS[weakest[0]].lower()}",
                "statement": statement, "evidence": evidence,
                "departments": tuple(sorted(set(self.departments.values()))),
                "priority": "medium", "source": "culture"}]
        out += self._department_findings(tag)
        return out

    def _department_findings(self, tag: str) -> list[dict[str, Any]]:
        v = self.view
        assert v is not None
        org_scores = v.headline["scores"]
        found = []
        for row in v.heat:
            target = self.departments.get(row["group"])
            if row["dimension"] != "department" or not row["shown"] or target is None:
                continue
            cells = {c["column"]: c["value"] for c in row["cells"]}
            gaps = [(c, org_scores[c] - cells[c]) for c in MO_COMPONENTS
                    if cells.get(c) is not None and org_scores.get(c) is not None]
            if not gaps:
                continue
            comp, gap = max(gaps, key=lambda kv: kv[1])
            if gap < GAP_POINTS:
                continue
            label = COMPONENT_LABELS[comp].lower()
            found.append({
                "key": f"culture.department.{target}",
                "title": f"{tag}{row['group']} trails {v.org} on {label} by {gap:.0f} points",
                "statement": (f"In wave {v.wave}, {row['group']} ({row['n']} respondents) scores "
                              f"{cells[comp]:.0f} on {label} against {org_scores[comp]:.0f} for "
                              f"{v.org} as a whole. Next: ask the team what gets in the way, "
                              "and agree one change."),
                "evidence": {"figures": {"department_score": cells[comp],
                                         "organisation_score": org_scores[comp],
                                         "respondents": row["n"]}, "link": "/culture",
                             "illustrative": v.illustrative},
                "departments": (target,), "priority": "medium", "source": "culture"})
        return found


def _is_demo(ws: Workspace) -> bool:
    """A demo workspace: its warehouse holds the demo's planted truths."""
    with ws.reader(missing_ok=True) as con:
        return con is not None and "truth_customers" in con.list_tables()


def run_culture(ws: Workspace) -> CultureFindings:
    """The pipeline step (see the module doc)."""
    seeded: list[str] = []
    with session_scope(ws.store_url, write=False) as s:
        has_waves = bool(s.scalar(select(func.count()).select_from(CultureWave)))
    if not has_waves and _is_demo(ws):
        inst = load_instrument(instrument_path(ws.config.extra.get("culture"), ws.root))
        with session_scope(ws.store_url) as s:
            seeded = seed_illustrative_waves(s, inst, n_orgs=24, mean_size=30).waves
    view = culture_view(ws)
    if view.empty:
        return CultureFindings(None, seeded)
    with session_scope(ws.store_url, write=False) as s:
        store_deps = {d.lower(): d for d in s.scalars(select(Department.name))}
    mapping = {r["group"]: store_deps[r["group"].lower()] for r in view.heat
               if r["dimension"] == "department" and r["group"].lower() in store_deps}
    return CultureFindings(view, seeded, mapping)
