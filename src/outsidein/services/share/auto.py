"""Analyses publish their findings as insights, and an outbox worker sends the notifications.

An analysis (the five questions, market watch, sense-and-respond results, the culture survey)
calls :func:`publish_draft` after each run with a stable key such as
``"five_questions.cost_to_serve"``; a new version appears only when the finding changed, so
re-running an unchanged analysis does not ask people to acknowledge again.

:func:`run_outbox_worker` is what ``outsidein serve`` runs in a background thread: every
*interval* seconds it queues overdue and due notices (and, after *digest_hour* UTC, the day's
digests) and delivers the outbox.
"""

from __future__ import annotations

import base64
import logging
import math
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from outsidein.errors import NotFoundError, OutsideInError
from outsidein.services.share._common import utcnow
from outsidein.services.share.digest import enqueue_digests
from outsidein.services.share.insights import Insight, publish_insight
from outsidein.services.share.notify import (
    DeliveryReport,
    NotifySettings,
    deliver_outbox,
    enqueue_due_events,
)
from outsidein.store.db import session_scope
from outsidein.store.models.auth import Department, User

log = logging.getLogger(__name__)


def default_owner_email(session: Session) -> str:
    """The customer advocate who owns automatic insights (the first advocate, else an admin)."""
    for role in ("advocate", "admin"):
        email = session.scalar(select(User.email).where(User.role == role, User.active.is_(True))
                               .order_by(User.id).limit(1))
        if email:
            return email
    raise NotFoundError("no customer advocate (or admin) account to own automatic insights; "
                        "create one with 'outsidein user add EMAIL --role advocate'")


@dataclass(frozen=True)
class InsightDraft:
    """What an analysis asks the hub to publish under a stable *key*.

    *evidence* holds the named figures, a Plotly chart as JSON, where the
    analysis is shown (``link``) and whatever else proves the finding; a
    version is the hash of title, statement and evidence, so an unchanged
    draft published again adds no version.

    >>> InsightDraft(key="five_questions.value", title="T", statement="S",
    ...              evidence={"figures": {"n": 3}}).departments
    ()
    """

    key: str
    title: str
    statement: str
    evidence: dict[str, Any]
    departments: tuple[str, ...] = ()
    priority: str = "medium"
    source: str = "analysis"


def publish_draft(session: Session, draft: InsightDraft, *, owner_email: str | None = None,
                  due_days: int = 7, now: datetime | None = None) -> Insight:
    """Publish (or re-version) the insight an analysis found, under its stable key.

    The one way analyses publish (the five questions today; market sensing, sense
    and respond and the culture benchmark next).  *owner_email* defaults to the
    first customer advocate (else an admin); the draft's departments that exist
    are addressed, or every department when none of them exists.

    Examples
    --------
    >>> publish_draft(s, InsightDraft(key="five_questions.cost_to_serve",  # doctest: +SKIP
    ...     title="12% of customers cost more to serve than they bring",
    ...     statement="Move them to self-service or reprice delivery.",
    ...     evidence={"figures": {"share_unprofitable": 0.12}},
    ...     departments=("service", "finance")))
    """
    return publish_insight(session, title=draft.title, statement=draft.statement,
                           evidence=steady(draft.evidence),
                           owner_email=owner_email or default_owner_email(session),
                           departments=known_departments(session, list(draft.departments)),
                           priority=draft.priority, source=draft.source, key=draft.key,
                           due_days=due_days, now=now)


def steady(value: Any, digits: int = 9) -> Any:
    """*value* with every float rounded to *digits* significant digits.

    An analysis re-run on unchanged data computes the same figures up to the
    last bits of a float (a parallel engine adds in any order); rounded, the
    evidence, and so the version's hash, stay the same, and nobody is asked
    to acknowledge a finding again for noise.

    >>> steady({"share": 0.30000000000000004, "xs": [1.0000000001e-3, 2, "a"]})
    {'share': 0.3, 'xs': [0.001, 2, 'a']}
    >>> steady({"x": 123456.78901234567})
    {'x': 123456.789}
    >>> steady({"y": {"dtype": "f8", "bdata": "AAAAAAAAAACamZmZmZnxPw=="}})  # Plotly's arrays
    {'y': [0.0, 1.1]}
    """
    if isinstance(value, float):
        if value == 0 or not math.isfinite(value):
            return value
        return round(value, digits - 1 - math.floor(math.log10(abs(value))))
    if isinstance(value, dict) and "bdata" in value and "dtype" in value:
        # Plotly's typed array ({"dtype": "f8", "bdata": base64}): as a plain list
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        if "shape" in value:
            shape = value["shape"]
            array = array.reshape([int(n) for n in str(shape).split(",")] if isinstance(
                shape, str) else shape)
        return steady(array.tolist(), digits)
    if isinstance(value, dict):
        return {k: steady(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [steady(v, digits) for v in value]
    return value


def known_departments(session: Session, wanted: list[str]) -> list[str]:
    """The addressed departments that exist (creating none); all of them when none match."""
    names = set(session.scalars(select(Department.name)))
    chosen = [d for d in wanted if d in names]
    if not names:
        raise NotFoundError("no departments exist to address insights to; add them with "
                            "'outsidein department add NAME'")
    return chosen or sorted(names)


def outbox_tick(session: Session, settings: NotifySettings, *, now: datetime | None = None,
                digest_hour: int | None = 8) -> DeliveryReport | None:
    """One worker step: queue due notices (and the day's digests after *digest_hour*), deliver.

    Returns ``None`` when no channel is configured (nothing to deliver to).
    """
    now = now or utcnow()
    enqueue_due_events(session, now=now)
    if digest_hour is not None and now.hour >= digest_hour:
        enqueue_digests(session, now=now)
    if not settings.webhook_url and settings.smtp is None:
        return None
    return deliver_outbox(session, webhook_url=settings.webhook_url, smtp=settings.smtp)


def run_outbox_worker(store_url: str, settings: NotifySettings, *, stop: threading.Event,
                      interval: float = 60.0, digest_hour: int | None = 8) -> None:
    """Loop :func:`outbox_tick` every *interval* seconds until *stop* is set.

    Errors of one step are logged and the loop goes on (the outbox keeps what was not sent).

    Examples
    --------
    >>> stop = threading.Event()                                        # doctest: +SKIP
    >>> threading.Thread(target=run_outbox_worker, daemon=True,         # doctest: +SKIP
    ...                  args=(ws.store_url, notify_settings(ws.config.extra)),
    ...                  kwargs={"stop": stop}).start()
    """
    while not stop.is_set():
        try:
            with session_scope(store_url) as session:
                report = outbox_tick(session, settings, digest_hour=digest_hour)
            if report and (report.sent or report.failed):
                log.info("outbox: %r", report)
        except OutsideInError as exc:
            log.warning("outbox worker step failed: %s", exc)
        except Exception:  # keep serving; the next step retries
            log.exception("outbox worker step failed")
        stop.wait(interval)
