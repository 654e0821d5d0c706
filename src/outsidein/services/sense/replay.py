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

>>> key_of("C1", datetime(2026, 1, 2, 3, 4, 5), "web", "visit")
'wh:C1|2026-01-02T03:04:05|web|visit'
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from outsidein.errors import MissingDataError
from outsidein.sense.stages import STAGE_TO_DEMO
from outsidein.services.sense.events import Decider, EventIn, apply_events, stage_decider
from outsidein.services.sense.stage_model import configured_scorer, configured_stage_model
from outsidein.store.db import session_scope
from outsidein.workspace import Workspace

if TYPE_CHECKING:
    from rich.progress import Progress

__all__ = ["CHUNK", "ReplayReport", "key_of", "replay_interactions"]

#: Events applied per store transaction.
CHUNK = 5000


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
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def key_of(customer_id: str, ts: datetime, channel: str, typ: str) -> str:
    """The event id of one warehouse interaction (its key, as text)."""
    return f"wh:{customer_id}|{ts.isoformat()}|{channel}|{typ}"


def _events(batch: Any) -> list[EventIn]:
    cols = batch.to_pydict()
    out = []
    for cid, ts, ch, typ, pid, attrs in zip(cols["customer_id"], cols["ts"], cols["channel"],
                                            cols["type"], cols["product_id"],
                                            cols["attributes"], strict=True):
        ts = ts if ts.tzinfo is None else ts.astimezone(UTC).replace(tzinfo=None)
        try:
            extra = json.loads(attrs) if attrs else {}
        except ValueError:
            extra = {"raw": attrs}
        out.append(EventIn(event_id=key_of(cid, ts, ch, typ), customer_id=cid, ts=ts,
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


def replay_interactions(ws: Workspace, *, decide: Decider | None = None,
                        limit: int | None = None, last_days: float | None = None,
                        progress: Progress | None = None) -> ReplayReport:
    """Apply the warehouse's interactions, oldest first, and report (see the module doc).

    *last_days* replays only the interactions of the last that many days of the history
    (the demo does: the stages sensed now rest mostly on recent evidence).  Interactions
    older than those already applied are applied later as late arrivals: they count as of
    their arrival and do not move the state back in time.

    Raises
    ------
    MissingDataError
        The warehouse has no ``interactions`` rows.
    """
    decide = decide or stage_decider(configured_scorer(ws.config.extra),
                                     model=configured_stage_model(ws.root, ws.config.extra))
    report = ReplayReport()
    t0 = time.perf_counter()
    stage_count: Counter[str] = Counter()
    confusion: dict[str, Counter[str]] = {}
    customers: set[str] = set()
    with ws.reader() as con:
        if "interactions" not in con.list_tables():
            raise MissingDataError("the warehouse has no interactions table; load one with "
                                   "'outsidein load interactions FILE'")
        table = con.table("interactions")
        if last_days is not None:
            newest = table.ts.max().execute()
            if newest is not None:
                table = table.filter(table.ts >= newest - timedelta(days=last_days))
        total = int(table.count().execute())
        if total == 0:
            raise MissingDataError("the warehouse has no interactions yet; load them with "
                                   "'outsidein load interactions FILE'")
        total = min(total, limit) if limit else total
        truth = _truth(con)
        ordered = table.order_by(["ts", "customer_id", "channel", "type"])
        if limit:
            ordered = ordered.limit(limit)
        task = progress.add_task("replaying interactions", total=total) if progress else None
        for batch in ordered.to_pyarrow_batches(chunk_size=CHUNK):
            events = _events(batch)
            with session_scope(ws.store_url) as s:
                results = apply_events(s, events, decide, source="replay")
            for e, r in zip(events, results, strict=True):
                customers.add(e.customer_id)
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
    report.confusion = {t: dict(c) for t, c in sorted(confusion.items())}
    report.compared = sum(sum(c.values()) for c in confusion.values())
    if report.compared:
        right = sum(c.get(t, 0) for t, c in confusion.items())
        report.stage_accuracy = right / report.compared
    elif truth is None:
        report.notes.append("no truth_stages table: stage accuracy needs known stages "
                            "(the demo writes them)")
    if report.duplicates:
        report.notes.append(f"{report.duplicates:,} interactions were applied before "
                            "(replays apply each interaction once)")
    report.seconds = time.perf_counter() - t0
    return report
