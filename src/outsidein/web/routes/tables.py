"""Explorable tables: ``/tables/{name}`` (page), ``/api/v1/tables/{name}`` (JSON or CSV) and
who owns working through a list (``/tables/{name}/owner``).

The query string and how it is applied are :mod:`outsidein.web.tables`; the list owner is
:func:`outsidein.services.share.assign_list`.  ``customer_value`` needs ``value:read``; the
answers' lists need ``answers:read``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from outsidein.errors import NotFoundError
from outsidein.services import accounts, share
from outsidein.web.auth import STAFF, Anyone, Principal, Require, StaffOnly
from outsidein.web.labels import label
from outsidein.web.problems import API_ERROR_RESPONSES
from outsidein.web.routes._common import Store, plain
from outsidein.web.schemas import ListOwnerIn, ListOwnerOut, TableColumnOut, TableOut
from outsidein.web.tables import (
    CUSTOMER_VALUE,
    TableQueryParams,
    TableSpec,
    csv_response,
    explore,
    fetch,
    resolve,
)
from outsidein.web.templating import render
from outsidein.workspace import Workspace

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1", responses=API_ERROR_RESPONSES, tags=["tables"])

#: A table's name in the path: a warehouse table, or an answer's side table (``x.drivers``).
TableName = Annotated[str, Path(min_length=1, max_length=120,
                                pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)?$",
                                description="customer_value, an answer's list such as "
                                            "answer_likely_converts, or a side table such as "
                                            "answer_value.drivers")]
ValueRead = Annotated[Principal, Depends(Require(scope="value:read"))]
AnswersRead = Annotated[Principal, Depends(Require(scope="answers:read"))]
InsightsWrite = Annotated[Principal, Depends(Require(scope="insights:write"))]

HOW_ANSWER_LIST = ("The list comes from the saved five answers ('outsidein answer'): the full "
                   "ranked list is the warehouse table named above; the rank is the answer's "
                   "order, the reason says why in words.")


def _answer_spec(ws: Workspace, name: str) -> TableSpec:
    spec = resolve(ws, name)
    if spec.name == CUSTOMER_VALUE:  # /api/v1/tables/customer_value is its own route
        raise NotFoundError(f"no answer list {name!r}")
    return spec


@router.get("/tables/{name}", response_class=HTMLResponse)
def table_page(*, request: Request, name: TableName, params: TableQueryParams,
               principal: Anyone, session: Store) -> Response:
    """A table to explore: sort, filter, pages, CSV; an answer's list shows its owner."""
    ws = request.app.state.ws
    if name == CUSTOMER_VALUE:
        query = request.url.query
        return RedirectResponse(f"/value?{query}" if query else "/value", status_code=303)
    spec = resolve(ws, name)
    if params.format == "csv":
        return csv_response(ws, spec, params.query(spec))
    tv = explore(ws, spec, params, base=f"/tables/{spec.name}")
    can_assign = spec.assignable and principal.role in STAFF
    history = share.list_owner_history(session, spec.name) if spec.assignable else []
    return render_table(request, principal, tv=tv, owner=history[0] if history else None,
                        history=history, can_assign=can_assign,
                        people=accounts.list_users(session) if can_assign else [])


def render_table(request: Request, principal: Principal, **context: Any) -> HTMLResponse:
    return render(request, "tables.html", principal, how_text=HOW_ANSWER_LIST, **context)


@router.post("/tables/{name}/owner")
def assign_owner(*, request: Request, name: TableName, principal: StaffOnly, session: Store,
                 owner_email: Annotated[str, Form(min_length=3, max_length=320)],
                 note: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Make someone the owner of working through an answer's list (staff only)."""
    spec = _answer_spec(request.app.state.ws, name)
    if not spec.assignable:
        raise NotFoundError(f"table {name!r} is not a list that can be assigned")
    share.assign_list(session, spec.name, owner_email=owner_email,
                      assigned_by_email=principal.user.email if principal.user else None,
                      note=note)
    return RedirectResponse(f"/tables/{spec.name}#owner", status_code=303)


# -- the API ----------------------------------------------------------------------------------

def _table_out(ws: Workspace, spec: TableSpec, params: Any, session: Any) -> TableOut:
    page = fetch(ws, spec, params.query(spec))
    owner = share.list_owner(session, spec.name) if spec.assignable else None
    cols = [TableColumnOut.model_validate({"name": c.name, "label": label(c.name).text,
                                           "kind": c.kind, "unit": label(c.name).unit,
                                           "model_term": label(c.name).model})
            for c in page.columns]
    return TableOut(name=spec.name, title=spec.title, columns=cols, rows=plain(page.rows),
                    matched=page.matched, total=page.total, page=page.query.page,
                    per_page=page.query.per_page, pages=page.pages, sort=page.query.sort,
                    desc=page.query.descending,
                    owner=ListOwnerOut.model_validate(owner.to_dict()) if owner else None)


#: The table routes answer JSON, or CSV when asked.
_CSV: dict[int | str, dict[str, Any]] = {200: {
    "content": {"text/csv": {}},
    "description": "JSON, or with format=csv every matching row as CSV"}}


@api_router.get("/tables/customer_value", response_model=TableOut, responses=_CSV,
                summary="Customer value, sorted, filtered and paged like the /value page")
def customer_value_table(*, request: Request, params: TableQueryParams, principal: ValueRead,
                         session: Store) -> Any:
    ws = request.app.state.ws
    spec = resolve(ws, CUSTOMER_VALUE)
    if params.format == "csv":
        return csv_response(ws, spec, params.query(spec))
    return _table_out(ws, spec, params, session)


@api_router.get("/tables/{name}", response_model=TableOut, responses=_CSV,
                summary="An answer's full list (or side table), sorted, filtered and paged")
def answer_table(*, request: Request, name: TableName, params: TableQueryParams,
                 principal: AnswersRead, session: Store) -> Any:
    ws = request.app.state.ws
    spec = _answer_spec(ws, name)
    if params.format == "csv":
        return csv_response(ws, spec, params.query(spec))
    return _table_out(ws, spec, params, session)


@api_router.put("/tables/{name}/owner", response_model=ListOwnerOut,
                summary="Make someone the owner of working through an answer's list")
def put_owner(*, request: Request, name: TableName, body: ListOwnerIn,
              principal: InsightsWrite, session: Store) -> Any:
    spec = _answer_spec(request.app.state.ws, name)
    if not spec.assignable:
        raise NotFoundError(f"table {name!r} is not a list that can be assigned")
    owner = share.assign_list(session, spec.name, owner_email=body.owner_email,
                              assigned_by_email=principal.user.email if principal.user else None,
                              note=body.note)
    return ListOwnerOut.model_validate(owner.to_dict())
