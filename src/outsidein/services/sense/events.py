"""Events in, decisions out: the durable, idempotent event log of sense and respond.

:func:`apply_events` is the one place an event is applied: in one store transaction it
inserts the new events (``event_id`` is unique: a repeat is reported as ``duplicate`` with
the decision first made for it, and applied once only), moves each customer's state on
with the :data:`Decider` (event by event in arrival order, :func:`decide_in_order`), and
records one decision per event.
``outsidein sense replay`` and the HTTP API both go through it.

:class:`EventWriter` is how the web app calls it without blocking its event loop and
without one commit per request: requests queue, one writer thread takes everything that
is waiting (and whatever arrives within :data:`LINGER_S`), applies it in one transaction
and commits (*group commit*), then answers each request.  A request is answered only
after the commit that holds its events, so an acknowledged event survives ``kill -9`` of
the server (SQLite in WAL mode with ``synchronous=NORMAL`` is durable against a process
crash; against power loss the last commits may be lost: set ``synchronous=FULL`` where
that matters, at about half the throughput).

Events of one group are applied in arrival order; a late event (older ``ts`` than the
customer's state) counts as of its arrival and does not decay the state backwards.

What an adapter accepts is :mod:`outsidein.services.sense.checks`.  A
repeated ``event_id`` whose event differs from the first is not a retry: :func:`apply_events`
reports it (:attr:`EventResult.problem`, :func:`~outsidein.services.sense.checks.reused`)
and applies nothing.

>>> e = EventIn(event_id="e1", customer_id="C1", ts=datetime(2026, 1, 1), channel="web",
...             type="cart_add")
>>> e.epoch
1767225600.0
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from outsidein.errors import ConflictError
from outsidein.sense.evidence import EvidenceScorer, EvidenceState
from outsidein.sense.sequence import LiveStageClassifier
from outsidein.sense.silence import FIRST_LOOK_S
from outsidein.sense.stages import STAGE_LABELS, STAGE_NEED, STAGES
from outsidein.services.sense.checks import PROFILE_TYPES, content, differs, epoch_of, reused
from outsidein.services.sense.learning import as_datetime
from outsidein.services.sense.outbox import EventFacts
from outsidein.store.bulk import among, insert_returning, insert_rows, select_among
from outsidein.store.db import session_scope
from outsidein.store.models.base import utcnow
from outsidein.store.models.sense import CustomerState, Decision, SenseEvent

__all__ = ["HOUSEKEEPING_S", "LINGER_S", "MAX_GROUP", "Decider", "EventFacts", "EventIn",
           "EventResult", "EventWriter", "Planner", "Sensed", "apply_events", "decide_in_order",
           "sense", "stage_decider"]

_EVENTS = cast(Table, SenseEvent.__table__)
_STATES = cast(Table, CustomerState.__table__)
_DECISIONS = cast(Table, Decision.__table__)

#: Seconds the writer waits for more requests before committing a group.
LINGER_S = 0.002
#: Events committed together at most.
MAX_GROUP = 5000
#: Seconds between two runs of the writer's housekeeping (the sweep of silent customers).
HOUSEKEEPING_S = 60.0

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class EventIn:
    """One event, already checked by the adapter (API schema, replay reader)."""

    event_id: str
    customer_id: str
    ts: datetime  # aware, or naive UTC
    channel: str
    type: str
    product_id: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)

    @cached_property
    def ts_utc(self) -> datetime:
        """``ts`` as naive UTC (the store's convention)."""
        if self.ts.tzinfo is None:
            return self.ts
        return self.ts.astimezone(UTC).replace(tzinfo=None)

    @cached_property
    def epoch(self) -> float:
        """``ts`` in seconds since 1970 (the engine's clock, :func:`epoch_of`)."""
        return epoch_of(self.ts)


@dataclass(frozen=True)
class EventResult:
    """What happened to one event: ``applied`` or ``duplicate``, and its decision.

    A repeated ``event_id`` whose event differs from the first one's is not applied either
    (status ``duplicate``, no decision) and *problem* says so (the adapters refuse it).
    """

    event_id: str
    status: str
    decision: dict[str, Any]
    problem: str | None = None


#: (customer's state or None, event) -> (new state, decision fields).  The decision has
#: ``stage``, ``stage_probability``, ``need``, ``action``, ``channel``, ``send_at``,
#: ``probability``, ``control``, ``clues`` and ``reasons`` (see :class:`Decision`).  A state's
#: ``pending_until`` (epoch seconds) is kept in its own indexed column for the sweep of
#: customers who go silent (:mod:`outsidein.services.sense.learning`).
Decider = Callable[[Mapping[str, Any] | None, EventIn], tuple[dict[str, Any], dict[str, Any]]]
#: Called in the same transaction with the decisions just recorded (dicts with ``event_pk``,
#: ``customer_id`` and the decision's fields) and the states just written (customer -> state,
#: as stored: no need to read them back): the outbox queues their messages here.
Planner = Callable[[Session, list[dict[str, Any]], Mapping[str, Mapping[str, Any]]], Any]


class Sensed(NamedTuple):
    """What one event tells about a customer's stage (:func:`sense`)."""

    evidence: EvidenceState
    stage: str
    probability: float
    need: str
    clues: list[str]
    history: dict[str, Any] | None = None  # the learned stage model's state, if one is used

    def reasons(self) -> list[str]:
        """The decision's first reasons, in words: the stage and the message need."""
        return [f"stage: {STAGE_LABELS[self.stage]} ({self.probability:.0%})",
                need_words(self.stage, self.need)]


def need_words(stage: str, need: str) -> str:
    """The message need in words; when it is not the stage's own (service comes first while
    a complaint or support call is recent), says so.

    >>> need_words("deciding", "service")[:55]
    "message need: service, before the stage's own (sales): "
    """
    own = STAGE_NEED.get(stage, need)
    if need == own:
        return f"message need: {need}"
    return (f"message need: {need}, before the stage's own ({own}): a recent complaint or "
            "support call comes first")


def sense(scorer: EvidenceScorer, state: Mapping[str, Any] | None, event: EventIn,
          model: LiveStageClassifier | None = None) -> Sensed:
    """Move the customer's decayed evidence on by *event* and sense the stage, its
    probability, the message need and the clues (the one place both deciders sense).

    With a learned *model* (``[sense] stage_model = "classifier"``), the stage, its
    probability and the clues are the model's; the evidence still decides whether service
    comes first (the message need).
    """
    ev = (state or {}).get("evidence")
    st = EvidenceState.from_dict(ev) if ev else scorer.new_state()
    profile = event.type in PROFILE_TYPES  # who the customer is, not what they do: no evidence
    if not profile:
        scorer.update(st, event.epoch, event.channel, event.type)
    # a late event (older than the customer's latest) is sensed as of that latest time: its
    # evidence is added as of then (the scorer never decays backwards), and no clue is
    # "hours ahead"
    now = max(st.ts, event.epoch) if st.ts is not None else event.epoch
    history = (state or {}).get("history")
    if model is not None and not profile:
        history, stage, p, clues = model.sense(history, now, event.channel, event.type)
        return Sensed(st, stage, p, scorer.message_need(st, now, stage=stage), clues, history)
    k, probability = scorer.stage_probability(st, now)
    stage = STAGES[k]
    return Sensed(st, stage, probability, scorer.message_need(st, now, stage=stage),
                  [clue.words for clue in scorer.clues(st, now, stage=stage)],
                  history if model is not None else None)


def stage_decider(scorer: EvidenceScorer | None = None,
                  model: LiveStageClassifier | None = None) -> Decider:
    """Sense the stage (with the decayed-evidence scorer, or the learned *model*); choose no
    message.

    For replays of the history (nothing is sent) and until an action catalogue is used.
    The rest of the customer's state (contacts, messages awaiting their outcome) is kept.
    """
    sc = scorer or EvidenceScorer().fit()

    def decide(state: Mapping[str, Any] | None,
               event: EventIn) -> tuple[dict[str, Any], dict[str, Any]]:
        s = sense(sc, state, event, model)
        reasons = [*s.reasons(), "no message: a replay of the history senses the stage only and "
                                  "sends nothing (live events get the catalogue's messages)"]
        kept = {**(state or {}), "evidence": s.evidence.to_dict()}
        if s.history is not None:
            kept["history"] = s.history
        return kept, {
            "stage": s.stage, "stage_probability": s.probability, "need": s.need,
            "action": None, "channel": None, "send_at": None, "probability": 1.0,
            "control": False, "clues": s.clues, "reasons": reasons}

    return decide


def _decision_out(d: Decision) -> dict[str, Any]:
    return {"stage": d.stage, "stage_probability": d.stage_probability, "need": d.need,
            "action": d.action, "channel": d.channel,
            "send_at": d.send_at.replace(tzinfo=UTC).isoformat() if d.send_at else None,
            "probability": d.probability, "control": d.control, "clues": list(d.clues),
            "reasons": list(d.reasons)}


def decide_in_order(decide: Decider, states: Mapping[str, Mapping[str, Any] | None],
                    events: Sequence[EventIn]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Decide *events* one by one in order, each with the state its customer's previous
    event left; one ``(state after, decision fields)`` per event.

    *states* holds each customer's state before the events (``None``: a new customer).

    >>> at = datetime(2026, 3, 2, 10)
    >>> out = decide_in_order(stage_decider(), {"C1": None},
    ...                       [EventIn("e1", "C1", at, "web", "visit"),
    ...                        EventIn("e2", "C1", at, "web", "cart_add")])
    >>> [fields["stage"] for _, fields in out]
    ['aware', 'deciding']
    """
    current, out = dict(states), []
    for e in events:
        state, fields = decide(current.get(e.customer_id), e)
        current[e.customer_id] = state
        out.append((state, fields))
    return out


def _lock_states(session: Session, customers: set[str],
                 now: datetime) -> dict[str, tuple[Mapping[str, Any] | None, int]]:
    """The customers' states and event counts (customer -> (state or None, events)).

    Several server processes may apply events of one customer at once (PostgreSQL): the
    rows are inserted if missing (never twice) and read ``FOR UPDATE``, so one process's
    update waits for the other's commit instead of overwriting it.  SQLite has one writer
    (the transaction began ``IMMEDIATE``): the rows are read, and a new customer's row is
    created by the write at the end (:func:`apply_events`).
    """
    if not customers:
        return {}
    t, ids = _STATES, sorted(customers)
    if session.get_bind().dialect.name == "sqlite":
        return {c: (state or None, n) for c, state, n in select_among(
            session, t, ("customer_id", "state", "events"), "customer_id", ids)}
    insert_rows(session, t, [{"customer_id": c, "state": {}, "stage": STAGES[0],
                              "stage_probability": 0.0, "events": 0, "updated_at": now}
                             for c in ids], conflict=["customer_id"])
    query = (select(t.c.customer_id, t.c.state, t.c.events)
             .where(among(session, t.c.customer_id, ids))
             .order_by(t.c.customer_id).with_for_update())
    return {c: (state or None, n) for c, state, n in session.connection().execute(query)}


def apply_events(session: Session, events: Sequence[EventIn], decide: Decider, *,
                 api_key_id: int | None = None, source: str = "api",
                 plan: Planner | None = None) -> list[EventResult]:
    """Store and apply *events* in *session* (the caller commits); one result per event.

    The group's new events are decided in arrival order (:func:`decide_in_order`).  One
    statement per table (:mod:`outsidein.store.bulk`: straight to the driver on SQLite);
    ORM objects cost about 10x more per row here.
    """
    if not events:
        return []
    now = utcnow()
    rows = [{"event_id": e.event_id, "customer_id": e.customer_id, "ts": e.ts_utc,
             "channel": e.channel, "type": e.type, "product_id": e.product_id,
             "attributes": dict(e.attributes), "source": source, "api_key_id": api_key_id,
             "received_at": now} for e in events]
    new = dict(insert_returning(session, _EVENTS, rows, ["event_id", "id"],
                                conflict=["event_id"]))
    fresh = [(e, pk) for e in events  # a repeat (earlier, or twice in this group): no pk
             if (pk := new.pop(e.event_id, None)) is not None]
    customers = {e.customer_id for e, _ in fresh}
    held = _lock_states(session, customers, now)
    outcomes = decide_in_order(decide, {c: held.get(c, (None, 0))[0] for c in customers},
                               [e for e, _ in fresh]) if fresh else []
    decided: dict[str, dict[str, Any]] = {}
    decisions: list[dict[str, Any]] = []
    counts: dict[str, int] = {}  # events applied per customer
    last: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}  # customer -> last outcome
    for (e, pk), outcome in zip(fresh, outcomes, strict=True):
        c, fields = e.customer_id, outcome[1]
        counts[c] = counts.get(c, 0) + 1
        last[c] = outcome
        decisions.append({"event_pk": pk, "customer_id": c, "decided_at": now,
                          "need": None, "action": None, "channel": None, "send_at": None,
                          "probability": 1.0, "control": False, "clues": [], "reasons": [],
                          **fields})
        decided[e.event_id] = fields
    touched = {c: {"customer_id": c, "state": state, "stage": fields["stage"],
                   "stage_probability": fields["stage_probability"],
                   "events": held.get(c, (None, 0))[1] + counts[c], "updated_at": now,
                   "pending_until": as_datetime(state.get("pending_until")),
                   "resense_at": (None if (t := (state.get("evidence") or {}).get("ts")) is None
                                  else t + FIRST_LOOK_S)}
               for c, (state, fields) in last.items()}
    if decisions:
        ids = dict(insert_returning(session, _DECISIONS, decisions, ["event_pk", "id"]))
        insert_rows(session, _STATES, list(touched.values()), conflict=["customer_id"],
                    update=["state", "stage", "stage_probability", "events", "updated_at",
                            "pending_until", "resense_at"])
        if plan is not None:  # with the decision ids and the events: nothing to read back
            for d, (e, pk) in zip(decisions, fresh, strict=True):  # inserted: free to add to
                d["id"], d["event"] = ids[pk], EventFacts(pk, e.type, e.channel, e.ts_utc,
                                                          e.product_id, now)
            plan(session, decisions, {c: row["state"] for c, row in touched.items()})
    repeats = [e.event_id for e in events if e.event_id not in decided]
    earlier = {eid: ((c, ts, ch, typ, pid), _decision_out(d)) for eid, c, ts, ch, typ, pid, d
               in session.execute(  # the stored event too: a retry must be the same event
                   select(SenseEvent.event_id, SenseEvent.customer_id, SenseEvent.ts,
                          SenseEvent.channel, SenseEvent.type, SenseEvent.product_id, Decision)
                   .join(Decision, Decision.event_pk == SenseEvent.id)
                   .where(SenseEvent.event_id.in_(repeats))).all()} if repeats else {}
    out = []
    answered: dict[str, dict[str, Any]] = {}  # a repeat within the group: its first's answer
    first: dict[str, EventIn] = {}
    said: dict[datetime, str] = {}  # send_at -> its text (a group's share a few instants)
    for e in events:
        if e.event_id in answered:
            changed = differs(content(first[e.event_id]), content(e))
            out.append(EventResult(e.event_id, "duplicate", {}, reused(changed)) if changed
                       else EventResult(e.event_id, "duplicate", answered[e.event_id]))
        elif e.event_id in decided:
            answered[e.event_id] = _json_ready(decided[e.event_id], said)
            first[e.event_id] = e
            out.append(EventResult(e.event_id, "applied", answered[e.event_id]))
        else:
            stored, decision = earlier.get(e.event_id, (None, {}))
            changed = differs(stored, content(e)) if stored is not None else []
            out.append(EventResult(e.event_id, "duplicate", {}, reused(changed)) if changed
                       else EventResult(e.event_id, "duplicate", decision))
    return out


def _json_ready(fields: dict[str, Any], said: dict[datetime, str]) -> dict[str, Any]:
    """*fields* with ``send_at`` as ISO text (UTC); *said* keeps those of naive times."""
    send_at = fields.get("send_at")
    if not isinstance(send_at, datetime):
        return fields
    text = said.get(send_at) if send_at.tzinfo is None else None
    if text is None:
        text = send_at.replace(tzinfo=UTC).isoformat()
        said.update({send_at: text} if send_at.tzinfo is None else {})
    return {**fields, "send_at": text}


@dataclass
class _Job:
    events: list[EventIn]
    api_key_id: int | None
    source: str
    future: Future[list[EventResult]]


class EventWriter:
    """One writer thread per store that applies queued requests in groups (group commit).

    >>> writer = EventWriter("sqlite:///acme/store.sqlite", stage_decider())  # doctest: +SKIP
    >>> writer.submit([event]).result()                                        # doctest: +SKIP
    """

    def __init__(self, url: str, decide: Decider, *, linger: float = LINGER_S,
                 max_group: int = MAX_GROUP, plan: Planner | None = None,
                 housekeeping: Callable[[Session], Any] | None = None,
                 housekeeping_every: float = HOUSEKEEPING_S) -> None:
        self.url, self.decide, self.plan = url, decide, plan
        self.linger, self.max_group = linger, max_group
        self.housekeeping, self.housekeeping_every = housekeeping, housekeeping_every
        self._housekept_at = time.monotonic()
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="outsidein-event-writer",
                                        daemon=True)
        self._closed = False
        self.groups = 0
        self._thread.start()

    def submit(self, events: Iterable[EventIn], *, api_key_id: int | None = None,
               source: str = "api") -> Future[list[EventResult]]:
        """Queue *events*; the future resolves after the commit that holds them."""
        if self._closed:
            raise ConflictError("the event writer is shut down; the server is stopping")
        job = _Job(list(events), api_key_id, source, Future())
        self._queue.put(job)
        return job.future

    def close(self, timeout: float = 30.0) -> None:
        """Apply what is queued, then stop the thread."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join(timeout)

    def _take(self) -> tuple[list[_Job], bool]:
        try:
            wait = (None if self.housekeeping is None else
                    max(self._housekept_at + self.housekeeping_every - time.monotonic(), 0.0))
            first = self._queue.get(timeout=wait)
        except queue.Empty:
            return [], False
        if first is None:
            return [], True
        jobs, size = [first], len(first.events)
        deadline = time.monotonic() + self.linger
        while size < self.max_group:
            try:
                job = self._queue.get(timeout=max(deadline - time.monotonic(), 0.0))
            except queue.Empty:
                break
            if job is None:
                return jobs, True
            jobs.append(job)
            size += len(job.events)
        return jobs, False

    def _run(self) -> None:
        stop = False
        while not stop:
            jobs, stop = self._take()
            if jobs:
                self._write(jobs)
            if (self.housekeeping is not None and not stop
                    and time.monotonic() - self._housekept_at >= self.housekeeping_every):
                self._housekeep()

    def _housekeep(self) -> None:
        """Run the housekeeping (the sweep of silent customers) in its own transaction."""
        self._housekept_at = time.monotonic()
        try:
            with session_scope(self.url) as s:
                self.housekeeping(s)  # type: ignore[misc]
        except Exception:  # never stop the writer; the next round tries again
            log.exception("event writer: housekeeping failed")

    def _write(self, jobs: list[_Job]) -> None:
        """Apply the group in one statement per table; if that fails, job by job."""
        try:
            with session_scope(self.url) as s:
                results = self._apply_together(s, jobs)
            self.groups += 1
        except Exception:  # one bad request must not fail the others: apply them one by one
            self._write_apart(jobs)
            return
        for job, res in zip(jobs, results, strict=True):
            job.future.set_result(res)

    def _apply_together(self, session: Session, jobs: list[_Job]) -> list[list[EventResult]]:
        by_key: dict[tuple[int | None, str], list[_Job]] = {}
        for job in jobs:
            by_key.setdefault((job.api_key_id, job.source), []).append(job)
        done: dict[int, list[EventResult]] = {}
        for (key_id, source), group in by_key.items():
            events = [e for job in group for e in job.events]
            results = iter(apply_events(session, events, self.decide, api_key_id=key_id,
                                        source=source, plan=self.plan))
            for job in group:
                done[id(job)] = [next(results) for _ in job.events]
        return [done[id(job)] for job in jobs]

    def _write_apart(self, jobs: list[_Job]) -> None:
        results: list[list[EventResult] | BaseException] = []
        try:
            with session_scope(self.url) as s:
                for job in jobs:
                    try:
                        with s.begin_nested():
                            results.append(apply_events(s, job.events, self.decide,
                                                        api_key_id=job.api_key_id,
                                                        source=job.source, plan=self.plan))
                    except Exception as exc:
                        results.append(exc)
            self.groups += 1
        except Exception as exc:  # the group's commit failed: every request is told
            for job in jobs:
                job.future.set_exception(exc)
            return
        for job, res in zip(jobs, results, strict=True):
            if isinstance(res, BaseException):
                job.future.set_exception(res)
            else:
                job.future.set_result(res)
