"""The sweep of silence: stages that change while the customer says nothing.

A customer's stage is sensed when one of their events arrives; one who goes quiet would
stay in the stage of their last event for ever, though their evidence fades and the silence
pulls them to at risk, then lapsed.  :func:`sweep_silence` senses that.

* **A stage change by silence is an event.**  For each customer due a look, the exact times
  their stage changes under silence are found with the pure scorer
  (:func:`outsidein.sense.silence.next_stage_change`), and each one up to the sweep's clock
  is applied as an event of type ``"silence"`` (source ``"sweep"``, id
  ``silence:<customer>:<time>``, so two sweeps never apply it twice) through
  :func:`~outsidein.services.sense.events.apply_events` with the workspace's decider: its
  decision (stage, need, the message chosen under the contact policy: a retention message
  for at risk), the outbox entry and the journey entry come as for any event.  It adds no
  evidence (:meth:`EvidenceScorer.update` leaves the state as it is), tells nothing about
  contact (no consent, no engagement) and is no response to a message (not an outcome
  type); a message whose window has passed by then is scored as ignored, as the outcome
  sweep would.  Its channel is the customer's last interaction's: the silence is since
  then, and the contact policy tries that channel first, where the customer was last
  seen.  With the learned stage model (``[sense] stage_model = "classifier"``) the times
  are still the scorer's (the classifier has no closed form over time); at each, the
  classifier is asked about the history as of then without an interaction
  (:meth:`~outsidein.sense.sequence.LiveStageClassifier.sense`), so its stage may stay.
* **When to look.**  :func:`~outsidein.services.sense.events.apply_events` stores
  ``resense_at`` (epoch seconds: a number costs the events path nothing to make) = the
  customer's latest evidence + :data:`FIRST_LOOK_S` (an hour: a
  customer still active is not looked at; with the default half-lives no stage fades
  within hours).  The sweep reads the customers whose ``resense_at`` has come (indexed),
  applies the changes due and stores the time of the next one (``NULL``: the stage never
  changes again without an event, e.g. lapsed).
* **The sweep's clock** is the newest event's ``ts`` in ``sense_events``, not the wall
  clock: the demo's and CDNOW's histories are years old, and a store that hears nothing
  does not age (history posted late is sensed as of its own time, like every event).

Who runs it: the web app's event writer every minute beside the outcome sweep
(:func:`housekeeping`), ``outsidein sense sweep``, and ``outsidein sense replay`` at the end
of the history (so the stored stages, the Sense page's funnel and the journeys agree with
the replay's end-of-history table).  A replay also applies, before each customer's next
event, the changes that fell since their last one (:func:`silences_before`, the search
bounded by that event's time), so its journeys show at risk and lapsed between two
purchases far apart, as a live server's sweep every minute would have.

>>> event_id("C1", datetime(1998, 6, 30))
'silence:C1:1998-06-30T00:00:00+00:00'
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from outsidein.sense.evidence import EvidenceScorer, EvidenceState
from outsidein.sense.silence import FIRST_LOOK_S, MAX_CHANGES, SILENCE, next_stage_change
from outsidein.services.sense.events import Decider, EventIn, Planner, apply_events
from outsidein.services.sense.respond import Responder
from outsidein.store.bulk import among
from outsidein.store.db import session_scope
from outsidein.store.models.sense import CustomerState, SenseEvent
from outsidein.workspace import Workspace

if TYPE_CHECKING:
    from rich.progress import Progress

__all__ = ["FIRST_LOOK_S", "LIVE_BATCH", "SILENCE_BATCH", "SOURCE", "SilenceSweep",
           "SweepClock",
           "event_id", "housekeeping", "silences_before", "sweep_silence", "sweep_silence_all",
           "sweep_silence_workspace"]

#: Customers looked at in one transaction at most.
SILENCE_BATCH = 2000
#: Customers the web app's event writer looks at per housekeeping round (a minute): the
#: round holds the writer (about 0.25-0.5 ms a customer on two cores), so a live events
#: API waits at most about a quarter of a second for it; 720,000 customers a day.  A
#: backlog (a store just upgraded, whose every customer is due) is for ``outsidein sense
#: sweep``, which runs to the end.
LIVE_BATCH = 500
#: ``sense_events.source`` of the silence events.
SOURCE = "sweep"
_ID_ROOM = 200  # sense_events.event_id's length

_STATES = cast(Table, CustomerState.__table__)
_EVENTS = cast(Table, SenseEvent.__table__)


@dataclass
class SilenceSweep:
    """What a sweep of silence did: customers looked at, customers whose stage changed by
    silence, silence events applied, and its clock (UTC, the newest event's time)."""

    looked: int = 0
    changed: int = 0
    events: int = 0
    as_of: str | None = None

    def add(self, other: SilenceSweep) -> SilenceSweep:
        self.looked += other.looked
        self.changed += other.changed
        self.events += other.events
        self.as_of = other.as_of or self.as_of
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def event_id(customer_id: str, ts: datetime) -> str:
    """The id of the silence event of *customer_id* at *ts* (naive UTC): the same for two
    sweeps, so it is applied once (a customer id too long for the column is hashed)."""
    when = ts.replace(tzinfo=UTC).isoformat()
    out = f"silence:{customer_id}:{when}"
    if len(out) > _ID_ROOM:
        out = f"silence:sha256:{hashlib.sha256(customer_id.encode()).hexdigest()}:{when}"
    return out


class SweepClock:
    """The sweep's clock: the newest event ``ts`` in the store (naive UTC; ``None`` before
    any event).  It remembers the newest it has seen and reads only the events added since
    (by id, with a margin for ids committed out of order on PostgreSQL), so a server's
    sweep every minute does not scan the whole log."""

    def __init__(self, margin: int = 10_000) -> None:
        self.margin = margin
        self._seen_id = 0
        self._newest: datetime | None = None

    def __call__(self, session: Session) -> datetime | None:
        since = max(self._seen_id - self.margin, 0)
        newest, top = session.execute(select(func.max(_EVENTS.c.ts), func.max(_EVENTS.c.id))
                                      .where(_EVENTS.c.id > since)).one()
        if top is not None:
            self._seen_id = max(self._seen_id, int(top))
        if newest is not None and (self._newest is None or newest > self._newest):
            self._newest = newest
        return self._newest


def _start(state: Mapping[str, Any], last: float) -> float:
    """When the customer's stored stage was sensed: their last silence event's time while
    no interaction came since (*last*: their latest evidence's time), else *last*."""
    mark = state.get("silence")
    if mark and mark[0] == last and mark[1] > last:
        return float(mark[1])
    return last


def _marking(decide: Decider) -> Decider:
    """*decide*, with the time of the silence kept in the state (the next look starts
    there), tied to the evidence it was found for."""
    def decide_silence(state: Mapping[str, Any] | None,
                       event: EventIn) -> tuple[dict[str, Any], dict[str, Any]]:
        new, fields = decide(state, event)
        ev = new.get("evidence") or {}
        return {**new, "silence": [ev.get("ts"), event.epoch]}, fields

    return decide_silence


def _looks(rows: Sequence[Any], scorer: EvidenceScorer, clock: float = math.inf, *,
           before: Mapping[str, float] | None = None
           ) -> Iterator[tuple[str, list[EventIn], float | None]]:
    """Per customer: the silence events due by *clock* and the time of the next change.

    With *before* (customer -> epoch seconds), each customer's are those strictly before
    their time there, where the search stops (its horizon; the next change is then only
    known up to it).
    """
    for customer_id, state in rows:
        state = state or {}
        raw = state.get("evidence")
        ev = EvidenceState.from_dict(raw) if raw else None
        if ev is None or ev.ts is None:
            yield customer_id, [], None
            continue
        horizon = None if before is None else before[customer_id]
        until = clock if horizon is None else math.nextafter(horizon, -math.inf)
        channel = ev.recent[-1][1] if ev.recent else "web"
        events: list[EventIn] = []
        t: float | None = _start(state, ev.ts)
        while True:
            t = next_stage_change(scorer, ev, t, horizon)  # type: ignore[arg-type]
            if t is None or t > until or len(events) >= MAX_CHANGES:
                break
            at = datetime.fromtimestamp(t, UTC).replace(tzinfo=None)
            events.append(EventIn(event_id(customer_id, at), customer_id, at, channel, SILENCE))
        yield customer_id, events, t


def _apply(session: Session, found: Sequence[tuple[str, list[EventIn], float | None]],
           decide: Decider, plan: Planner | None) -> SilenceSweep:
    """Apply the silence events *found* (:func:`_looks`) through the one events path; what
    was looked at and applied (a silence applied before is not applied again)."""
    events = [e for _, evs, _ in found for e in evs]
    results = apply_events(session, events, _marking(decide), source=SOURCE, plan=plan)
    applied = [e for e, r in zip(events, results, strict=True) if r.status == "applied"]
    return SilenceSweep(looked=len(found), changed=len({e.customer_id for e in applied}),
                        events=len(applied))


def sweep_silence(session: Session, decide: Decider, scorer: EvidenceScorer, *,
                  plan: Planner | None = None, as_of: datetime | None = None,
                  clock: Callable[[Session], datetime | None] | None = None,
                  limit: int = SILENCE_BATCH) -> SilenceSweep:
    """Apply the stage changes by silence of the customers due a look (see the module doc);
    at most *limit* customers (call again while ``looked`` is *limit*).

    Parameters
    ----------
    decide, plan
        The workspace's decider and planner (the live :class:`Responder` and its ``plan``;
        a replay's ``stage_decider`` and none).
    scorer
        The scorer whose stages change (the decider's).
    as_of
        The sweep's clock (naive UTC); default the newest event's ``ts`` (*clock*, default
        a fresh :class:`SweepClock`).

    Runs in the caller's write transaction (rows locked on PostgreSQL).
    """
    at = as_of or (clock or SweepClock())(session)
    if at is None:
        return SilenceSweep()
    t, epoch = _STATES, at.replace(tzinfo=UTC).timestamp()
    query = (select(t.c.customer_id, t.c.state).where(t.c.resense_at <= epoch)
             .order_by(t.c.resense_at, t.c.customer_id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    conn = session.connection()
    rows = conn.execute(query).all()
    found = list(_looks(rows, scorer, epoch))
    done = _apply(session, found, decide, plan)
    if found:  # after apply_events: it set the first look, this is the exact one
        conn.execute(update(t).where(t.c.customer_id == bindparam("b_customer_id")),
                     [{"b_customer_id": c, "resense_at": nxt} for c, _, nxt in found])
    done.as_of = at.replace(tzinfo=UTC).isoformat()
    return done


def silences_before(session: Session, decide: Decider, scorer: EvidenceScorer,
                    due: Mapping[str, float], *, plan: Planner | None = None) -> SilenceSweep:
    """Apply each customer's stage changes by silence that fall before the time *due* gives
    them (customer -> epoch seconds: their next event's), oldest first.

    A replay calls it before applying each customer's next event (:mod:`.replay`), so the
    silence between two of their interactions is where it fell, not skipped.  The search
    stops at that time (its horizon): a customer heard from again within hours costs a step
    or two.  A customer whose evidence is newer than that time (a late arrival) gets none.
    Runs in the caller's write transaction (rows locked on PostgreSQL).
    """
    if not due:
        return SilenceSweep()
    t = _STATES
    query = select(t.c.customer_id, t.c.state).where(among(session, t.c.customer_id,
                                                           sorted(due)))
    if session.get_bind().dialect.name == "postgresql":
        query = query.order_by(t.c.customer_id).with_for_update()
    rows = session.connection().execute(query).all()
    return _apply(session, list(_looks(rows, scorer, before=due)), decide, plan)


def housekeeping(responder: Responder) -> Callable[[Session], SilenceSweep]:
    """The web app's event-writer housekeeping: the outcome sweep
    (:meth:`Responder.sweep`), then one batch of the sweep of silence with *responder*."""
    clock = SweepClock()

    def run(session: Session) -> SilenceSweep:
        responder.sweep(session)
        return sweep_silence(session, responder, responder.scorer, plan=responder.plan,
                             clock=clock, limit=LIVE_BATCH)

    return run


def sweep_silence_all(url: str, decide: Decider, scorer: EvidenceScorer, *,
                      plan: Planner | None = None, progress: Progress | None = None,
                      limit: int = SILENCE_BATCH) -> SilenceSweep:
    """:func:`sweep_silence` in batches of *limit* customers, one transaction each, until
    no customer is due (with a Rich *progress* bar when given)."""
    total, clock = SilenceSweep(), SweepClock()
    with session_scope(url, write=False) as s:
        at = clock(s)
        due = int(s.scalar(select(func.count()).select_from(_STATES)
                           .where(_STATES.c.resense_at <= at.replace(tzinfo=UTC)
                                  .timestamp())) or 0) if at else 0
    task = progress.add_task("sensing silence", total=due) if progress and due else None
    while at is not None:
        with session_scope(url) as s:
            done = sweep_silence(s, decide, scorer, plan=plan, as_of=at, limit=limit)
        total.add(done)
        if progress is not None and task is not None:
            progress.update(task, advance=done.looked)
        if done.looked < limit:
            break
    return total


def sweep_silence_workspace(ws: Workspace, progress: Progress | None = None) -> SilenceSweep:
    """``outsidein sense sweep``: every stage change by silence, with the workspace's live
    decider (so an at-risk customer gets their retention message)."""
    responder = Responder.for_workspace(ws.root, ws.config.extra)
    return sweep_silence_all(ws.store_url, responder, responder.scorer, plan=responder.plan,
                             progress=progress)
