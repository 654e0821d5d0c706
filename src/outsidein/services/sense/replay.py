"""``outsidein sense replay``: the warehouse's interaction history through the live engine.

The rows of ``interactions`` are read in time order (a read-only warehouse connection, in
Arrow batches) and applied with :func:`~outsidein.services.sense.events.apply_events`, the
same code the events API runs, in store transactions of :data:`CHUNK` events.  Each row
becomes an event whose id is its warehouse key (``wh:customer|ts|channel|type``), so a
second replay applies nothing twice and a replay after new loads applies only the new rows.

Where the warehouse holds the demo's ``truth_stages`` (the stage each interaction was
generated from), the stage sensed at each event is compared with it, mapped to the demo's
five labels (:func:`outsidein.sense.stages.to_demo_stage`): the share that agree is
``stage_accuracy``.

Orders as checkouts (``orders=True``, ``outsidein sense replay --orders``)
----------------------------------------------------------------------------
Most companies' history is orders, not interactions (CDNOW's is).  With ``orders`` the
replay reads ``order_lines`` instead: one ``checkout`` per order (its first line's time;
returns left out), on channel :data:`ORDER_CHANNEL`, its id ``wh:order:<order_id>`` (two
orders at the same time stay two) and ``{"order_id": ...}`` as its attributes.  Checkouts
alone sense purchased, loyal, at risk and lapsed (the silence after a purchase): the
stages a retention team needs; the stages before a purchase need interactions.

Stage changes by silence are applied where they fall, with the replay's decider.  Before
each customer's next event, the changes since their last one
(:func:`~outsidein.services.sense.silence.silences_before`: a customer who went quiet for
a year and came back shows at risk and lapsed in between, as a live server's sweep every
minute would have shown); for that, a chunk is applied in waves, each customer's first
event of the chunk, then their second, and so on (customers are independent: only each
one's own order matters).  At the end of the history, the sweep of silence
(:func:`~outsidein.services.sense.silence.sweep_silence_all`) applies the changes up to the
newest event, so the stored stages (the Sense page's funnel, the journeys) agree with
``stages_at_end``.  A silence adds no evidence: the stage sensed at each interaction, and
the stage accuracy, are the same with or without them.

A replay after a partial one: older rows rebuild the customers they belong to
---------------------------------------------------------------------------------
``outsidein demo`` replays only the last :data:`~outsidein.cli.demo.DEMO_REPLAY_DAYS` days;
a later full replay then finds rows *older* than what each customer already has.  Applied
as late arrivals they would count as of the customer's latest time (the engine never decays
backwards): a checkout two years old would read "12,201 hours ago" and push the stage, and
the stage accuracy fell from 83% to 58%.  So, before applying, each customer who already has
replayed events and has rows pending in this run's scope at or before their latest replayed
event is *rebuilt*: their replayed events, decisions and state are deleted, and their whole
warehouse history is applied again in time order in this run.  Each interaction is still
applied once (once per rebuild: its decision is replaced, not doubled), and the result is
what one full replay in time order gives (the replay's decider keeps no state shared
between customers).  Customers who also have live events (the events API, a Segment
source) are not rebuilt: their decisions may have sent messages, which a rebuild would
rewrite; their older history is applied as late arrivals and a note counts them.

>>> key_of("C1", datetime(2026, 1, 2, 3, 4, 5), "web", "visit")
'wh:C1|2026-01-02T03:04:05|web|visit'
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import pyarrow as pa
from sqlalchemy import Table, case, delete, func, select
from sqlalchemy.orm import Session

from outsidein.errors import MissingDataError
from outsidein.sense.evidence import EvidenceState
from outsidein.sense.stages import STAGE_TO_DEMO
from outsidein.services.sense.events import (
    Decider,
    EventIn,
    EventResult,
    apply_events,
    stage_decider,
)
from outsidein.services.sense.silence import SOURCE as SILENT
from outsidein.services.sense.silence import SilenceSweep, silences_before, sweep_silence_all
from outsidein.services.sense.stage_model import configured_scorer, configured_stage_model
from outsidein.store.bulk import among
from outsidein.store.db import session_scope
from outsidein.store.models.sense import CustomerState, Decision, SenseEvent
from outsidein.workspace import Workspace

if TYPE_CHECKING:
    from rich.progress import Progress

__all__ = ["CHUNK", "ReplayReport", "key_of", "replay_interactions"]

#: Events applied per store transaction.
CHUNK = 5000
#: ``sense_events.source`` of the events a replay applies.
SOURCE = "replay"
#: The channel of an order replayed as a checkout (order lines carry none)
ORDER_CHANNEL = "web"


@dataclass
class ReplayReport:
    """What a replay did, and how well it sensed the stages where the truth is known."""

    events_read: int = 0
    applied: int = 0
    duplicates: int = 0
    customers: int = 0
    seconds: float = 0.0
    stages: dict[str, int] = field(default_factory=dict)
    stage_accuracy: float | None = None
    compared: int = 0
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)
    #: customers rebuilt from the start of their history (older rows were pending)
    rebuilt_customers: int = 0
    #: customers with live events whose older rows were applied as late arrivals
    late_customers: int = 0
    #: the replayed customers by their stage as of the newest event replayed (the history's
    #: end: silence since a purchase reads as at risk, then lapsed), and that time (UTC)
    stages_at_end: dict[str, int] = field(default_factory=dict)
    history_end: str | None = None
    #: customers whose stage changed by silence up to the end, and the silence events
    #: applied (:mod:`outsidein.services.sense.silence`): the stored stages then agree
    silence_customers: int = 0
    silence_events: int = 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def key_of(customer_id: str, ts: datetime, channel: str, typ: str) -> str:
    """The event id of one warehouse interaction (its key, as text)."""
    return f"wh:{customer_id}|{ts.isoformat()}|{channel}|{typ}"


def _events(batch: Any) -> list[EventIn]:
    cols = batch.to_pydict()
    orders = cols.get("order_id") or [None] * batch.num_rows
    out = []
    for cid, ts, ch, typ, pid, attrs, order in zip(
            cols["customer_id"], cols["ts"], cols["channel"], cols["type"], cols["product_id"],
            cols["attributes"], orders, strict=True):
        ts = ts if ts.tzinfo is None else ts.astimezone(UTC).replace(tzinfo=None)
        try:
            extra = json.loads(attrs) if attrs else {}
        except ValueError:
            extra = {"raw": attrs}
        if order is not None:
            extra = {"order_id": order}
        out.append(EventIn(event_id=f"wh:order:{order}" if order is not None
                           else key_of(cid, ts, ch, typ), customer_id=cid, ts=ts,
                           channel=ch, type=typ, product_id=pid,
                           attributes=extra if isinstance(extra, dict) else {"value": extra}))
    return out


def _truth(con: Any) -> dict[str, str] | None:
    if "truth_stages" not in con.list_tables():
        return None
    t = con.table("truth_stages").select("customer_id", "ts", "channel", "type", "stage")
    rows = t.to_pyarrow().to_pydict()
    return {key_of(c, ts if ts.tzinfo is None else ts.astimezone(UTC).replace(tzinfo=None),
                   ch, ty): st
            for c, ts, ch, ty, st in zip(rows["customer_id"], rows["ts"], rows["channel"],
                                         rows["type"], rows["stage"], strict=True)}


def _replayed(session: Session, since: datetime | None
              ) -> tuple[dict[str, tuple[int, datetime]], set[str]]:
    """Customers with replayed events: customer -> (how many at or after *since*, the
    latest's time); and the customers who also have live (not replayed) events."""
    e = SenseEvent
    in_scope = func.count() if since is None else func.sum(case((e.ts >= since, 1), else_=0))
    done = {c: (int(n or 0), ts) for c, n, ts in session.execute(
        select(e.customer_id, in_scope, func.max(e.ts)).where(e.source == SOURCE)
        .group_by(e.customer_id))}
    live = set(session.scalars(select(e.customer_id).where(  # silence: from the history
        e.source.notin_((SOURCE, SILENT))).distinct())) if done else set()
    return done, live


def _behind(table: Any, done: dict[str, tuple[int, datetime]]) -> set[str]:
    """The customers of *done* with warehouse rows in *table* (this run's scope) at or
    before their latest replayed event that were never applied: more distinct keys there
    than events applied."""
    import ibis  # Ibis: only when asked (start-up)

    if not done:
        return set()
    ids = list(done)
    aware = getattr(table.schema()["ts"], "timezone", None) is not None  # the store's: UTC
    upto = [done[c][1].replace(tzinfo=UTC) if aware else done[c][1] for c in ids]
    applied = ibis.memtable(pa.table({
        "customer_id": pa.array(ids, pa.string()),
        "upto": pa.array(upto, pa.timestamp("us", tz="UTC" if aware else None)),
        "n": pa.array([done[c][0] for c in ids], pa.int64())}))
    keys = table.select("customer_id", "ts", "channel", "type",
                        *(["order_id"] if "order_id" in table.columns else [])).distinct()
    joined = keys.join(applied, "customer_id")
    joined = joined.filter(joined.ts <= joined.upto)
    counted = joined.group_by(["customer_id", "n"]).aggregate(rows=joined.count())
    behind = counted.filter(counted.rows > counted.n).customer_id
    return {str(c) for c in behind.to_pyarrow().to_pylist()}


def _forget(session: Session, customers: list[str]) -> int:
    """Delete the replayed events, their decisions and the state of *customers* (who have
    no live events); how many events went.  Their silence events go too: the sweep at the
    end finds them again from the whole history."""
    ev, st = cast(Table, SenseEvent.__table__), cast(Table, CustomerState.__table__)
    session.execute(delete(Decision).where(Decision.event_pk.in_(
        select(ev.c.id).where(ev.c.source.in_((SOURCE, SILENT)),
                              among(session, ev.c.customer_id, customers)))))
    session.execute(delete(ev).where(ev.c.source == SILENT,
                                     among(session, ev.c.customer_id, customers)))
    gone = session.execute(delete(ev).where(ev.c.source == SOURCE,
                                            among(session, ev.c.customer_id, customers)))
    session.execute(delete(st).where(among(session, st.c.customer_id, customers)))
    return int(getattr(gone, "rowcount", 0) or 0)


def _orders_as_checkouts(con: Any) -> Any:
    """``order_lines`` as one checkout interaction per order (see the module doc)."""
    import ibis  # Ibis: only when asked (start-up)

    lines = con.table("order_lines")
    lines = lines.filter(lines.customer_id.notnull() & lines.ts.notnull()
                         & lines.order_id.notnull())
    if "is_return" in lines.columns:
        lines = lines.filter(~lines.is_return.fill_null(False))
    per = lines.group_by(["order_id", "customer_id"]).aggregate(ts=lines.ts.min())
    return per.select(customer_id=per.customer_id, ts=per.ts,
                      channel=ibis.literal(ORDER_CHANNEL), type=ibis.literal("checkout"),
                      product_id=ibis.null().cast("string"),
                      attributes=ibis.null().cast("string"), order_id=per.order_id)


def replay_interactions(ws: Workspace, *, decide: Decider | None = None,
                        limit: int | None = None, last_days: float | None = None,
                        progress: Progress | None = None, orders: bool = False
                        ) -> ReplayReport:
    """Apply the warehouse's interactions, oldest first, and report (see the module doc).

    *orders* replays the order lines as checkouts instead (see the module doc).
    *last_days* replays only the interactions of the last that many days of the history
    (the demo does: the stages sensed now rest mostly on recent evidence).  A customer who
    already has replayed events and has rows pending in this run's scope older than the
    latest of them is rebuilt from the start of their history (see the module doc), so a
    full replay after a partial one gives what one full replay gives.

    Raises
    ------
    MissingDataError
        The warehouse has no ``interactions`` rows (with *orders*: no order lines).
    """
    scorer = configured_scorer(ws.config.extra)
    decide = decide or stage_decider(scorer,
                                     model=configured_stage_model(ws.root, ws.config.extra))
    latest: float | None = None  # the newest event replayed (epoch seconds)
    report = ReplayReport()
    t0 = time.perf_counter()
    stage_count: Counter[str] = Counter()
    confusion: dict[str, Counter[str]] = {}
    customers: set[str] = set()
    silent = SilenceSweep()  # the silences between a customer's interactions
    with ws.reader() as con:
        what = "order lines" if orders else "interactions"
        if ("order_lines" if orders else "interactions") not in con.list_tables():
            raise MissingDataError(_missing(orders))
        everything = table = _orders_as_checkouts(con) if orders else con.table("interactions")
        since: datetime | None = None
        if last_days is not None:
            newest = table.ts.max().execute()
            if newest is not None:
                since = newest - timedelta(days=last_days)
                table = table.filter(table.ts >= since)
        with session_scope(ws.store_url, write=False) as s:
            done, live = _replayed(s, since)
        behind = _behind(table, done)
        rebuild = sorted(behind - live)
        report.rebuilt_customers, report.late_customers = len(rebuild), len(behind & live)
        if rebuild:
            with session_scope(ws.store_url) as s:
                forgotten = _forget(s, rebuild)
            report.notes.append(
                f"customers rebuilt from the start of their history, in time order: "
                f"{len(rebuild):,} (they had interactions older than those replayed before; "
                f"{forgotten:,} interactions replayed before were applied again)")
            if since is not None:  # their whole history, not only the last days
                table = everything.filter((everything.ts >= since)
                                          | everything.customer_id.isin(rebuild))
        if report.late_customers:
            report.notes.append(
                f"customers with live events too: {report.late_customers:,} (their older "
                "interactions were applied as late arrivals: a rebuild would rewrite "
                "decisions that may have sent messages)")
        total = int(table.count().execute())
        if total == 0:
            raise MissingDataError(_missing(orders))
        total = min(total, limit) if limit else total
        truth = None if orders else _truth(con)
        ordered = table.order_by(["ts", "customer_id", "channel", "type",
                                  *(["order_id"] if orders else [])])
        if limit:
            ordered = ordered.limit(limit)
        task = progress.add_task(f"replaying {what}", total=total) if progress else None
        for batch in ordered.to_pyarrow_batches(chunk_size=CHUNK):
            events = _events(batch)
            results: list[tuple[EventIn, EventResult]] = []
            for wave in _waves(events):
                with session_scope(ws.store_url) as s:
                    silent.add(silences_before(s, decide, scorer,
                                               {e.customer_id: e.epoch for e in wave}))
                    results += zip(wave, apply_events(s, wave, decide, source=SOURCE),
                                   strict=True)
            for e, r in results:
                customers.add(e.customer_id)
                latest = e.epoch if latest is None else max(latest, e.epoch)
                if r.status == "duplicate":
                    report.duplicates += 1
                    continue
                report.applied += 1
                stage = r.decision.get("stage", "")
                stage_count[stage] += 1
                if truth is not None and e.event_id in truth:
                    sensed = STAGE_TO_DEMO.get(stage, stage)
                    confusion.setdefault(truth[e.event_id], Counter())[sensed] += 1
            report.events_read += len(events)
            if progress is not None and task is not None:
                progress.update(task, advance=len(events))
    report.customers = len(customers)
    report.stages = dict(stage_count.most_common())
    end = sweep_silence_all(ws.store_url, decide, scorer, progress=progress)
    report.silence_events = silent.events + end.events
    report.silence_customers = (_silenced(ws.store_url, sorted(customers))
                                if report.silence_events else 0)
    if report.silence_events:
        report.notes.append(
            f"stages changed by silence up to {(end.as_of or '')[:10]}: "
            f"{report.silence_customers:,} customers ({report.silence_events:,} silence "
            f"events, {silent.events:,} of them between two of a customer's interactions), "
            "so their stored stage and journey agree with the end-of-history table")
    if latest is not None:
        report.stages_at_end = _stages_at(ws.store_url, scorer, sorted(customers), latest)
        report.history_end = datetime.fromtimestamp(latest, UTC).isoformat()
    report.confusion = {t: dict(c) for t, c in sorted(confusion.items())}
    report.compared = sum(sum(c.values()) for c in confusion.values())
    if report.compared:
        right = sum(c.get(t, 0) for t, c in confusion.items())
        report.stage_accuracy = right / report.compared
    elif truth is None and not orders:
        report.notes.append("no truth_stages table: stage accuracy needs known stages "
                            "(the demo writes them)")
    if report.duplicates:
        report.notes.append(f"{report.duplicates:,} interactions were applied before "
                            "(replays apply each interaction once)")
    report.seconds = time.perf_counter() - t0
    return report


def _waves(events: list[EventIn]) -> list[list[EventIn]]:
    """*events* (in time order) in waves: each customer's first, then their second, ...

    >>> at = datetime(2026, 1, 1)
    >>> [[e.event_id for e in w] for w in _waves([EventIn("a1", "A", at, "web", "visit"),
    ...     EventIn("a2", "A", at, "web", "visit"), EventIn("b1", "B", at, "web", "visit")])]
    [['a1', 'b1'], ['a2']]
    """
    seen: Counter[str] = Counter()
    waves: list[list[EventIn]] = []
    for e in events:
        k = seen[e.customer_id]
        seen[e.customer_id] += 1
        if k == len(waves):
            waves.append([])
        waves[k].append(e)
    return waves


def _silenced(url: str, customers: list[str]) -> int:
    """How many of *customers* have a stage change by silence in the store."""
    ev = cast(Table, SenseEvent.__table__)
    with session_scope(url, write=False) as s:
        return sum(int(s.scalar(select(func.count(func.distinct(ev.c.customer_id))).where(
            ev.c.source == SILENT, among(s, ev.c.customer_id, customers[i:i + CHUNK]))) or 0)
            for i in range(0, len(customers), CHUNK))


def _stages_at(url: str, scorer: Any, customers: list[str], now: float) -> dict[str, int]:
    """*customers* by the stage their decayed evidence gives at *now* (epoch seconds)."""
    st = cast(Table, CustomerState.__table__)
    count: Counter[str] = Counter()
    with session_scope(url, write=False) as s:
        for i in range(0, len(customers), CHUNK):
            part = customers[i:i + CHUNK]
            for state in s.scalars(select(st.c.state).where(among(s, st.c.customer_id, part))):
                ev = (state or {}).get("evidence")
                if ev:
                    count[scorer.stage(EvidenceState.from_dict(ev), now)] += 1
    return dict(count.most_common())


def _missing(orders: bool) -> str:
    if orders:
        return ("the warehouse has no order lines yet; load them with 'outsidein load "
                "order_lines FILE'")
    return ("the warehouse has no interactions yet; load them with 'outsidein load "
            "interactions FILE', or, with only orders, replay them as checkouts: "
            "'outsidein sense replay --orders'")
