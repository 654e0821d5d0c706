"""Sense and respond over HTTP: ``POST /api/v1/events`` takes events and answers decisions.

The body is one event (a JSON object) or a batch of up to :data:`MAX_BATCH` (a JSON array).
Each event is checked on its own: in a batch the valid ones are applied and each bad one is
reported with its index and the field at fault (status ``rejected``); a single bad event, or
a batch with no valid event, is a 422 problem+json naming the field.  Accepted: a
``channel`` and a ``type`` of the engine's (:data:`~outsidein.services.sense.checks.EVENT_CHANNELS`,
:data:`~outsidein.services.sense.checks.EVENT_TYPES`; the error lists them), ids that are
not blank, and a ``ts`` from 1970-01-01 UTC to 1 day after the server's clock (history may be
backfilled, the future may not).  A repeated ``event_id`` is acknowledged (status
``duplicate``, with the decision made the first time) and not applied twice; the same id
sent with another ``customer_id``, ``ts``, ``channel``, ``type`` or ``product_id`` is not a
retry: a 409 naming ``event_id`` (in a batch: rejected by its index, the others applied).
The answer comes after the commit that holds the events
(:class:`~outsidein.services.sense.events.EventWriter`: group commit on a writer thread),
so the route never blocks the event loop and an acknowledged event survives a crash.

Authentication: an API key with scope ``events:write``.
"""

from __future__ import annotations

import asyncio
import gc
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Request
from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)

from outsidein.errors import DataValidationError, OutsideInError
from outsidein.services.sense.checks import (
    EVENT_CHANNELS,
    EVENT_TYPES,
    all_accepted,
    channel_problem,
    event_problems,
    type_problem,
)
from outsidein.services.sense.events import EventIn, EventWriter
from outsidein.services.sense.respond import Responder
from outsidein.services.sense.silence import housekeeping
from outsidein.web.auth import Principal, Require, key_principal
from outsidein.web.problems import API_ERROR_RESPONSES, field_error, problem
from outsidein.web.schemas import NAME_PATTERN

__all__ = ["EVENTS_PATH", "MAX_BATCH", "EventBody", "EventsFastPath", "EventsOut",
           "SegmentOut", "event_writer", "router"]

router = APIRouter(prefix="/api/v1", responses=API_ERROR_RESPONSES)

#: Keys are checked against the store at most every KEY_CACHE_S seconds here (hot path).
EventsWrite = Annotated[Principal, Depends(Require(scope="events:write", cache_keys=True))]
#: Events one request may carry.
MAX_BATCH = 1000
EVENTS_PATH = "/api/v1/events"
_CODE = r"^[A-Za-z0-9_.:-]+$"


def _text_only(value: Any) -> Any:
    """A time comes as ISO 8601 text (pydantic would read a number, or text of digits such
    as 20261129, as seconds since 1970: 1970-08-23); every such time holds a ':'."""
    if not isinstance(value, str) or ":" not in value:
        raise ValueError("expected a time as ISO 8601 text with its zone, e.g. "
                         "2026-03-02T10:00:00+01:00")
    return value


class EventBody(BaseModel):
    """One customer event.

    Accepted: ``channel`` and ``type`` among the engine's (the error lists them), ids that are
    not blank, ``ts`` from 1970-01-01 UTC to 1 day after the server's clock (history may be
    backfilled, the future may not: a ``ts`` years ahead would hold the customer's messages
    back until then).  The model checks the form; :func:`_check` then checks these rules
    (:func:`~outsidein.services.sense.checks.event_problems`, once per event with one clock
    reading per request: five validators per event cost a batch of 100 about 0.2 ms more).
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    event_id: Annotated[str, Field(min_length=1, max_length=200, pattern=NAME_PATTERN,
                                   description="unique per event: a repeat is not applied "
                                   "twice; the same id for another event is a 409")]
    customer_id: Annotated[str, Field(min_length=1, max_length=200, pattern=NAME_PATTERN,
                                      description="not only white space")]
    ts: Annotated[AwareDatetime, BeforeValidator(_text_only),
                  Field(description="when it happened, ISO 8601 with its time zone; from "
                        "1970-01-01 UTC to 1 day after the server's clock")]
    channel: Annotated[str, Field(min_length=1, max_length=40, pattern=_CODE,
                                  json_schema_extra={"enum": list(EVENT_CHANNELS)})]
    type: Annotated[str, Field(min_length=1, max_length=60, pattern=_CODE,
                               json_schema_extra={"enum": list(EVENT_TYPES)})]
    product_id: Annotated[str | None, Field(max_length=200, pattern=NAME_PATTERN)] = None
    attributes: Annotated[dict[str, Any], Field(
        max_length=50, description="anything else about the event; the engine reads "
        "first_name, and for the contact policy timezone (an IANA name such as Europe/Paris), "
        "consent (a list of channels) and preferred_channel (a channel): a value it could "
        "not use is refused, naming attributes.<name>")] = Field(default_factory=dict)


class EventResultOut(BaseModel):
    index: int
    event_id: str | None = None
    status: Literal["applied", "duplicate", "rejected"]
    decision: dict[str, Any] | None = None
    errors: list[dict[str, Any]] | None = None


class EventsOut(BaseModel):
    applied: int
    duplicates: int
    rejected: int
    results: list[EventResultOut]


class SegmentResultOut(BaseModel):
    """One Segment message's result; an ``ignored`` one (``alias``, ``group``, a ``track``
    name not mapped) has a *note* saying why (an ``identify`` is applied: its traits)."""

    index: int
    event_id: str | None = None
    status: Literal["applied", "duplicate", "rejected", "ignored"]
    decision: dict[str, Any] | None = None
    errors: list[dict[str, Any]] | None = None
    note: str | None = None


class SegmentOut(BaseModel):
    applied: int
    duplicates: int
    rejected: int
    ignored: int
    results: list[SegmentResultOut]


_EVENT = TypeAdapter(EventBody)
_EVENTS = TypeAdapter(list[EventBody])


def event_writer(request: Request | Any) -> EventWriter:
    """The app's writer (one per process), started on first use (*request*: a request, or
    the app itself)."""
    state = getattr(request, "app", request).state
    if getattr(state, "event_writer", None) is None:
        ws = state.ws
        responder = Responder.for_workspace(ws.root, ws.config.extra)
        state.event_writer = EventWriter(state.store_url, responder, plan=responder.plan,
                                         housekeeping=housekeeping(responder))
        gc.freeze()  # the decider's catalogue, bandit and caches: as start-up's (app.py)
    writer: EventWriter = state.event_writer
    return writer


#: An event's fields, named when a field is not one of them.
_FIELDS = ", ".join(EventBody.model_fields)
_TS_FORM = "expected ISO 8601 text with its zone, e.g. 2026-03-02T10:00:00+01:00"


def _errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [field_error(".".join(str(p) for p in e["loc"]) or "(event)", _words(e))
            for e in exc.errors(include_url=False)]


def _words(e: Any) -> str:
    """A validation error in words a sender can act on (pydantic's own words name its
    classes and patterns: "instance of EventBody", "should match pattern '^[^\\x00-...'")."""
    kind, value, loc = e["type"], e.get("input"), e["loc"]
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    if not loc:  # the item itself
        return f"expected an event (a JSON object), got {shown}"
    if kind == "extra_forbidden":
        return (f"not a field of an event; the fields are {_FIELDS} (anything else goes in "
                "attributes)")
    if loc == ("channel",) and isinstance(value, str):
        return channel_problem(value) or e["msg"]
    if loc == ("type",) and isinstance(value, str):
        return type_problem(value) or e["msg"]
    if loc == ("ts",) and kind != "missing":
        why = ("it has none" if kind == "timezone_aware" else
               str(e["msg"]).partition(", ")[2] if kind.startswith("datetime") else "")
        return f"{shown} is not a time with its zone{f' ({why})' if why else ''}; {_TS_FORM}"
    if kind == "string_pattern_mismatch":
        return f"{shown} holds a control character (a newline, tab or NUL); send plain text"
    return str(e["msg"]).removeprefix("Value error, ")


def _check(items: list[Any]) -> tuple[list[tuple[int, EventIn]], list[EventResultOut]]:
    """The good events (with their index) and a rejection for each bad item: its form (the
    model), then what the engine accepts (:func:`event_problems`: channel, type, blank ids,
    the range of ``ts``)."""
    now = datetime.now(UTC)
    try:  # all at once (the usual case, a third cheaper); a bad item: one by one, below
        checked = _EVENTS.validate_python(items)
    except ValidationError:
        pass
    else:  # a model's fields are EventIn's, by name
        events = [EventIn(**e.__dict__) for e in checked]
        if all_accepted(events, now):
            return list(enumerate(events)), []
    good: list[tuple[int, EventIn]] = []
    bad: list[EventResultOut] = []
    for i, item in enumerate(items):
        eid = item.get("event_id") if isinstance(item, dict) else None
        eid = eid if isinstance(eid, str) else None
        try:
            e = _EVENT.validate_python(item)
        except ValidationError as exc:
            bad.append(EventResultOut(index=i, event_id=eid, status="rejected",
                                      errors=_errors(exc)))
            continue
        event = EventIn(**e.__dict__)
        if found := event_problems(event, now):
            bad.append(EventResultOut(index=i, event_id=eid, status="rejected", errors=[
                field_error(name, problem) for name, problem in found]))
        else:
            good.append((i, event))
    return good, bad


_EVENT_SCHEMA = _EVENT.json_schema()
#: A batch's items are checked one by one (a bad one is reported, the others applied), so
#: the schema of a batch item is any object; each should be an event as described.
_BODY_SCHEMA = {"oneOf": [_EVENT_SCHEMA, {
    "type": "array", "minItems": 1, "maxItems": MAX_BATCH,
    "items": {"type": "object", "description": "an event (as the single-event schema); a bad "
              "one is reported by its index with status 'rejected', the others are applied"}}]}


@router.post(EVENTS_PATH.removeprefix("/api/v1"), response_model=EventsOut, tags=["sense"],
             summary="Send one event or a batch of up to 1,000; get a decision for each",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": _BODY_SCHEMA}}}})
async def post_events(*, request: Request, principal: EventsWrite) -> Any:
    body = await _json_body(request)
    good, bad = _check(_items(body))
    return await _apply(request, principal, good, bad, "api",
                        index_in_detail=not isinstance(body, dict))


def _items(body: Any) -> list[Any]:
    """The events of a request body: one object, or a list of 1 to MAX_BATCH."""
    if isinstance(body, dict) and "event_id" not in body:
        wrapped = next((k for k in ("events", "batch", "data") if isinstance(body.get(k), list)),
                       None)
        if wrapped is not None:
            raise DataValidationError(f"body: a batch is a JSON array of events at the top "
                                      f"level ([{{...}}, {{...}}]), not an object with "
                                      f"{wrapped!r}; send the list itself")
    items = [body] if isinstance(body, dict) else body
    if not isinstance(items, list) or not items:
        raise DataValidationError("body: expected one event (a JSON object) or a batch of "
                                  f"1 to {MAX_BATCH} events (a JSON array)")
    if len(items) > MAX_BATCH:
        raise DataValidationError(f"body: {len(items)} events; send at most {MAX_BATCH} "
                                  "per request")
    return items


async def _json_body(request: Request) -> Any:
    try:
        return orjson.loads(await request.body())
    except (ValueError, UnicodeDecodeError) as exc:
        sent = request.headers.get("content-type", "")
        packed = request.headers.get("content-encoding", "").strip().lower()
        hint = (f"; it was sent as {sent.split(';')[0]}: send JSON with Content-Type: "
                "application/json" if sent and "json" not in sent.lower() else "")
        if packed not in ("", "identity"):
            hint = (f"; it was sent with Content-Encoding {packed}, which this route does not "
                    "read: send the JSON plain (the Segment source reads gzip)")
        raise DataValidationError(f"body: not valid JSON ({exc}){hint}") from exc


async def _apply(request: Request, principal: Principal, good: list[tuple[int, EventIn]],
                 bad: list[EventResultOut], source: str, *,
                 index_in_detail: bool = False, id_field: str = "event_id",
                 ignored: int = 0) -> Any:
    """Queue the checked events, wait for their commit, answer one result per item; with
    nothing accepted (no good item, or each one's id already used for another event) and
    none *ignored*, a problem naming the first bad one's field (and its index, if asked): a
    409 when every bad one reused an id (*id_field*), else a 422."""
    if not good:
        if ignored:
            return {"applied": 0, "duplicates": 0, "rejected": len(bad),
                    "results": [b.model_dump() for b in bad]}
        return _refusal(request, [b.model_dump() for b in bad], 422, index_in_detail)
    answer, reused = await _submit(request.app, principal, good, bad, source, id_field)
    if not ignored and answer["applied"] + answer["duplicates"] == 0:
        status = 409 if reused == answer["rejected"] else 422
        return _refusal(request, [r for r in answer["results"] if r["status"] == "rejected"],
                        status, index_in_detail)
    return answer


def _refusal(request: Request, rejected: list[dict[str, Any]], status: int,
             index_in_detail: bool) -> Any:
    """A problem naming the first rejected item's field (and its index, if asked).

    ``errors`` has the API's one shape for a 422 (:func:`~outsidein.web.problems.field_error`:
    ``field`` and ``problem``), each with the ``index`` of its event; ``results`` lists the
    rejected events as a batch's answer does."""
    first = rejected[0]
    where = f"[{first['index']}]." if index_in_detail else ""
    err = (first["errors"] or [{}])[0]
    errors = [{**field_error(e["field"], e["problem"]), "index": r["index"]}
              for r in rejected for e in (r["errors"] or [])]
    return problem(status, f"{where}{err.get('field', '')}: {err.get('problem', 'invalid')}",
                   request=request, extra={"errors": errors, "results": rejected})


async def _submit(app: Any, principal: Principal, good: list[tuple[int, EventIn]],
                  bad: list[EventResultOut], source: str, id_field: str = "event_id"
                  ) -> tuple[dict[str, Any], int]:
    """Queue the good events, wait for the commit that holds them, answer every item (an
    :class:`EventsOut` as plain data: a thousand result models cost more than the JSON),
    and how many reused an id for another event (rejected, naming *id_field*)."""
    key_id = principal.key.id if principal.key else None
    future = event_writer(app).submit([e for _, e in good], api_key_id=key_id, source=source)
    results = await asyncio.wrap_future(future)
    out: list[dict[str, Any]] = [
        {"index": i, "event_id": r.event_id, "status": r.status, "decision": r.decision,
         "errors": None} if r.problem is None else
        {"index": i, "event_id": r.event_id, "status": "rejected", "decision": None,
         "errors": [field_error(id_field, r.problem)]}
        for (i, _), r in zip(good, results, strict=True)]
    if bad:
        out = sorted(out + [b.model_dump() for b in bad], key=lambda r: r["index"])
    applied = sum(r.status == "applied" for r in results)
    reused = sum(r.problem is not None for r in results)
    return {"applied": applied, "duplicates": len(results) - applied - reused,
            "rejected": len(bad) + reused, "results": out}, reused


def _json(answer: dict[str, Any]) -> bytes:
    """*answer* (from :func:`_submit`) as the JSON :class:`EventsOut` would give."""
    try:
        return orjson.dumps(answer, option=orjson.OPT_SERIALIZE_NUMPY)
    except TypeError:  # something orjson does not know in a decision: pydantic's rules
        return EventsOut.model_validate(answer).model_dump_json().encode()


class EventsFastPath:
    """ASGI middleware: ``POST /api/v1/events`` answered without the router's per-request work.

    Thousands of events a second arrive here, each a small request; FastAPI's routing over
    a hundred routes, its dependency solving, the session cookie and the response model's
    second validation cost more than the event itself.  This layer (inside the security
    headers and the body limit, outside the session) answers the common case with the very
    functions the route uses: the cached key check (:func:`~outsidein.web.auth.key_principal`),
    :func:`_check` and :func:`_submit`.  Anything else (no or a bad key, a body that is not
    a list or an object of events, no valid event, nothing accepted by the writer (each
    id already used for another event), a writer that failed) goes on to the
    route with the body as received, so every error answer still has one home.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if (scope["type"] != "http" or scope["method"] != "POST"
                or scope["path"] != EVENTS_PATH):
            await self.app(scope, receive, send)
            return
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay(b"", message), send)
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        answer = await self._answer(scope, body)
        if answer is None:
            await self.app(scope, _replay(body), send)
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(answer)).encode())]})
        await send({"type": "http.response.body", "body": answer})

    async def _answer(self, scope: Any, body: bytes) -> bytes | None:
        auth = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
        if auth[:7].lower() != b"bearer ":
            return None
        app = scope["app"]
        try:
            principal = await key_principal(app.state.store_url,
                                            auth[7:].strip().decode("latin-1"))
            good, bad = _check(_items(orjson.loads(body)))
        except (OutsideInError, ValueError, UnicodeDecodeError):
            return None  # the route answers it (a 401, 403 or 422 problem)
        if not principal.allows("events:write"):
            return None
        if not good:
            return None
        try:
            out, _ = await _submit(app, principal, good, bad, "api")
        except Exception:  # not committed: the route tries again and answers the error
            return None
        if out["applied"] + out["duplicates"] == 0:  # every id reused: nothing was applied,
            return None                              # the route answers the problem
        return _json(out)


def _replay(body: bytes, first: Any = None) -> Any:
    """An ASGI ``receive`` that hands on the body already read (then what comes next)."""
    sent = False

    async def receive() -> Any:
        nonlocal sent
        if not sent:
            sent = True
            return first or {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive
