"""Segment-spec messages as sense-and-respond events (``POST /api/v1/sources/segment``).

Teams whose events already flow through a customer-data platform point a webhook
destination at Outside-In.  A message (``track``, ``page``, ``screen``, or a ``batch`` of
messages, as the Segment spec writes them) becomes one
:class:`~outsidein.services.sense.events.EventIn`:

- ``event_id`` = ``messageId`` (Segment retries with the same id: applied once; the same id
  for another event is refused);
- ``customer_id`` = ``userId``, else ``anonymousId``;
- ``ts`` = ``timestamp`` (else ``originalTimestamp``, ``sentAt``, ``receivedAt``), in the
  range the events API accepts (:func:`~outsidein.services.sense.checks.ts_problem`);
- ``type``: ``page`` and ``screen`` are a ``visit``; a ``track`` message's ``event`` name is
  looked up in the mapping (Segment's e-commerce names by default, :data:`DEFAULT_EVENTS`,
  extended or overridden by ``[sense.segment.events]`` in ``outsidein.toml``, whose types
  must be the engine's);
- ``channel``: ``properties.channel``, else ``email`` for Segment's email events
  (:data:`EMAIL_EVENTS`) and email opens and clicks, else ``mobile`` for ``screen`` or a
  phone (a mobile library, or ``context.os.name`` iOS or Android), else
  ``[sense.segment] channel`` (default ``web``);
- ``product_id`` = ``properties.product_id``; ``attributes`` = ``properties``.

An ``identify`` becomes an event of type ``identify`` (not an interaction: it moves no
evidence and asks for no message) whose attributes are its ``traits``: the customer's
``first_name`` (or ``firstName``, ``name``) for the messages, and ``consent``, ``timezone``
and ``preferred_channel`` for the contact policy (a zone, consent or channel the policy
could not use is refused, naming ``traits.<name>``, as the events API does).  Segment's
other calls are normal traffic, not interactions: ``alias`` (identities) and ``group``
(accounts), and a ``track`` name that is not mapped, are :class:`Ignored` with the reason
(the source answers them with a 2xx that says so: Segment retries a 4xx or 5xx and logs it
as an error).

>>> e = from_segment({"type": "track", "event": "Product Added", "messageId": "m1",
...                   "userId": "C1", "timestamp": "2026-03-02T10:00:00Z",
...                   "properties": {"product_id": "P9"}})
>>> e.type, e.channel, e.product_id
('cart_add', 'web', 'P9')
>>> from_segment({"type": "alias", "messageId": "m2", "userId": "C1", "previousId": "a1"})
Ignored(reason='alias: links two identities of a user, not an interaction; nothing stored')
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

import orjson

from outsidein.errors import ConfigError, DataValidationError
from outsidein.services.sense.checks import (
    attribute_problems,
    blank_problem,
    channel_problem,
    ts_problem,
    type_problem,
)
from outsidein.services.sense.events import EventIn

__all__ = ["DEFAULT_EVENTS", "EMAIL_EVENTS", "Ignored", "SegmentMapping", "from_segment",
           "segment_mapping"]

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
#: Segment's email events (its spec's "Email" events): they happened on channel ``email``.
EMAIL_EVENTS = frozenset({"Email Bounced", "Email Delivered", "Email Link Clicked",
                          "Email Marked as Spam", "Email Opened", "Unsubscribed"})
_EMAIL_TYPES = frozenset({"email_open", "email_click"})
#: Segment calls that are not interactions, and why.
_NOT_INTERACTIONS = {
    "alias": "links two identities of a user, not an interaction; nothing stored",
    "group": "ties a user to a group or account, not an interaction; nothing stored",
}


class Ignored(NamedTuple):
    """A message acknowledged but not applied, and why."""

    reason: str


#: ``context.os.name`` / ``context.device.type`` of a phone (Segment's mobile libraries)
_PHONE_SYSTEMS = frozenset({"ios", "ipados", "android"})
_CODE = re.compile(r"[^a-z0-9]+")
_CONTROL = re.compile(r"[\x00-\x1f]")


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
    for name, typ in events.items():
        if problem := type_problem(typ):
            raise ConfigError(f"{source}: [sense.segment.events] {name!r}: {problem}")
    channel = section.get("channel", "web")
    if not isinstance(channel, str) or not channel or channel_problem(channel):
        raise ConfigError(f"{source}: [sense.segment] channel must be a channel name, "
                          f"e.g. \"web\" ({channel_problem(str(channel))})")
    return SegmentMapping(events, channel)


def _snake(name: str) -> str:
    return _CODE.sub("_", name.strip().lower()).strip("_")[:60] or "event"


def _time(message: Mapping[str, Any]) -> datetime:
    for field in ("timestamp", "originalTimestamp", "sentAt", "receivedAt"):
        value = message.get(field)
        if value is not None and not isinstance(value, str):  # given, so not skipped for another
            raise DataValidationError(f"{field}: {_shown(value)} is not a time; expected ISO "
                                      "8601 text with its zone, e.g. 2026-03-02T10:00:00Z (a "
                                      "number is not read as seconds since 1970)")
        if value:
            try:
                ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError as exc:
                raise DataValidationError(f"{field}: {value!r} is not an ISO 8601 time") from exc
            if ts.tzinfo is None:
                raise DataValidationError(f"{field}: {value!r} has no time zone")
            if problem := ts_problem(ts):
                raise DataValidationError(f"{field}: {problem}")
            return ts
    raise DataValidationError("timestamp: required (or originalTimestamp, sentAt, receivedAt)")


def from_segment(message: Any, mapping: SegmentMapping | None = None) -> EventIn | Ignored:
    """One Segment message as an event, or :class:`Ignored` with the reason (a call that is
    not an interaction, a ``track`` name not mapped); :class:`DataValidationError` names
    the field."""
    mapping = mapping or SegmentMapping()
    if not isinstance(message, Mapping):
        raise DataValidationError("(message): expected a JSON object")
    kind = message.get("type")
    if isinstance(kind, str) and kind in _NOT_INTERACTIONS:
        return Ignored(f"{kind}: {_NOT_INTERACTIONS[kind]}")
    if kind not in ("track", "page", "screen", "identify"):
        got = "required" if kind is None else f"got {_shown(kind)}"
        raise DataValidationError(f"type: {got}; expected track, page, screen, identify, "
                                  "alias or group (or send them in a batch)")
    name = message.get("event")
    if kind == "track":
        if name is not None and not isinstance(name, str):
            raise DataValidationError(f"event: expected the event's name as text, got "
                                      f"{_shown(name)}")
        if not name:
            raise DataValidationError("event: required for a track message")
        if name not in mapping.events:
            return Ignored(f"event: {name!r} is not mapped to an interaction type; nothing "
                           "stored (map it in [sense.segment.events] in outsidein.toml, e.g. "
                           f"{name!r} = \"product_view\")")
    event_id = message.get("messageId")
    if event_id is not None and not isinstance(event_id, str):
        raise DataValidationError(f"messageId: expected text of 1 to 200 characters, got "
                                  f"{_shown(event_id)}")
    if not event_id or len(event_id) > 200:
        raise DataValidationError("messageId: required, text of 1 to 200 characters")
    if problem := _id_problem(event_id):
        raise DataValidationError(f"messageId: {problem}")
    field, who = next(((f, v) for f in ("userId", "anonymousId")
                       if (v := message.get(f)) is not None and v != ""), ("userId", None))
    if who is None:
        raise DataValidationError("userId: required (or anonymousId)")
    if not isinstance(who, str | int) or isinstance(who, bool):
        raise DataValidationError(f"{field}: expected an id (text or a whole number), got "
                                  f"{_shown(who)}")
    if problem := _id_problem(str(who)):
        raise DataValidationError(f"{field}: {problem}")
    where = "traits" if kind == "identify" else "properties"
    props = message.get(where) or {}
    if not isinstance(props, Mapping):
        raise DataValidationError(f"{where}: expected a JSON object")
    if found := attribute_problems(props, where):
        field, problem = found[0]
        raise DataValidationError(f"{field}: {problem}")
    product = props.get("product_id")
    if product is not None and (not isinstance(product, str | int) or isinstance(product, bool)
                                or _id_problem(str(product))):
        raise DataValidationError("properties.product_id: expected an id (text or a whole "
                                  "number) of 1 to 200 characters, no control characters")
    context = message.get("context") or {}
    if not isinstance(context, Mapping):
        raise DataValidationError("context: expected a JSON object")
    lib = context.get("library") or {}
    library = str(lib.get("name", "")) if isinstance(lib, Mapping) else ""
    typ = (mapping.events[str(name)] if kind == "track"
           else "identify" if kind == "identify" else "visit")
    channel = props.get("channel")
    if isinstance(channel, str) and channel:
        channel = _snake(channel)[:40]
        if problem := channel_problem(channel):
            raise DataValidationError(f"properties.channel: {problem}")
    elif name in EMAIL_EVENTS or typ in _EMAIL_TYPES:
        channel = "email"
    else:
        mobile = kind == "screen" or _on_a_phone(library, context)
        channel = "mobile" if mobile else mapping.channel
    return EventIn(event_id=event_id, customer_id=str(who), ts=_time(message),
                   channel=channel, type=typ,
                   product_id=str(product) if product is not None else None,
                   attributes=dict(props))


def _on_a_phone(library: str, context: Mapping[str, Any]) -> bool:
    """Whether a message came from a phone app: a mobile library (Segment's older
    analytics-ios/-android, and analytics-swift, Apple's only) or, for the libraries that
    also run on servers (analytics-kotlin, React Native, Flutter), the device's system as
    ``context.os.name`` or ``context.device.type`` tells it."""
    name = library.lower()
    if any(m in name for m in ("ios", "android", "swift")):
        return True
    found = [part.get(key) for part, key in ((context.get("os"), "name"),
                                             (context.get("device"), "type"))
             if isinstance(part, Mapping)]
    return any(isinstance(v, str) and v.strip().lower() in _PHONE_SYSTEMS for v in found)


def _shown(value: Any) -> str:
    """*value* as the sender wrote it (JSON, not Python's repr), cut to 60 characters."""
    try:
        text = orjson.dumps(value).decode()
    except TypeError:
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _id_problem(value: str) -> str | None:
    """Why an id is not accepted (as the events API: 1 to 200 characters, no control
    characters, not blank), or ``None``."""
    if len(value) > 200:
        return f"{len(value)} characters; at most 200"
    if _CONTROL.search(value):
        return "contains a control character"
    return blank_problem(value)
