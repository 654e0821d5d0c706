"""Segment-spec messages as sense-and-respond events (``POST /api/v1/sources/segment``).

Teams whose events already flow through a customer-data platform point a webhook
destination at Outside-In.  A message (``track``, ``page``, ``screen``, ``identify``, or a
``batch`` of them, as the Segment spec writes them) becomes one
:class:`~outsidein.services.sense.events.EventIn`:

- ``event_id`` = ``messageId`` (Segment retries with the same id: applied once);
- ``customer_id`` = ``userId``, else ``anonymousId``;
- ``ts`` = ``timestamp`` (else ``originalTimestamp``, ``sentAt``, ``receivedAt``);
- ``type``: ``page`` and ``screen`` are a ``visit``; a ``track`` message's ``event`` name is
  looked up in the mapping (Segment's e-commerce names by default, :data:`DEFAULT_EVENTS`,
  extended or overridden by ``[sense.segment.events]`` in ``outsidein.toml``); a name not
  mapped keeps its own name in snake case (it counts as activity, adds no stage evidence);
  ``identify`` is stored as ``identify`` with its traits;
- ``channel``: ``properties.channel``, else ``mobile`` for ``screen`` or a mobile library,
  else ``[sense.segment] channel`` (default ``web``);
- ``product_id`` = ``properties.product_id``; ``attributes`` = ``properties`` (or ``traits``).

>>> e = from_segment({"type": "track", "event": "Product Added", "messageId": "m1",
...                   "userId": "C1", "timestamp": "2026-03-02T10:00:00Z",
...                   "properties": {"product_id": "P9"}})
>>> e.type, e.channel, e.product_id
('cart_add', 'web', 'P9')
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from outsidein.errors import ConfigError, DataValidationError
from outsidein.services.sense.events import EventIn

__all__ = ["DEFAULT_EVENTS", "SegmentMapping", "from_segment", "segment_mapping"]

#: Segment's e-commerce and common event names -> interaction types.
DEFAULT_EVENTS: dict[str, str] = {
    "Products Searched": "search", "Product List Viewed": "product_view",
    "Product Viewed": "product_view", "Product Clicked": "product_view",
    "Product Added": "cart_add", "Cart Viewed": "cart_add", "Checkout Started": "cart_add",
    "Order Completed": "checkout", "Product Reviewed": "review",
    "Email Opened": "email_open", "Email Link Clicked": "email_click",
    "Unsubscribed": "unsubscribe", "Complaint Filed": "complaint",
    "Support Ticket Created": "support_call", "Pricing Viewed": "pricing_view",
}
_CODE = re.compile(r"[^a-z0-9]+")


class SegmentMapping:
    """Event names -> types and the default channel (from ``[sense.segment]``)."""

    def __init__(self, events: Mapping[str, str] | None = None, channel: str = "web") -> None:
        self.events = {**DEFAULT_EVENTS, **dict(events or {})}
        self.channel = channel


def segment_mapping(section: Mapping[str, Any] | None, source: str = "outsidein.toml"
                    ) -> SegmentMapping:
    """The mapping of a ``[sense.segment]`` section (``events`` table, ``channel``)."""
    section = section or {}
    events = section.get("events", {})
    if not isinstance(events, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in events.items()):
        raise ConfigError(f"{source}: [sense.segment.events] must map event names to "
                          "interaction types, e.g. \"Product Added\" = \"cart_add\"")
    channel = section.get("channel", "web")
    if not isinstance(channel, str) or not channel:
        raise ConfigError(f"{source}: [sense.segment] channel must be a channel name, "
                          "e.g. \"web\"")
    return SegmentMapping(events, channel)


def _snake(name: str) -> str:
    return _CODE.sub("_", name.strip().lower()).strip("_")[:60] or "event"


def _time(message: Mapping[str, Any]) -> datetime:
    for field in ("timestamp", "originalTimestamp", "sentAt", "receivedAt"):
        value = message.get(field)
        if isinstance(value, str) and value:
            try:
                ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError as exc:
                raise DataValidationError(f"{field}: {value!r} is not an ISO 8601 time") from exc
            if ts.tzinfo is None:
                raise DataValidationError(f"{field}: {value!r} has no time zone")
            return ts
    raise DataValidationError("timestamp: required (or originalTimestamp, sentAt, receivedAt)")


def from_segment(message: Any, mapping: SegmentMapping | None = None) -> EventIn:
    """One Segment message as an event; :class:`DataValidationError` names the field."""
    mapping = mapping or SegmentMapping()
    if not isinstance(message, Mapping):
        raise DataValidationError("(message): expected a JSON object")
    kind = message.get("type")
    if kind not in ("track", "page", "screen", "identify"):
        raise DataValidationError(f"type: {kind!r}; expected track, page, screen, identify "
                                  "(or send them in a batch)")
    event_id = message.get("messageId")
    if not isinstance(event_id, str) or not event_id or len(event_id) > 200:
        raise DataValidationError("messageId: required, text of 1 to 200 characters")
    who = message.get("userId") or message.get("anonymousId")
    if not isinstance(who, str | int) or isinstance(who, bool) or not str(who):
        raise DataValidationError("userId: required (or anonymousId)")
    props = message.get("traits" if kind == "identify" else "properties") or {}
    if not isinstance(props, Mapping):
        raise DataValidationError("properties: expected a JSON object")
    if kind == "track":
        name = message.get("event")
        if not isinstance(name, str) or not name:
            raise DataValidationError("event: required for a track message")
        typ = mapping.events.get(name) or _snake(name)
    else:
        typ = "visit" if kind in ("page", "screen") else "identify"
    library = str(((message.get("context") or {}).get("library") or {}).get("name", ""))
    channel = props.get("channel")
    if not isinstance(channel, str) or not channel:
        mobile = kind == "screen" or "ios" in library or "android" in library
        channel = "mobile" if mobile else mapping.channel
    product = props.get("product_id")
    return EventIn(event_id=event_id, customer_id=str(who)[:200], ts=_time(message),
                   channel=_snake(channel)[:40], type=typ,
                   product_id=str(product)[:200] if product is not None else None,
                   attributes=dict(props))
