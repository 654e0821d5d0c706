"""Running the culture survey from the browser (``/culture/admin``, staff only).

Organisations with their departments (and headcounts) and roles; waves with their invitation,
use and response counts; a wave's response rates by department while it is open; making
one-time links; the reminder list of links not used yet (``/culture/admin/reminders.csv``);
closing a wave.  A form that fails comes back with what was typed and the problem beside its
field (:mod:`outsidein.web.forms`).  The same services back ``outsidein culture ...``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from outsidein.services.culture.importing import instrument_items
from outsidein.services.culture.instrument import instrument_path, load_instrument
from outsidein.services.culture.tokens import Invitation, invite, reminders
from outsidein.services.culture.waves import (
    add_department,
    add_org,
    add_role,
    close_wave,
    list_orgs,
    list_waves,
    open_wave,
    response_rates,
)
from outsidein.services.share import neutralise_cell
from outsidein.web.auth import Principal, StaffOnly
from outsidein.web.forms import FormState, Rules, attempt, number
from outsidein.web.routes._common import Store
from outsidein.web.templating import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Line = Annotated[str, Form(max_length=200)]
WaveQuery = Annotated[str | None, Query(max_length=100)]
ORG_RULES: Rules = (("organisation", "name"), ("industry", "industry"), ("size", "size"))
DEP_RULES: Rules = (("organisation", "org"), ("department", "name"), ("headcount", "headcount"))
ROLE_RULES: Rules = (("organisation", "org"), ("role", "name"))
WAVE_RULES: Rules = (("wave", "name"),)
INVITE_RULES: Rules = (("organisation", "org"), ("wave", "wave"), ("count", "count"))


def _whole(text: str, name: str) -> int | None:
    text = (text or "").strip()
    return None if not text else int(number(text, name, "a whole number"))


def _page(request: Request, principal: Principal, session: Session, *, wave: str | None = None,
          form: FormState | None = None, message: str | None = None,
          links: list[Invitation] | None = None) -> HTMLResponse:
    waves = list_waves(session)
    open_waves = [w for w in waves if w.status == "open"]
    shown = wave or (open_waves[-1].name if open_waves else None)
    rates = response_rates(session, shown) if shown and any(
        w.name == shown for w in waves) else None
    base = str(request.base_url).rstrip("/")
    return render(request, "culture_admin.html", principal,
                  status_code=form.status if form else 200, orgs=list_orgs(session),
                  waves=waves, open_waves=open_waves, rates=rates, form=form, message=message,
                  links=[(i.org, base + i.path) for i in links or []])


@router.get("/culture/admin", response_class=HTMLResponse)
def culture_admin(*, request: Request, principal: StaffOnly, session: Store,
                  wave: WaveQuery = None) -> HTMLResponse:
    """Organisations, waves, response rates, invitations and closing."""
    return _page(request, principal, session, wave=wave)


def _run(request: Request, principal: Principal, session: Session, state: FormState,
         fn: Callable[[], Any], rules: Rules, default: str, message: str,
         wave: str | None = None) -> HTMLResponse:
    failed = attempt(session, state, fn, rules, default)
    if failed is not None:
        return _page(request, principal, session, form=failed, wave=wave)
    return _page(request, principal, session, message=message, wave=wave)


@router.post("/culture/admin/orgs", response_class=HTMLResponse)
def add_org_form(*, request: Request, name: Line, industry: Line = "", size: Line = "",
                 principal: StaffOnly, session: Store) -> HTMLResponse:
    state = FormState("add-org", {"name": name, "industry": industry, "size": size})
    return _run(request, principal, session, state,
                lambda: add_org(session, name, industry=industry.strip() or None,
                                size=_whole(size, "size"), actor=principal.name),
                ORG_RULES, "name", f"added organisation {name.strip()}")


@router.post("/culture/admin/departments", response_class=HTMLResponse)
def add_department_form(*, request: Request, org: Line, name: Line, headcount: Line = "",
                        principal: StaffOnly, session: Store) -> HTMLResponse:
    state = FormState("add-department", {"org": org, "name": name, "headcount": headcount})
    return _run(request, principal, session, state,
                lambda: add_department(session, org, name,
                                       headcount=_whole(headcount, "headcount"),
                                       actor=principal.name),
                DEP_RULES, "name", f"department {name.strip()} of {org}")


@router.post("/culture/admin/roles", response_class=HTMLResponse)
def add_role_form(*, request: Request, org: Line, name: Line, principal: StaffOnly,
                  session: Store) -> HTMLResponse:
    state = FormState("add-role", {"org": org, "name": name})
    return _run(request, principal, session, state,
                lambda: add_role(session, org, name, actor=principal.name),
                ROLE_RULES, "name", f"role {name.strip()} of {org}")


@router.post("/culture/admin/waves", response_class=HTMLResponse)
def open_wave_form(*, request: Request, name: Line, principal: StaffOnly,
                   session: Store) -> HTMLResponse:
    ws = request.app.state.ws
    state = FormState("open-wave", {"name": name})

    def go() -> None:
        inst = load_instrument(instrument_path(ws.config.extra.get("culture"), ws.root))
        open_wave(session, name, inst.version, instrument_items(inst),
                  comment_prompt=inst.comment, actor=principal.name)

    return _run(request, principal, session, state, go, WAVE_RULES, "name",
                f"opened wave {name.strip()}", wave=name.strip())


@router.post("/culture/admin/invite", response_class=HTMLResponse)
def invite_form(*, request: Request, wave: Line, org: Line, count: Line,
                principal: StaffOnly, session: Store) -> HTMLResponse:
    state = FormState("invite", {"wave": wave, "org": org, "count": count})
    made: list[Invitation] = []

    def go() -> None:
        made.extend(invite(session, wave, org, count=_whole(count, "count"),
                           actor=principal.name))

    failed = attempt(session, state, go, INVITE_RULES, "count")
    if failed is not None:
        return _page(request, principal, session, form=failed, wave=wave)
    return _page(request, principal, session, wave=wave, links=made,
                 message=f"made {len(made)} survey links for {org} in wave {wave}")


@router.post("/culture/admin/close", response_class=HTMLResponse)
def close_form(*, request: Request, wave: Line, principal: StaffOnly,
               session: Store) -> HTMLResponse:
    state = FormState("close", {"wave": wave})
    return _run(request, principal, session, state,
                lambda: close_wave(session, wave, actor=principal.name), WAVE_RULES, "wave",
                f"closed wave {wave}", wave=wave)


@router.get("/culture/admin/reminders.csv")
def reminders_csv(*, request: Request, principal: StaffOnly, session: Store,
                  wave: Annotated[str, Query(max_length=100)]) -> Response:
    """The links of *wave* not used yet, as CSV (org, to, url) for a mail merge."""
    rows = reminders(session, wave)
    base = str(request.base_url).rstrip("/")
    buf = io.StringIO()
    out = csv.writer(buf)
    out.writerow(["org", "to", "url"])
    for r in rows:
        out.writerow([neutralise_cell(r.org), "", base + r.path])
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in wave)
    return Response(buf.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="reminders-{name}.csv"'})
