"""What an event must be to be accepted, one home for the events API and the Segment source.

A ``channel`` of :data:`EVENT_CHANNELS`, a ``type`` of :data:`EVENT_TYPES` (the engine's
interaction types, then the outcome types it learns from), ids that are not blank, and a
``ts`` from :data:`EARLIEST_TS` (1970-01-01 UTC) to :data:`MAX_AHEAD` (1 day) after the
server's clock: history may be backfilled, the future may not (a ``ts`` years ahead would
hold the customer's messages back until then).  Each check says why in words, naming what
is accepted.  (Split from :mod:`outsidein.services.sense.events`, which re-exports it.)

The attributes the contact policy reads (:data:`CONTACT_ATTRIBUTES`) are checked too: a
``timezone`` that is not an IANA zone, a ``consent`` that is not a list of channels or a
``preferred_channel`` that is not a channel is refused, naming ``attributes.<name>``; kept,
a zone no one knows failed every later event of the customer (quiet hours read it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from outsidein.sense.stages import CHANNELS, INTERACTION_TYPES, OUTCOME_TYPES


class EventIn(Protocol):
    """What the checks read of an event (:class:`outsidein.services.sense.events.EventIn`;
    named here, not imported: that module imports this one)."""

    @property
    def event_id(self) -> str: ...
    @property
    def customer_id(self) -> str: ...
    @property
    def ts(self) -> datetime: ...
    @property
    def channel(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def product_id(self) -> str | None: ...
    @property
    def attributes(self) -> Mapping[str, Any]: ...
    @property
    def ts_utc(self) -> datetime: ...

__all__ = ["CONTACT_ATTRIBUTES", "CONTENT_FIELDS", "EARLIEST_TS", "EVENT_CHANNELS",
           "EVENT_TYPES", "MAX_AHEAD", "PROFILE_TYPES", "TS_RANGE", "all_accepted",
           "attribute_problems", "blank_problem", "channel_problem", "content", "differs",
           "epoch_of", "event_problems", "known_zone", "reused", "ts_problem", "type_problem",
           "zone_problem"]

#: Channels an event may name (the engine's, :data:`~outsidein.sense.stages.CHANNELS`).
EVENT_CHANNELS: tuple[str, ...] = CHANNELS
#: Events that tell who the customer is, not what they do: ``identify`` (Segment's; its
#: traits as attributes: ``first_name``, ``consent``, ``timezone``, ``preferred_channel``).
#: They update the customer's facts and ask for no message; they are not an interaction.
PROFILE_TYPES: tuple[str, ...] = ("identify",)
#: Types an event may name: the engine's interaction types, then the outcome types it
#: learns from (a click or a purchase) that are not among them, then :data:`PROFILE_TYPES`.
EVENT_TYPES: tuple[str, ...] = (*INTERACTION_TYPES,
                                *(t for t in OUTCOME_TYPES if t not in INTERACTION_TYPES),
                                *PROFILE_TYPES)
_CHANNEL_SET, _TYPE_SET = frozenset(EVENT_CHANNELS), frozenset(EVENT_TYPES)
#: The earliest ``ts`` accepted.
EARLIEST_TS = datetime(1970, 1, 1, tzinfo=UTC)
#: How far after the server's clock a ``ts`` may be (the senders' clock skew).
MAX_AHEAD = timedelta(days=1)
_MAX_AHEAD_S = MAX_AHEAD.total_seconds()
#: The accepted range of ``ts``, in words.
TS_RANGE = ("accepted: from 1970-01-01T00:00:00Z to 1 day after the server's clock (history "
            "may be backfilled, the future may not)")


def epoch_of(ts: datetime) -> float:
    """*ts* (aware, or naive UTC) in seconds since 1970: an aware time's own reading, with
    no conversion to UTC (which overflows at the ends of the calendar).

    >>> epoch_of(datetime(2026, 1, 1)), epoch_of(datetime(2026, 1, 1, 1, tzinfo=UTC))
    (1767225600.0, 1767229200.0)
    """
    return (ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)).timestamp()


def ts_problem(ts: datetime, now: datetime | None = None) -> str | None:
    """Why *ts* (aware, or naive UTC) is not accepted, or ``None`` (*now*: the server's clock).

    >>> ts_problem(datetime(3000, 1, 1, tzinfo=UTC)).split(" (")[0]
    "3000-01-01T00:00:00+00:00 is more than 1 day after the server's clock"
    >>> ts_problem(datetime(2026, 3, 2, 10, tzinfo=UTC)) is None
    True
    """
    seconds = epoch_of(ts)  # one call: an aware comparison costs as much
    if seconds < 0.0:
        return f"{ts.isoformat()} is before 1970-01-01; {TS_RANGE}"
    now = now or datetime.now(UTC)
    if seconds > now.timestamp() + _MAX_AHEAD_S:
        return (f"{ts.isoformat()} is more than 1 day after the server's clock "
                f"({now.isoformat(timespec='seconds')}); {TS_RANGE}")
    return None


def channel_problem(channel: str) -> str | None:
    """Why *channel* is not accepted, or ``None``."""
    if channel in _CHANNEL_SET:
        return None
    return f"{channel!r} is not a channel; expected one of {', '.join(EVENT_CHANNELS)}"


def type_problem(type_: str) -> str | None:
    """Why *type_* is not accepted, or ``None``."""
    if type_ in _TYPE_SET:
        return None
    return f"{type_!r} is not an event type; expected one of {', '.join(EVENT_TYPES)}"


def blank_problem(value: str) -> str | None:
    """Why the id *value* is not accepted (empty or only white space), or ``None``."""
    if value.strip():
        return None
    return f"{value!r} is blank; expected an id that is not only white space"


#: Event attributes the contact policy reads (checked by :func:`attribute_problems`).
CONTACT_ATTRIBUTES = frozenset({"timezone", "consent", "preferred_channel"})


@lru_cache(maxsize=1024)
def known_zone(name: str) -> bool:
    """Whether *name* is an IANA time zone this machine knows (``Europe/Paris``).

    >>> known_zone("Europe/Paris"), known_zone("Mars/Olympus"), known_zone("")
    (True, False, False)
    """
    if not name or name != name.strip():
        return False
    try:
        ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError
        return False
    return True


def zone_problem(value: Any) -> str | None:
    """Why *value* is not a time zone (``None`` is: the zone is not known), or ``None``."""
    if value is None or isinstance(value, str) and known_zone(value):
        return None
    return (f"{value!r} is not a time zone; expected an IANA name such as Europe/Paris or "
            "America/New_York")


def attribute_problems(attributes: Mapping[str, Any], prefix: str = "attributes"
                       ) -> list[tuple[str, str]]:
    """Each contact attribute (:data:`CONTACT_ATTRIBUTES`) of *attributes* that the contact
    policy could not use, and why, the field named ``<prefix>.<name>``.

    >>> attribute_problems({"consent": ["email", "sms"], "first_name": "Ada"})
    [('attributes.consent', "'sms' is not a channel; expected one of store, call_center, web,
    email, mobile, chat, social")]
    """
    found: list[tuple[str, str]] = []
    if (problem := zone_problem(attributes.get("timezone"))) is not None:
        found.append((f"{prefix}.timezone", problem))
    if "consent" in attributes:
        consent = attributes["consent"]
        if not isinstance(consent, list) or not all(isinstance(x, str) for x in consent):
            found.append((f"{prefix}.consent", f"{consent!r} is not a list of channels; "
                          'expected e.g. ["email", "web"] ([] withdraws every channel)'))
        elif bad := next((p for x in consent if (p := channel_problem(x))), None):
            found.append((f"{prefix}.consent", bad))
    pref = attributes.get("preferred_channel")
    if pref is not None and (problem := channel_problem(pref if isinstance(pref, str)
                                                        else repr(pref))):
        found.append((f"{prefix}.preferred_channel", problem))
    return found


def all_accepted(events: Iterable[EventIn], now: datetime | None = None) -> bool:
    """Whether every event passes :func:`event_problems` (the usual case, checked in one loop
    at about 0.6 us an event: the events API's batches)."""
    hi = (now or datetime.now(UTC)).timestamp() + _MAX_AHEAD_S
    channels, types, contact = _CHANNEL_SET, _TYPE_SET, CONTACT_ATTRIBUTES
    for e in events:
        if not (0.0 <= epoch_of(e.ts) <= hi and e.channel in channels and e.type in types
                and e.event_id.strip() and e.customer_id.strip()):
            return False
        if e.attributes and not contact.isdisjoint(e.attributes):
            return False  # rare: the contact attributes are checked one by one
    return True


def event_problems(event: EventIn, now: datetime | None = None) -> list[tuple[str, str]]:
    """Each field of *event* that is not accepted and why (``[]``: accepted); *now* is the
    server's clock (pass it once for a batch: about 0.5 us an event).

    >>> from outsidein.services.sense.events import EventIn
    >>> event_problems(EventIn("e1", "C1", datetime(2026, 1, 1), "carrier_pigeon", "visit"))
    [('channel', "'carrier_pigeon' is not a channel; expected one of store, call_center, web,
    email, mobile, chat, social")]
    """
    found = [(name, problem) for name, problem in (
        ("event_id", blank_problem(event.event_id)),
        ("customer_id", blank_problem(event.customer_id)),
        ("ts", ts_problem(event.ts, now)),
        ("channel", channel_problem(event.channel)),
        ("type", type_problem(event.type))) if problem]
    if event.attributes:
        found += attribute_problems(event.attributes)
    return found


#: What makes two events with one ``event_id`` the same event.
CONTENT_FIELDS = ("customer_id", "ts", "channel", "type", "product_id")


def content(e: EventIn) -> tuple[Any, ...]:
    """*e*'s :data:`CONTENT_FIELDS` (as stored: ``ts`` in UTC)."""
    return e.customer_id, e.ts_utc, e.channel, e.type, e.product_id


def differs(a: Sequence[Any], b: Sequence[Any]) -> list[str]:
    """The :data:`CONTENT_FIELDS` in which two :func:`content` tuples differ."""
    return [name for name, x, y in zip(CONTENT_FIELDS, a, b, strict=True) if x != y]


def reused(fields: list[str]) -> str:
    """Why an ``event_id`` sent again with other *fields* is refused, in words."""
    verb = "differs" if len(fields) == 1 else "differ"
    return (f"already used for another event (its {', '.join(fields)} {verb}); a retry "
            "must send the event as first sent, a new event needs a new id")
