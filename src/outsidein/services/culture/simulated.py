"""Illustrative survey waves for the demo: simulated answers, labelled illustrative everywhere.

:func:`seed_illustrative_waves` draws a few waves from the engine's simulator
(:func:`outsidein.culture.simulate.simulate_survey`: a known factor structure, organisations
that differ, a planted lagged effect of customer focus on engagement) and stores them as
closed waves marked ``illustrative``.  The simulated organisation with most respondents in
the last wave becomes the workspace's own (*focal*, added first), its departments named like
the demo company's, so the Culture page, the report and the published insights have
something to show; the others fill the norm database.  ``outsidein culture simulate``
calls it, and so does the pipeline's culture step in a demo workspace that has no wave yet
(:func:`outsidein.services.culture.analysis.run_culture`).

>>> FOCAL
'Outside-In demo company'
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from outsidein.culture.instrument import Instrument
from outsidein.culture.simulate import simulate_survey
from outsidein.errors import ConflictError, DataValidationError
from outsidein.services.culture.importing import instrument_items
from outsidein.services.culture.waves import ensure_department, ensure_role, open_wave, record
from outsidein.store.models.base import utcnow
from outsidein.store.models.culture import CultureOrg, CultureResponse, CultureWave

__all__ = ["FOCAL", "SeedReport", "seed_illustrative_waves"]

#: The organisation that stands for the workspace's own company in the illustrative waves.
FOCAL = "Outside-In demo company"
#: The simulator's department names -> the demo company's departments (insights reach them).
DEMO_DEPARTMENTS = {"Sales": "sales", "Service": "service", "Marketing": "marketing",
                    "Operations": "operations", "Finance": "finance", "Product": "product",
                    "IT": "operations", "HR": "finance"}


@dataclass(frozen=True)
class SeedReport:
    """Waves made, organisations and responses stored."""

    waves: list[str]
    orgs: int
    responses: int

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _org(session: Session, name: str, industry: str, size: int) -> CultureOrg:
    org = session.scalar(select(CultureOrg).where(CultureOrg.name == name))
    if org is None:
        org = CultureOrg(name=name, industry=industry, size=size)
        session.add(org)
        session.flush()
    return org


def seed_illustrative_waves(session: Session, instrument: Instrument, *, waves: int = 3,
                            n_orgs: int = 30, mean_size: float = 40, seed: int = 7,
                            focal: str = FOCAL, prefix: str = "Illustrative wave",
                            actor: str = "cli") -> SeedReport:
    """Store *waves* simulated waves of *n_orgs* organisations (see the module doc).

    Raises
    ------
    ConflictError
        A wave of the same name exists (the waves were seeded before).
    DataValidationError
        Fewer than 2 organisations or 1 wave.
    """
    if n_orgs < 2 or waves < 1:
        raise DataValidationError(f"simulate: at least 2 organisations and 1 wave (got {n_orgs} "
                                  f"and {waves})")
    names = [f"{prefix} {w + 1}" for w in range(waves)]
    taken = session.scalars(select(CultureWave.name).where(CultureWave.name.in_(names))).all()
    if taken:
        raise ConflictError(f"wave {taken[0]!r} already exists: the illustrative waves were "
                            "made before")
    sim = simulate_survey(instrument, n_orgs=n_orgs, mean_size=mean_size, waves=waves,
                          lagged_effect=0.35, seed=seed)
    last = sim.responses[sim.responses["wave"] == waves]["org"].astype(str).value_counts()
    first = str(last.index[0])  # the largest in the last wave: most of its groups can show
    rows = sim.orgs.to_dict(orient="records")
    org_rows = {str(r["org"]): r for r in sorted(rows, key=lambda r: str(r["org"]) != first)}
    orgs = {}
    for code, row in org_rows.items():
        name = focal if code == first else f"Illustrative org {code[3:]}"
        orgs[code] = _org(session, name, str(row["industry"]), int(row["employees"]))
    items = instrument_items(instrument)
    ids = [it["id"] for it in items]
    stored = 0
    deps: dict[tuple[int, str], int] = {}
    for w, name in enumerate(names, start=1):
        wave = open_wave(session, name, instrument.version, items, source="simulated",
                         illustrative=True, comment_prompt=instrument.comment, actor=actor)
        wave.status, wave.closed_at = "closed", utcnow()
        part = sim.responses[sim.responses["wave"] == w]
        rows = []
        for r in part.to_dict(orient="records"):
            org = orgs[str(r["org"])]
            dep_name = str(r["department"])
            if org.name == focal:
                dep_name = DEMO_DEPARTMENTS.get(dep_name, dep_name.lower())
            key = (org.id, dep_name)
            if key not in deps:
                deps[key] = ensure_department(session, org, dep_name)[0].id
                ensure_role(session, org, str(r["role"]))
            answers = {k: int(r[k]) for k in ids if k in r and not pd.isna(r[k])}
            rows.append(CultureResponse(
                id=secrets.token_hex(16), wave_id=wave.id, org_id=org.id,
                department_id=deps[key], role=str(r["role"]), answers=answers,
                comment=str(r.get("comment") or "") or None, source="simulated"))
        session.add_all(rows)
        stored += len(rows)
        session.flush()
    record(session, "culture.simulate", ", ".join(names), actor, responses=stored)
    return SeedReport(names, len(orgs), stored)
