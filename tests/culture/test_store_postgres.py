"""The culture store on SQLite and on PostgreSQL (``OUTSIDEIN_TEST_POSTGRES_URL``): a wave from
opening to scores, the same on both: organisations, tokens, drafts, submitted surveys, an
imported file (and its refusal the second time), closing, the wave report and the page's
view."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from outsidein.errors import ConflictError, NotFoundError
from outsidein.services.culture import importing
from outsidein.services.culture.analysis import wave_report
from outsidein.services.culture.importing import instrument_items
from outsidein.services.culture.instrument import load_instrument
from outsidein.services.culture.responses import wave_responses
from outsidein.services.culture.survey import open_survey, save_draft, submit
from outsidein.services.culture.tokens import invite, reminders
from outsidein.services.culture.views import culture_view
from outsidein.services.culture.waves import (
    add_department,
    add_org,
    add_role,
    close_wave,
    list_waves,
    open_wave,
    response_rates,
)
from outsidein.store.db import session_scope
from outsidein.store.models.culture import CultureDraft, CultureImport, CultureResponse
from outsidein.workspace import Workspace

INSTRUMENT = load_instrument()
IDS = [it.id for it in INSTRUMENT.items]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ws(request: pytest.FixtureRequest, tmp_path: Path) -> Workspace:
    """A workspace whose store is a SQLite file, or a fresh PostgreSQL schema."""
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    w = Workspace.init(tmp_path / "ws", store_url=url)
    assert w.store_url == url
    yield w
    w.close()


def answers(value: int, department: int, role: str) -> dict[str, Any]:
    """*value* on every item once reverse-keyed (so every score is (value - 1) * 25)."""
    out: dict[str, Any] = {f"q_{it.id}": str(it.scale_min + it.scale_max - value if it.reverse
                                              else value) for it in INSTRUMENT.items}
    out.update(department=str(department), role=role, comment="fine")
    return out


def test_a_wave_from_opening_to_scores(ws: Workspace, tmp_path: Path) -> None:
    assert ws.store_url.startswith(("sqlite", "postgresql"))
    with session_scope(ws.store_url) as s:
        add_org(s, "Acme", industry="retail", size=420)
        for dep in ("Sales", "Service"):
            add_department(s, "Acme", dep, headcount=10)
        add_role(s, "Acme", "staff")
        open_wave(s, "w1", INSTRUMENT.version, instrument_items(INSTRUMENT),
                  comment_prompt=INSTRUMENT.comment)
        tokens = [i.token for i in invite(s, "w1", "Acme", count=14)]
    with session_scope(ws.store_url, write=False) as s:
        deps = dict((n, i) for i, n in open_survey(s, tokens[0]).departments)
    with session_scope(ws.store_url) as s:
        for k, t in enumerate(tokens[:12]):
            submit(s, t, answers(4 if k < 6 else 2, deps["Sales" if k < 6 else "Service"],
                                 "staff"))
        save_draft(s, tokens[12], {"q_cus1": "3", "comment": "later"})
    with session_scope(ws.store_url) as s:
        with pytest.raises(ConflictError, match="already submitted"):
            submit(s, tokens[0], answers(4, deps["Sales"], "staff"))
    with session_scope(ws.store_url, write=False) as s:
        assert [r.token for r in reminders(s, "w1")] == tokens[12:]
        rates = {d.department: d.responses for d in response_rates(s, "w1").departments}
        assert rates == {"Sales": 6, "Service": 6}
        assert s.scalar(select(func.count()).select_from(CultureDraft)) == 1

    # answers from another tool into the same wave; the same file again is refused
    path = tmp_path / "other-tool.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["org", "department", "role", *IDS, "comment"])
        for _ in range(6):
            w.writerow(["Acme", "Ops", "staff", *[3] * len(IDS), ""])
        w.writerow(["", "Ops", "staff", *[3] * len(IDS), ""])
    with session_scope(ws.store_url) as s:
        rep = importing.import_responses(s, "w1", path, INSTRUMENT)
    assert (rep.imported, rep.quarantined, rep.departments_created) == (6, 1, ["Acme/Ops"])
    with pytest.raises(ConflictError, match="already imported"), \
            session_scope(ws.store_url) as s:
        importing.import_responses(s, "w1", path, INSTRUMENT)
    with session_scope(ws.store_url) as s:
        again = importing.import_responses(s, "w1", path, INSTRUMENT, replace=True)
    assert again.replaced[0]["responses"] == 6 and again.imported == 6
    with session_scope(ws.store_url, write=False) as s:
        assert s.scalar(select(func.count()).select_from(CultureResponse)) == 18
        assert s.scalar(select(func.count()).select_from(CultureImport)) == 1

    with session_scope(ws.store_url) as s:
        info = close_wave(s, "w1")
    assert (info.status, info.responses, info.used) == ("closed", 18, 12)
    with session_scope(ws.store_url) as s:
        with pytest.raises(NotFoundError, match="not valid"):
            open_survey(s, tokens[13])
        assert s.scalar(select(func.count()).select_from(CultureDraft)) == 0
        assert [w.status for w in list_waves(s)] == ["closed"]
        _, frame = wave_responses(s, "w1")
    assert sorted(frame["department"].value_counts().items()) == [
        ("Ops", 6), ("Sales", 6), ("Service", 6)]

    # scores: the same on both stores (answers 4, 2 and 3 are 75, 25 and 50 of 100)
    view = culture_view(ws)
    heat = {r["group"]: {c["column"]: c["value"] for c in r["cells"]} for r in view.heat
            if r["dimension"] == "department"}
    assert {g: v["customer_orientation"] for g, v in heat.items()} == {
        "Ops": 50.0, "Sales": 75.0, "Service": 25.0}
    assert view.headline["scores"]["customer_orientation"] == 50.0
    report = wave_report(ws, "w1")
    assert report["n"] == 18
    shown = {g["group"]: g["customer_orientation"] for g in report["groups"]
             if g["dimension"] == "department"}
    assert shown == {"Ops": 50.0, "Sales": 75.0, "Service": 25.0}
