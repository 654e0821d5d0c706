"""The customer 360: ``/customers/{id}``, the search ``/customers?q=`` and their JSON API.

The page and ``GET /api/v1/customers/{id}`` show one
:class:`~outsidein.services.customers.CustomerView` (from
:func:`~outsidein.services.customers.customer_360`) plus the panels of :data:`PANELS`.

How a later capability adds its panel (sense and respond's stage and journey, market
sensing's segment): its routes module defines a function ``(ws, customer_id) -> Section``
that calls its service and shapes the result into a
:class:`~outsidein.services.customers.Section` (``missing=...`` while it has no data), and
this module imports it and puts it in :data:`PANELS` in place of the placeholder.  The
page shows each extra panel after the built-in ones (its ``figures`` as a list, its
``rows`` as a table) and the API returns it among ``sections``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse

from outsidein.services.customers import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    SEARCH_LIMIT,
    CustomerView,
    Section,
    customer_360,
    search_customers,
)
from outsidein.web.auth import Anyone, Principal, Require
from outsidein.web.problems import API_ERROR_RESPONSES
from outsidein.web.routes._common import Store, plain
from outsidein.web.routes.journey import journey_panel
from outsidein.web.routes.market import segment_panel
from outsidein.web.schemas import NAME_PATTERN, CustomerHitOut, CustomerOut
from outsidein.web.templating import render
from outsidein.workspace import Workspace

__all__ = ["PANELS", "CustomerPanelSource", "router"]

router = APIRouter()

#: Makes one extra panel of the customer 360 for a customer id.
CustomerPanelSource = Callable[[Workspace, str], Section]


#: The extra panels of the customer 360, in page order (after the built-in ones).
PANELS: tuple[CustomerPanelSource, ...] = (journey_panel, segment_panel)

#: The API reads customers with the scope of customer value (every role has it).
ValueRead = Annotated[Principal, Depends(Require(scope="value:read"))]
#: A customer or prospect id in a path: one line, up to 200 characters.
CustomerId = Annotated[str, Path(min_length=1, max_length=200, pattern=NAME_PATTERN,
                                 description="a customer id, or a prospect id")]
SearchQuery = Annotated[str, Query(max_length=200, pattern=NAME_PATTERN,
                                   description="the start of an id, or part of a name")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="rows per list, newest first")]


def _view(request: Request, session: Store, customer_id: str, limit: int) -> CustomerView:
    ws = request.app.state.ws
    view = customer_360(ws, session, customer_id, limit=limit)
    extra = tuple(source(ws, customer_id) for source in PANELS)
    return CustomerView(customer_id=view.customer_id, kind=view.kind, name=view.name,
                        currency=view.currency, as_of=view.as_of,
                        sections=view.sections + extra)


@router.get("/customers", response_class=HTMLResponse, include_in_schema=False)
def customers_page(*, request: Request, principal: Anyone,
                   q: SearchQuery = "") -> HTMLResponse:
    """Search results: customers and prospects by id prefix or name."""
    hits = search_customers(request.app.state.ws, q) if q.strip() else []
    return render(request, "customers.html", principal, q=q, hits=hits, limit=SEARCH_LIMIT)


# ":path": an id may hold "/" (e.g. "gid://shopify/Customer/1"; links send it as %2F, which
# arrives decoded); no other page lives under /customers/
@router.get("/customers/{customer_id:path}", response_class=HTMLResponse,
            include_in_schema=False)
def customer_page(*, request: Request, customer_id: CustomerId, principal: Anyone,
                  session: Store, limit: Limit = DEFAULT_LIMIT) -> HTMLResponse:
    """The customer 360 page (404 page for an unknown id)."""
    view = _view(request, session, customer_id, limit)
    return render(request, "customer.html", principal, view=view,
                  sections={s.key: s for s in view.sections},
                  extra=view.sections[len(view.sections) - len(PANELS):],
                  cur=view.currency)


@router.get("/api/v1/customers", response_model=list[CustomerHitOut], tags=["customers"],
            responses=API_ERROR_RESPONSES,
            summary="Find customers and prospects by id prefix or part of a name")
def search_api(*, request: Request, q: SearchQuery,
               limit: Annotated[int, Query(ge=1, le=100)] = SEARCH_LIMIT,
               principal: ValueRead) -> list[CustomerHitOut]:
    return [CustomerHitOut.model_validate(h.to_dict())
            for h in search_customers(request.app.state.ws, q, limit=limit)]


# ":path" as on the page: a Shopify id is "gid://shopify/Customer/1".  The routes with a
# suffix (".../journey", ".../value") are registered before this router (web/app.py's
# ROUTERS), so they match first; an id that itself ends in "/journey" reads the journey.
@router.get("/api/v1/customers/{customer_id:path}", response_model=CustomerOut,
            tags=["customers"],
            responses=API_ERROR_RESPONSES,
            summary="Customer 360: who, value now and over time, orders, interactions, costs, "
                    "referrals, NPS, insights; for a prospect its scores")
def customer_api(*, request: Request, customer_id: CustomerId, principal: ValueRead,
                 session: Store, limit: Limit = DEFAULT_LIMIT) -> CustomerOut:
    """One customer or prospect; 404 (problem+json) when neither table holds the id.

    Each section has ``available`` and, when false, ``missing``: what data would fill it.
    Money is in ``currency``; shares are fractions from 0 to 1; times are UTC.
    """
    return CustomerOut.model_validate(plain(_view(request, session, customer_id, limit)))

