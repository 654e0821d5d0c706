"""What the live decider learned, shared between processes, and the sweep of silent customers.

Several server processes (uvicorn workers, ``outsidein sense deliver``) each run a
:class:`~outsidein.services.sense.respond.Responder`.  Each learns from the outcomes it
sees (a response or a non-response per (stage, message)), so alone each would learn from
part of the traffic.  :class:`SharedCounts` keeps what this process learned since it last
wrote, adds it to the store's ``sense_posteriors`` counts (one upsert per (stage,
message), ``responses = responses + :new``, in the transaction that applies the events),
and at most every :data:`SYNC_S` seconds reads every process's totals back into the
bandit.  A decision made by any process therefore uses what all of them learned, at most
a second late.  Counts are keyed by stage and message *name*, so a changed catalogue keeps
what was learned for the messages it still has.

If the transaction that writes the counts rolls back, that group's outcomes are not
counted (they are a few among thousands; the events themselves are not acknowledged
either, and a retry learns them again).

:func:`sweep_silent_customers` scores as ignored the messages of customers who were not
heard from again before the attribution window closed: their next event would have done
it, but a customer who never comes back sends none.  Each customer state carries
``pending_until`` (when its oldest awaiting message's window closes), indexed, so the
sweep reads only the customers it has to.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import numpy as np
from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from outsidein.sense.bandit import ThompsonBandit
from outsidein.store.models.base import utcnow
from outsidein.store.models.sense import CustomerState, Posterior

__all__ = ["SWEEP_BATCH", "SYNC_S", "SharedCounts", "as_datetime", "pending_until",
           "sweep_silent_customers"]

#: Seconds between two reads of every process's counts.
SYNC_S = 1.0
#: Customers swept in one transaction at most.
SWEEP_BATCH = 10_000

_POSTERIORS = cast(Table, Posterior.__table__)
_STATES = cast(Table, CustomerState.__table__)


def pending_until(pending: Sequence[Sequence[Any]], window_s: float) -> float | None:
    """When the oldest of *pending* (``[sent at, message, stage]``, epoch seconds) stops
    waiting for its outcome, in epoch seconds; ``None`` when nothing waits.

    >>> pending_until([[86400.0, "offer", 3], [90000.0, "tip", 2]], 7 * 86400.0)
    691200.0
    >>> pending_until([], 60.0) is None
    True
    """
    if not pending:
        return None
    return min(float(p[0]) for p in pending) + window_s


def as_datetime(epoch: float | None) -> datetime | None:
    """Epoch seconds as the store's naive UTC (``None`` stays ``None``).

    >>> as_datetime(691200.0)
    datetime.datetime(1970, 1, 9, 0, 0)
    """
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None)


class SharedCounts:
    """This process's share of the learning: new outcomes in, every process's totals out.

    >>> b = ThompsonBandit(["a", "b"], n_stages=2).fit()
    >>> shared = SharedCounts(b, stages=("x", "y"))
    >>> shared.record(1, 0, 1.0); shared.record(1, 0, 0.0)
    >>> b.alpha_[1, 0], b.beta_[1, 0], shared.unsaved()
    (np.float64(2.0), np.float64(2.0), {('y', 'a'): [1.0, 1.0]})
    """

    def __init__(self, bandit: ThompsonBandit, stages: Sequence[str], *,
                 sync_s: float = SYNC_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.bandit, self.stages, self.sync_s, self.clock = bandit, tuple(stages), sync_s, clock
        self._new: dict[tuple[int, int], list[float]] = {}
        self._synced_at = -float("inf")

    def record(self, stage: int, action: int, reward: float) -> None:
        """Learn one outcome now, in this process; it is saved with the next :meth:`share`."""
        self.bandit.update(stage, action, reward)
        counts = self._new.setdefault((stage, action), [0.0, 0.0])
        counts[0] += reward
        counts[1] += 1.0 - reward

    def unsaved(self) -> dict[tuple[str, str], list[float]]:
        """Outcomes learned here and not yet written: (stage, message) -> [responses, non]."""
        return {(self.stages[s], str(self.bandit.actions[a])): c
                for (s, a), c in sorted(self._new.items())}

    def share(self, session: Session, *, force: bool = False) -> None:
        """Add this process's new outcomes to the store's counts; every :data:`SYNC_S`
        seconds (or with *force*), read all processes' counts back into the bandit."""
        if self._new:
            self._write(session)
        now = self.clock()
        if force or now - self._synced_at >= self.sync_s:
            self._read(session)
            self._synced_at = now

    def _write(self, session: Session) -> None:
        now = utcnow()
        rows = [{"stage": s, "action": a, "responses": r, "non_responses": n,
                 "updated_at": now} for (s, a), (r, n) in self.unsaved().items()]
        dialect = session.get_bind().dialect.name
        stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(_POSTERIORS)
        t = _POSTERIORS
        stmt = stmt.on_conflict_do_update(
            index_elements=["stage", "action"],
            set_={"responses": t.c.responses + stmt.excluded.responses,
                  "non_responses": t.c.non_responses + stmt.excluded.non_responses,
                  "updated_at": stmt.excluded.updated_at})
        session.connection().execute(stmt, rows)  # sorted keys: no deadlock between workers
        self._new.clear()

    def _read(self, session: Session) -> None:
        stage_at = {s: i for i, s in enumerate(self.stages)}
        action_at = {str(a): i for i, a in enumerate(self.bandit.actions)}
        shape = self.bandit.alpha_.shape
        responses, non = np.zeros(shape), np.zeros(shape)
        t = _POSTERIORS
        for stage, action, r, n in session.connection().execute(
                select(t.c.stage, t.c.action, t.c.responses, t.c.non_responses)):
            i, j = stage_at.get(stage), action_at.get(action)
            if i is not None and j is not None:  # a message no longer in the catalogue
                responses[i, j], non[i, j] = r, n
        self.bandit.set_counts(responses, non)


#: (customer's state, now in epoch seconds) -> the state with its expired messages scored
#: and its ``pending_until`` (epoch seconds or None) moved on.
Expirer = Callable[[Mapping[str, Any], float], dict[str, Any]]


def sweep_silent_customers(session: Session, expire: Expirer, shared: SharedCounts,
                           now: datetime | None = None, *,
                           limit: int = SWEEP_BATCH) -> int:
    """Score the expired messages of customers not heard from since; return how many
    customers were swept (at most *limit*; call again while it returns *limit*).

    Runs in the caller's write transaction (the rows are locked on PostgreSQL, so a
    worker applying an event of the same customer waits for it).
    """
    at = now or utcnow()
    t = _STATES
    query = (select(t.c.customer_id, t.c.state).where(t.c.pending_until <= at)
             .order_by(t.c.customer_id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    conn = session.connection()
    epoch = at.replace(tzinfo=UTC).timestamp()
    changed = []
    for customer_id, state in conn.execute(query).all():
        new = expire(state or {}, epoch)
        changed.append({"b_customer_id": customer_id, "state": new,
                        "pending_until": as_datetime(new.get("pending_until"))})
    if changed:
        conn.execute(update(t).where(t.c.customer_id == bindparam("b_customer_id")), changed)
        shared.share(session, force=True)
    return len(changed)
