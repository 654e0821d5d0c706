"""The Segment source: Segment-spec messages in, through the same engine as the events API.

``POST /api/v1/sources/segment`` is a webhook destination's address (``track``, ``page``,
``screen``, ``identify``, ``batch``); ``POST /api/v1/sources/segment/v1/<kind>`` are the
paths Segment's own libraries post to when given ``host=<server>/api/v1/sources/segment``
(and compatible senders: RudderStack, Jitsu).  The key is an API key with scope
``events:write``, as ``Authorization: Bearer <key>`` or as HTTP Basic credentials with the
key as the user name (what the libraries send with their write key).  Event names map to
interaction types through ``[sense.segment]`` (:mod:`outsidein.services.sense.segment`).
"""

from __future__ import annotations

import zlib
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request

from outsidein.errors import DataValidationError, NotFoundError
from outsidein.services.sense.events import EventIn
from outsidein.services.sense.segment import Ignored, from_segment, segment_mapping
from outsidein.web.auth import Principal, Require
from outsidein.web.problems import API_ERROR_RESPONSES, field_error
from outsidein.web.routes.sense import (
    MAX_BATCH,
    EventResultOut,
    SegmentOut,
    _apply,
    _json_body,
)

router = APIRouter(prefix="/api/v1", responses=API_ERROR_RESPONSES)
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
    return await _segment(request, principal, await _body(request))


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
    body = await _body(request)
    if kind not in ("batch", "import") and isinstance(body, dict) and "type" not in body:
        body = {**body, "type": kind}  # Segment's HTTP API: the path says the type
    return await _segment(request, principal, body)


async def _body(request: Request) -> Any:
    """The JSON body, inflated first when sent with ``Content-Encoding: gzip`` (the
    libraries' ``gzip=True``), up to :data:`MAX_INFLATED` bytes."""
    if request.headers.get("content-encoding", "").strip().lower() != "gzip":
        return await _json_body(request)
    inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        raw = inflate.decompress(await request.body(), MAX_INFLATED)
    except zlib.error as exc:
        raise DataValidationError(f"body: sent as gzip but not gzip ({exc})") from exc
    if inflate.unconsumed_tail:
        raise DataValidationError(f"body: more than {MAX_INFLATED // 2**20} MB once inflated; "
                                  "send smaller batches")
    try:
        return orjson.loads(raw)
    except ValueError as exc:
        raise DataValidationError(f"body: not valid JSON ({exc})") from exc


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
