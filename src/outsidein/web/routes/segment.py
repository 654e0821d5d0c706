"""The Segment source: Segment-spec messages in, through the same engine as the events API.

``POST /api/v1/sources/segment`` is a webhook destination's address (``track``, ``page``,
``screen``, ``identify``, ``batch``); ``POST /api/v1/sources/segment/v1/<kind>`` are the
paths Segment's own libraries post to when given ``host=<server>/api/v1/sources/segment``
(and compatible senders: RudderStack, Jitsu).  The key is an API key with scope
``events:write``, as ``Authorization: Bearer <key>`` or as HTTP Basic credentials with the
key as the user name (what the libraries send with their write key).  Event names map to
interaction types through ``[sense.segment]`` (:mod:`outsidein.services.sense.segment`).
A gzipped body (``Content-Encoding: gzip``, one member or several) is read up to
:data:`MAX_INFLATED` once inflated (413 beyond); another encoding is a 415 naming it; any
other path under the source is a 404 that says which ``host`` to give a library.
"""

from __future__ import annotations

import zlib
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request

from outsidein.errors import DataValidationError, NotFoundError, OutsideInError
from outsidein.services.sense.events import EventIn
from outsidein.services.sense.segment import Ignored, from_segment, segment_mapping
from outsidein.web.auth import Principal, Require
from outsidein.web.problems import API_ERROR_RESPONSES, PROBLEM_SCHEMA, field_error
from outsidein.web.routes.sense import (
    MAX_BATCH,
    EventResultOut,
    SegmentOut,
    _apply,
    _json_body,
)

router = APIRouter(prefix="/api/v1", responses={**API_ERROR_RESPONSES, 415: PROBLEM_SCHEMA})
#: The most a gzipped body may come to (Segment's own limit for a batch is 500 KB)
MAX_INFLATED = 16 * 1024 * 1024

#: The Segment source also takes the key as Basic credentials (Segment's libraries send so)
SegmentWrite = Annotated[Principal, Depends(Require(scope="events:write", cache_keys=True,
                                                    basic=True))]
#: What Segment's libraries post to, under the host they are given (``host=<base>``):
#: ``<base>/v1/batch``, ``<base>/v1/track`` and so on; one message's type is its path's
SEGMENT_LIBRARY_PATHS = ("batch", "import", "track", "page", "screen", "identify", "group",
                         "alias")


def _segment_messages(body: Any) -> list[Any]:
    if isinstance(body, dict) and body.get("type") == "batch" or (
            isinstance(body, dict) and "batch" in body and "type" not in body):
        items = body.get("batch")
        if not isinstance(items, list) or not items:
            raise DataValidationError("batch: expected a non-empty list of messages")
        return items
    if isinstance(body, dict):
        return [body]
    raise DataValidationError("body: expected a Segment message or {\"batch\": [...]}")


@router.post("/sources/segment", response_model=SegmentOut, tags=["sense"],
             summary="A Segment webhook destination: track, page, screen, identify, batch "
                     "(alias, group and track names not mapped are acknowledged as ignored)",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": {"type": "object"}}}}})
async def segment_source(*, request: Request, principal: SegmentWrite) -> Any:
    return await _answer(request, principal, None)


@router.post("/sources/segment/v1/{kind}", response_model=SegmentOut, tags=["sense"],
             summary="The Segment source at the paths Segment's libraries post to: give a "
                     "library host=<server>/api/v1/sources/segment and its write key as an "
                     "API key with scope events:write (sent as Basic credentials)",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": {"type": "object"}}}}})
async def segment_library_source(*, request: Request, principal: SegmentWrite,
                                 kind: str) -> Any:
    if kind not in SEGMENT_LIBRARY_PATHS:
        raise NotFoundError(f"/api/v1/sources/segment/v1/{kind}: not a Segment path; expected "
                            f"one of {', '.join(SEGMENT_LIBRARY_PATHS)}")
    return await _answer(request, principal, kind)


@router.post("/sources/segment/{rest:path}", include_in_schema=False)
async def segment_wrong_path(*, request: Request, principal: SegmentWrite, rest: str) -> Any:
    """Any other path under the source (a library given ``host=.../segment/v1`` posts to
    ``.../v1/v1/batch``): a 404 that says which host to give; a trailing slash (a webhook
    destination's URL written so) is the source itself."""
    if not rest.strip("/"):
        return await _answer(request, principal, None)
    raise NotFoundError(f"/api/v1/sources/segment/{rest}: not a Segment path; give a Segment "
                        "library host=<server>/api/v1/sources/segment (it adds /v1/batch "
                        "itself), or post to /api/v1/sources/segment/v1/<"
                        f"{'|'.join(SEGMENT_LIBRARY_PATHS)}>")


class _Refused(OutsideInError):
    """A body refused with *status* (413: too large once inflated; 415: an encoding the
    source does not read), not the usual 422: answered by the app's error handler."""

    def __init__(self, status: int, detail: str, title: str) -> None:
        super().__init__(detail)
        self.http_status, self.title = status, title


async def _answer(request: Request, principal: Principal, kind: str | None) -> Any:
    body = await _body(request)
    if kind not in (None, "batch", "import") and isinstance(body, dict) and "type" not in body:
        body = {**body, "type": kind}  # Segment's HTTP API: the path says the type
    return await _segment(request, principal, body)


async def _body(request: Request) -> Any:
    """The JSON body, inflated first when sent with ``Content-Encoding: gzip`` (the
    libraries' ``gzip=True``), up to :data:`MAX_INFLATED` bytes."""
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return await _json_body(request)
    if encoding not in ("gzip", "x-gzip"):
        raise _Refused(415, f"Content-Encoding {encoding!r}: the Segment source reads gzip or "
                            "no encoding; send the JSON plain or gzipped",
                       "Unsupported content encoding")
    raw = _inflate(await request.body())
    try:
        return orjson.loads(raw)
    except ValueError as exc:
        raise DataValidationError(f"body: not valid JSON once inflated ({exc})") from exc


def _inflate(data: bytes) -> bytes:
    """*data* inflated: every gzip member (RFC 1952 lets a body hold several), at most
    :data:`MAX_INFLATED` bytes; cut-short data or bytes after the end are refused."""
    out = bytearray()
    rest, member = data, 0
    while True:
        inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            out += inflate.decompress(rest, MAX_INFLATED + 1 - len(out))
        except zlib.error as exc:
            where = "sent as gzip but not gzip" if not member else (
                f"the bytes after gzip member {member} are not gzip")
            raise DataValidationError(f"body: {where} ({exc})") from exc
        if len(out) > MAX_INFLATED or inflate.unconsumed_tail:
            raise _Refused(413, f"the request body is more than {MAX_INFLATED // 2**20} MB "
                                "once inflated; send smaller batches", "Content too large")
        if not inflate.eof:
            raise DataValidationError(f"body: the gzip data is cut short ({len(data):,} bytes "
                                      "came); send the whole body")
        rest, member = inflate.unused_data, member + 1
        if not rest:
            return bytes(out)


async def _segment(request: Request, principal: Principal, body: Any) -> Any:
    items = _segment_messages(body)
    if len(items) > MAX_BATCH:
        raise DataValidationError(f"batch: {len(items)} messages; send at most {MAX_BATCH}")
    mapping = segment_mapping(request.app.state.ws.config.extra.get("sense", {}).get("segment"))
    good: list[tuple[int, EventIn]] = []
    bad: list[EventResultOut] = []
    ignored: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        eid = item.get("messageId") if isinstance(item, dict) else None
        eid = eid if isinstance(eid, str) else None
        try:
            event = from_segment(item, mapping)
        except DataValidationError as exc:
            field, _, text = str(exc).partition(": ")
            bad.append(EventResultOut(index=i, event_id=eid, status="rejected",
                                      errors=[field_error(field, text)]))
            continue
        if isinstance(event, Ignored):  # Segment retries a 4xx: normal traffic gets a 2xx
            ignored.append({"index": i, "event_id": eid, "status": "ignored", "decision": None,
                            "errors": None, "note": event.reason})
        else:
            good.append((i, event))
    answer = await _apply(request, principal, good, bad, "segment", id_field="messageId",
                          index_in_detail=len(items) > 1 or "batch" in body,
                          ignored=len(ignored))
    if not isinstance(answer, dict):  # a problem: nothing accepted
        return answer
    if ignored:
        answer["results"] = sorted(answer["results"] + ignored, key=lambda r: r["index"])
    return {**answer, "ignored": len(ignored)}
