"""The JSON API, ``/api/v1``: every route names the scope it needs; errors are problem+json."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from outsidein.errors import DataValidationError, PermissionDeniedError
from outsidein.services import share
from outsidein.services.questions import HOW_TO_ANSWER, read_answers
from outsidein.services.value import customer_value
from outsidein.store.db import write_transaction
from outsidein.web.auth import Principal, Require
from outsidein.web.problems import API_ERROR_RESPONSES
from outsidein.web.routes._common import (
    DepartmentQuery,
    PathId,
    QueryId,
    Store,
    plain,
    writes,
)
from outsidein.web.schemas import (
    MAX_ID,
    NAME_PATTERN,
    AckIn,
    AckOut,
    AckStatusOut,
    ActionIn,
    ActionOut,
    AlignmentOut,
    AllaBoardOut,
    AnswerOut,
    AnswersOut,
    CustomerValueOut,
    InsightIn,
    InsightOut,
    ItemIn,
    ItemOut,
    NeedIn,
    NeedOut,
    OutcomeIn,
    OutcomeOut,
)

router = APIRouter(prefix="/api/v1", responses=API_ERROR_RESPONSES)

InsightsRead = Annotated[Principal, Depends(Require(scope="insights:read"))]
InsightsWrite = Annotated[Principal, Depends(Require(scope="insights:write"))]
AcksWrite = Annotated[Principal, Depends(Require(scope="acks:write"))]
NeedsRead = Annotated[Principal, Depends(Require(scope="needs:read"))]
NeedsWrite = Annotated[Principal, Depends(Require(scope="needs:write"))]
AnswersRead = Annotated[Principal, Depends(Require(scope="answers:read"))]
ValueRead = Annotated[Principal, Depends(Require(scope="value:read"))]


def _email_of(principal: Principal, given: str | None, field: str) -> str:
    """*given*, else the calling person's e-mail; a key that belongs to no person must send one."""
    email = given or (principal.user.email if principal.user else None)
    if not email:
        raise DataValidationError(
            f"{field}: required when the API key belongs to no person; send {field} "
            "or use a key created for a person")
    return email


def _insight(obj: Any) -> InsightOut:
    return InsightOut.model_validate(plain(obj))


#: Insights per page of ``GET /api/v1/insights`` unless ``limit`` says otherwise, and the most
#: one page holds (the tables API's largest page, ``per_page``, is 500 too).
INSIGHTS_PAGE = 100
INSIGHTS_PAGE_MAX = 500
_PAGE_HEADERS = {"X-Total-Count": {"description": "insights that match, on every page",
                                   "schema": {"type": "integer"}},
                 "Link": {"description": 'RFC 8288 links to the rel="next" and rel="prev" '
                                         "pages, when there are any",
                          "schema": {"type": "string"}}}


def _page_links(request: Request, page: share.InsightPage) -> str:
    """The ``Link`` header of a page: where the next and the previous pages are."""
    links = []
    if page.next_offset is not None:
        url = request.url.include_query_params(offset=page.next_offset, limit=page.limit)
        links.append(f'<{url}>; rel="next"')
    if page.offset > 0 and page.limit is not None:
        url = request.url.include_query_params(offset=max(0, page.offset - page.limit),
                                               limit=page.limit)
        links.append(f'<{url}>; rel="prev"')
    return ", ".join(links)


@router.get("/insights", response_model=list[InsightOut], tags=["insights"],
            summary="Current versions of insights, high priority first, a page at a time",
            responses={200: {"headers": _PAGE_HEADERS}})
def list_insights(*, request: Request, response: Response,
                  department: DepartmentQuery = None,
                  awaiting_ack_only: Annotated[bool, Query(
                      description="only those not yet fully acknowledged")] = False,
                  limit: Annotated[int, Query(
                      ge=1, le=INSIGHTS_PAGE_MAX,
                      description="insights on this page")] = INSIGHTS_PAGE,
                  offset: Annotated[int, Query(
                      ge=0, le=MAX_ID, description="how many to skip: the page's start, "
                      "as the Link header's rel=\"next\" gives it")] = 0,
                  principal: InsightsRead,
                  session: Store) -> list[InsightOut]:
    """One page of insights; ``X-Total-Count`` says how many match in all, and ``Link`` where
    the next page is (none on the last page)."""
    page = share.insight_page(session, department=department,
                              awaiting_ack_only=awaiting_ack_only, limit=limit, offset=offset)
    response.headers["X-Total-Count"] = str(page.total)
    if links := _page_links(request, page):
        response.headers["Link"] = links
    return [_insight(i) for i in page.items]


@router.get("/insights/{insight_id}", response_model=InsightOut, tags=["insights"])
def get_insight(*, insight_id: PathId, version: QueryId = None,
                principal: InsightsRead,
                session: Store) -> InsightOut:
    return _insight(share.get_insight(session, insight_id, version))


@router.post("/insights", response_model=InsightOut, status_code=201, tags=["insights"],
             summary="Publish an insight (or a new version of the one with the same key)")
def publish_insight(*, body: InsightIn,
                    principal: InsightsWrite,
                    session: Store) -> InsightOut:
    return _insight(share.publish_insight(
        session, title=body.title, statement=body.statement, evidence=body.evidence,
        owner_email=_email_of(principal, body.owner_email, "owner_email"),
        departments=body.departments, priority=body.priority, source=body.source, key=body.key,
        due_days=body.due_days))


@router.post("/insights/{insight_id}/acknowledgements", response_model=AckOut, status_code=201,
             tags=["insights"], summary="Acknowledge one version (by its hash) of an insight")
@writes
def acknowledge(*, insight_id: PathId, body: AckIn,
                principal: AcksWrite,
                session: Store) -> AckOut:
    person = principal.user
    if person is None:
        user_id = share.user_by_email(
            session, _email_of(principal, body.user_email, "user_email")).id
    elif body.user_email and body.user_email.strip().lower() != person.email:
        raise PermissionDeniedError(
            f"{principal.name} acknowledges for {person.email} only, not for {body.user_email}")
    else:
        user_id = person.id
    ack = share.acknowledge(session, insight_id=insight_id, version_hash=body.version_hash,
                            user_id=user_id, api_key_id=principal.key.id if principal.key else None,
                            can_read=principal.allows("insights:read"),
                            write=lambda: write_transaction(session))
    return AckOut.model_validate(plain(ack))


@router.get("/insights/{insight_id}/ack-status", response_model=AckStatusOut, tags=["insights"],
            summary="Per department: who has and has not acknowledged the current version")
def ack_status(*, insight_id: PathId, principal: InsightsWrite,
               session: Store) -> AckStatusOut:
    return AckStatusOut.model_validate(plain(share.ack_status(session, insight_id)))


@router.get("/audit-log", tags=["insights"], response_class=Response,
            summary="Acknowledgements, actions and outcomes as CSV or JSON",
            responses={200: {"content": {"text/csv": {}, "application/json": {}}}})
def audit_log(*, format: Annotated[str, Query(pattern="^(csv|json)$")] = "csv",
              principal: InsightsWrite,
              session: Store) -> Response:
    text = share.export_audit_log(session, format)
    media = "text/csv" if format == "csv" else "application/json"
    return Response(text, media_type=f"{media}; charset=utf-8")


@router.get("/alla", response_model=AllaBoardOut, tags=["insights"],
            summary="The Ask-Listen-Learn-Act board")
def alla(*, principal: InsightsRead,
         session: Store) -> Any:
    return plain(share.alla_board(session))


@router.get("/needs", response_model=list[NeedOut], tags=["needs"],
            summary="Unmet needs ranked by opportunity score")
def needs(*, top: Annotated[int | None, Query(ge=1, le=1000)] = None,
          principal: NeedsRead, session: Store) -> Any:
    return plain(share.ranked_needs(session, top=top))


@router.post("/needs", response_model=NeedOut, status_code=201, tags=["needs"],
             summary="Record a customer need")
def add_need(*, body: NeedIn, principal: NeedsWrite, session: Store) -> Any:
    return plain(share.add_need(session, **body.model_dump()))


@router.post("/alignment/items", response_model=ItemOut, status_code=201, tags=["needs"],
             summary="Record (or update, by kind and title) a plan, message or training item")
def add_item(*, body: ItemIn, principal: NeedsWrite, session: Store) -> Any:
    return plain(share.add_item(session, **body.model_dump()))


@router.post("/actions", response_model=ActionOut, status_code=201, tags=["insights"],
             summary="Act: log an action on an insight with the KPI it should move")
def add_action(*, body: ActionIn, principal: InsightsWrite, session: Store) -> Any:
    args = body.model_dump()
    args["owner_email"] = _email_of(principal, args["owner_email"], "owner_email")
    return plain(share.act(session, **args))


@router.post("/actions/{action_id}/outcomes", response_model=OutcomeOut, status_code=201,
             tags=["insights"],
             summary="Record the KPI measured after an action (success or failure)")
def add_outcome(*, action_id: PathId, body: OutcomeIn, principal: InsightsWrite,
                session: Store) -> Any:
    return plain(share.record_outcome(session, action_id=action_id, **body.model_dump()))


@router.get("/alignment", response_model=AlignmentOut, tags=["needs"],
            summary="Alignment review: top needs against product plans, messages and training")
def alignment(*, top: Annotated[int, Query(ge=1, le=100)] = 10,
              principal: NeedsRead,
              session: Store) -> Any:
    return plain(share.alignment_review(session, top=top))


@router.get("/answers", response_model=AnswersOut, tags=["answers"],
            summary="The five answers as last computed by 'outsidein answer'")
def answers(*, request: Request,
            principal: AnswersRead) -> AnswersOut:
    stored = read_answers(request.app.state.ws)
    if stored is None:
        return AnswersOut(available=False, how_to=HOW_TO_ANSWER)
    return AnswersOut(available=True, meta=plain(stored.meta()),
                      answers=[AnswerOut.from_stored(a) for a in stored])


@router.get("/customers/{customer_id:path}/value", response_model=CustomerValueOut, tags=["value"],
            summary="A customer's row of customer_value (predicted value and reasons)")
def value_of_customer(*, request: Request,
                      customer_id: Annotated[str, Path(min_length=1, max_length=200,
                                                       pattern=NAME_PATTERN)],
                      principal: ValueRead) -> CustomerValueOut:
    return CustomerValueOut(customer_id=customer_id,
                            values=customer_value(request.app.state.ws, customer_id))
