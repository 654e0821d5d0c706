"""What an event must be to be accepted, one home for the events API and the Segment source.

A ``channel`` of :data:`EVENT_CHANNELS`, a ``type`` of :data:`EVENT_TYPES` (the engine's
interaction types, then the outcome types it learns from), ids that are not blank, and a
``ts`` from :data:`EARLIEST_TS` (1970-01-01 UTC) to :data:`MAX_AHEAD` (1 day) after the
server's clock: history may be backfilled, the future may not (a ``ts`` years ahead would
hold the customer's messages back until then).  Each check says why in words, naming what
is accepted.  (Split from :mod:`outsidein.services.sense.events`, which re-exports it.)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

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
    def ts_utc(self) -> datetime: ...

__all__ = ["CONTENT_FIELDS", "EARLIEST_TS", "EVENT_CHANNELS", "EVENT_TYPES", "MAX_AHEAD",
           "PROFILE_TYPES", "TS_RANGE", "all_accepted", "blank_problem", "channel_problem",
           "content", "differs", "epoch_of", "event_problems", "reused", "ts_problem",
           "type_problem"]

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


def all_accepted(events: Iterable[EventIn], now: datetime | None = None) -> bool:
    """Whether every event passes :func:`event_problems` (the usual case, checked in one loop
    at about 0.6 us an event: the events API's batches)."""
    hi = (now or datetime.now(UTC)).timestamp() + _MAX_AHEAD_S
    channels, types = _CHANNEL_SET, _TYPE_SET
    for e in events:
        if not (0.0 <= epoch_of(e.ts) <= hi and e.channel in channels and e.type in types
                and e.event_id.strip() and e.customer_id.strip()):
            return False
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
