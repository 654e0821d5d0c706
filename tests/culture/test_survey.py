"""The survey behind ``/survey/<token>``: partial answers kept under the link until submitted,
every answer checked on its item's scale, and the response stored with nothing of the link."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from outsidein.errors import ConflictError, DataValidationError, NotFoundError
from outsidein.services.culture.importing import instrument_items
from outsidein.services.culture.instrument import load_instrument
from outsidein.services.culture.survey import MAX_COMMENT, open_survey, save_draft, submit
from outsidein.services.culture.tokens import invite
from outsidein.services.culture.waves import add_department, add_org, add_role, open_wave
from outsidein.store.db import session_scope
from outsidein.store.models.culture import CultureDraft, CultureInvitation, CultureResponse
from outsidein.workspace import Workspace

INSTRUMENT = load_instrument()
SEVEN = next(it for it in INSTRUMENT.items if it.scale_max == 7)


@pytest.fixture
def tokens(workspace: Workspace) -> list[str]:
    with session_scope(workspace.store_url) as s:
        add_org(s, "Acme")
        add_department(s, "Acme", "Sales")
        add_role(s, "Acme", "staff")
        open_wave(s, "w", INSTRUMENT.version, instrument_items(INSTRUMENT),
                  comment_prompt=INSTRUMENT.comment)
        return [i.token for i in invite(s, "w", "Acme", count=3)]


def full(ws: Workspace, token: str, value: int = 3, **over: Any) -> dict[str, Any]:
    with session_scope(ws.store_url, write=False) as s:
        dep = open_survey(s, token).departments[0][0]
    out: dict[str, Any] = {f"q_{it.id}": str(value) for it in INSTRUMENT.items}
    out.update(department=str(dep), role="staff", comment="")
    out.update(over)
    return out


def test_partial_answers_are_kept_until_submitted(workspace: Workspace,
                                                  tokens: list[str]) -> None:
    with session_scope(workspace.store_url) as s:
        form = save_draft(s, tokens[0], {"q_cus1": "5", "q_cus2": "", "role": "staff",
                                         "comment": "half"})
    assert form.answers == {"cus1": 5} and form.answered == 1
    with session_scope(workspace.store_url, write=False) as s:
        again = open_survey(s, tokens[0])
        other = open_survey(s, tokens[1])
    assert (again.answers, again.role, again.comment) == ({"cus1": 5}, "staff", "half")
    assert other.answers == {} and other.comment == ""  # drafts are per link
    assert again.comment_prompt == INSTRUMENT.comment
    assert [c for c, _ in again.components][:2] == ["customer_orientation",
                                                    "competitor_orientation"]


@pytest.mark.parametrize(("field", "value", "message"), [
    ("q_cus1", "6", "cus1 '6': expected a whole number from 1 to 5"),
    ("q_cus1", "2.5", "cus1 '2.5': expected a whole number from 1 to 5"),
    (f"q_{SEVEN.id}", "8", f"{SEVEN.id} '8': expected a whole number from 1 to 7"),
    ("department", "424242", "department '424242': choose one from the list"),
    ("role", "ceo", "role 'ceo': choose one from the list"),
    ("comment", "x" * (MAX_COMMENT + 1), f"comment: at most {MAX_COMMENT:,} characters"),
])
def test_a_bad_answer_is_refused_with_its_field_named(workspace: Workspace, tokens: list[str],
                                                      field: str, value: str,
                                                      message: str) -> None:
    with pytest.raises(DataValidationError) as err, session_scope(workspace.store_url) as s:
        save_draft(s, tokens[0], {field: value})
    assert str(err.value).startswith(message)


def test_seven_point_answers_are_taken_up_to_seven(workspace: Workspace,
                                                   tokens: list[str]) -> None:
    with session_scope(workspace.store_url) as s:
        assert save_draft(s, tokens[0], {f"q_{SEVEN.id}": "7"}).answers == {SEVEN.id: 7}


def test_submitting_needs_every_answer_a_department_and_a_role(workspace: Workspace,
                                                               tokens: list[str]) -> None:
    values = full(workspace, tokens[0])
    for missing, message in (("department", "department: choose"), ("role", "role: choose"),
                             ("q_rsp3", "q_rsp3: 1 question not answered yet")):
        with pytest.raises(DataValidationError, match=message), \
                session_scope(workspace.store_url) as s:
            submit(s, tokens[0], {**values, missing: ""})
    with session_scope(workspace.store_url) as s:
        submit(s, tokens[0], values)
    with pytest.raises(ConflictError, match="already submitted"), \
            session_scope(workspace.store_url) as s:
        save_draft(s, tokens[0], {"q_cus1": "1"})
    with pytest.raises(NotFoundError, match="not valid"), \
            session_scope(workspace.store_url, write=False) as s:
        open_survey(s, "x" * 32)


def test_a_response_keeps_nothing_of_its_link(workspace: Workspace, tokens: list[str]) -> None:
    for t in tokens:
        with session_scope(workspace.store_url) as s:
            save_draft(s, t, {"q_cus1": "2"})
            submit(s, t, full(workspace, t, comment=f"from {t[:4]}"))
    with session_scope(workspace.store_url, write=False) as s:
        responses = s.scalars(select(CultureResponse).order_by(CultureResponse.id)).all()
        invitations = s.scalars(select(CultureInvitation).order_by(CultureInvitation.id)).all()
        assert s.scalars(select(CultureDraft)).all() == []
    assert all(i.used for i in invitations)
    for r in responses:
        blob = repr((r.id, r.answers, r.role, r.source, r.department_id))
        assert all(t not in blob and t[:8] not in blob for t in tokens)
        assert len(r.id) == 32 and int(r.id, 16) >= 0  # random hex, not a sequence
    assert sorted(r.comment or "" for r in responses) == sorted(f"from {t[:4]}" for t in tokens)
