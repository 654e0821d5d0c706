"""The anonymity rules hold in every view: the Culture page's groups (also its CSV export and
API), the overview tile, the wave report's JSON and the HTML report section.  The tests play
the attacker: they pool every group figure any view shows and try to recover a hidden group
(or a set of fewer than 5 people) by subtraction, across departments, roles and organisations,
with linear algebra over the respondents."""

from __future__ import annotations

import csv
import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from outsidein.report.sections.culture import culture_section
from outsidein.services.culture import importing
from outsidein.services.culture.analysis import wave_report
from outsidein.services.culture.instrument import load_instrument
from outsidein.services.culture.responses import wave_responses
from outsidein.services.culture.views import culture_view
from outsidein.store.db import session_scope
from outsidein.web.routes.culture import culture_panel, group_rows
from outsidein.workspace import Workspace

INSTRUMENT = load_instrument()
IDS = [it.id for it in INSTRUMENT.items]
#: (org, department, role, people, answer): each group answers differently, so a leaked mean
#: would be recognisable.  Legal (3) must hide, and so must one more department to stop
#: "Acme minus the rest"; the 4 managers hide, and so must the staff; Beta (3 people) hides,
#: and the all-organisations total with it.
PLANTED = [("Acme", "Sales", "staff", 12, 4), ("Acme", "Service", "staff", 6, 3),
           ("Acme", "Legal", "manager", 3, 1), ("Acme", "Sales", "manager", 1, 5),
           ("Acme", "IT", "staff", 5, 2), ("Beta", "Ops", "staff", 3, 5)]


@pytest.fixture
def wave(workspace: Workspace, tmp_path: Path) -> Workspace:
    path = tmp_path / "planted.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["org", "department", "role", *IDS, "comment"])
        for org, dep, role, n, answer in PLANTED:
            for i in range(n):
                w.writerow([org, dep, role, *[answer] * len(IDS), f"{dep} says {i}"])
    with session_scope(workspace.store_url) as s:
        importing.import_responses(s, "planted", path, INSTRUMENT)
    return workspace


def people(ws: Workspace) -> list[dict[str, str]]:
    with session_scope(ws.store_url, write=False) as s:
        _, frame = wave_responses(s, "planted")
    return frame[["org", "department", "role"]].to_dict(orient="records")


def members(rows: list[dict[str, str]], org: str, dimension: str, group: str) -> np.ndarray:
    """The indicator vector over respondents of one cell as a view names it."""
    out = np.zeros(len(rows))
    for i, r in enumerate(rows):
        if org not in ("(all)", r["org"]):
            continue
        if dimension == "all" or r[dimension] == group:
            out[i] = 1.0
    return out


def recoverable(shown: list[np.ndarray], target: np.ndarray) -> bool:
    """Whether the sum over *target* follows from the sums over the shown cells."""
    if not shown:
        return False
    a = np.vstack(shown)
    return bool(np.linalg.matrix_rank(np.vstack([a, target])) == np.linalg.matrix_rank(a))


def cells_of_every_view(ws: Workspace) -> list[tuple[str, str, str, int, bool, Any]]:
    """(org, dimension, group, n, shown, market orientation) from every view."""
    out = []
    for org in ("Acme", "Beta"):
        view = culture_view(ws, "planted", org)
        for r in group_rows(view):
            dim = r["dimension"]
            group = "(all)" if dim == "all" else r["group"]
            out.append((org, dim, group, r["n"], bool(r["shown"]), r["market_orientation"]))
    for g in wave_report(ws, "planted")["groups"]:
        out.append((g["org"], g["dimension"], g["group"], g["n"], bool(g["show_score"]),
                    g["market_orientation"]))
    return out


def test_no_view_shows_a_score_for_fewer_than_five(wave: Workspace) -> None:
    cells = cells_of_every_view(wave)
    assert len(cells) > 10
    for org, dim, group, n, shown, score in cells:
        if n < 5:
            assert not shown and score is None or (isinstance(score, float)
                                                   and math.isnan(score)), (org, dim, group, n)
        if not shown:
            assert score is None or math.isnan(score), (org, dim, group)


def test_no_hidden_group_can_be_worked_out_by_subtraction(wave: Workspace) -> None:
    rows = people(wave)
    cells = cells_of_every_view(wave)
    shown = [members(rows, o, d, g) for o, d, g, _, ok, _ in cells if ok]
    hidden = {(o, d, g): members(rows, o, d, g) for o, d, g, _, ok, _ in cells if not ok}
    planted_hidden = {("Acme", "department", "Legal"), ("Acme", "role", "manager"),
                      ("Beta", "all", "(all)")}
    assert planted_hidden <= set(hidden), sorted(hidden)
    for key, vec in hidden.items():
        assert not recoverable(shown, vec), f"{key} follows from the groups shown"
    # nor any two hidden groups together, when they hold fewer than five people
    for (k1, v1), (k2, v2) in itertools.combinations(hidden.items(), 2):
        both = np.clip(v1 + v2, 0, 1)
        if 0 < both.sum() < 5:
            assert not recoverable(shown, both), f"{k1} + {k2} follows from the groups shown"
    # and what the subtraction attack gives for each dimension is at least five people
    acme = {(d, g, n) for o, d, g, n, ok, _ in cells if o == "Acme" and d != "all" and not ok}
    for dim in ("department", "role"):
        hidden_n = sum(n for d, _, n in acme if d == dim)
        assert hidden_n == 0 or hidden_n >= 5, (dim, hidden_n)


def test_the_page_tile_and_report_section_never_print_a_hidden_score(wave: Workspace) -> None:
    beta = culture_view(wave, "planted", "Beta")
    assert beta.headline["shown"] is False and beta.comments == []
    assert "fewer than 5 respondents" in beta.headline["reason"]
    acme = culture_view(wave, "planted", "Acme")
    legal = next(r for r in acme.heat if r["group"] == "Legal")
    assert not legal["shown"] and all(c["value"] is None for c in legal["cells"])
    # Legal answered 1 everywhere: a score of 0 anywhere on the page would be its leak
    assert all(c["value"] != 0.0 for r in acme.heat for c in r["cells"])
    panel = culture_panel(wave)  # the overview shows the workspace's own organisation
    assert panel.value is not None and panel.value.endswith("/ 100")
    section = culture_section(wave)
    assert section is not None and "Legal (department)" in section.body_html
    legal_row = section.body_html.split("Legal (department)")[1].split("</tr>")[0]
    assert "hidden" in legal_row and ">0<" not in legal_row


def test_comments_need_ten_and_never_come_per_department(wave: Workspace) -> None:
    acme = culture_view(wave, "planted", "Acme")
    counted = [int(c.rsplit("(", 1)[1].split()[0]) if c.endswith("people)") else 1
               for c in acme.comments]
    assert acme.n == 27 and sum(counted) == 27
    beta = culture_view(wave, "planted", "Beta")
    assert beta.comments == [] and "at least 10" in beta.comments_note
    # Beta's words are in no view of Acme, and no view names a department beside a comment
    assert not any("Ops says" in c for c in acme.comments)
    with session_scope(wave.store_url, write=False) as s:
        assert s.scalars(select(importing.CultureResponse.comment)).all()  # they were stored
