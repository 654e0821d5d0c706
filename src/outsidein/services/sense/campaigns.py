"""Past campaigns: how the "push" that came before answered, per buying stage.

The warehouse's ``campaigns`` and ``campaign_contacts`` (loaded like any table: who was
sent what, when, by which channel, and whether they responded) are read next to the
journeys the engine sensed (``outsidein sense replay`` fills them from the interaction
history): each contact gets the customer's stage at the moment it went out (the stage
after their last event before it).  The response rate per stage, with its 95% Wilson
interval, shows how much of a push reached people who were not ready.

Contacts with a known ``propensity`` (the chance the customer was picked) are logged
data: where customers were picked at random, the response rate of the contacts at a stage
is an unbiased estimate of what sending the message to *every* customer at that stage
would have earned (the propensity-weighted rate is reported: it is the plain rate when
every contact had the same chance).  Contacts without a propensity are described, not
used for that estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import func, or_, select

from outsidein.sense.silence import SILENCE
from outsidein.sense.stages import STAGE_LABELS, STAGES
from outsidein.store.db import session_scope
from outsidein.store.models.sense import Decision, SenseEvent

if TYPE_CHECKING:
    from outsidein.workspace import Workspace

__all__ = ["CampaignSummary", "campaign_summary", "wilson"]

NOT_SENSED = "not sensed yet"
HOW_TO_LOAD = ("load your past campaigns: outsidein load campaigns FILE and outsidein load "
               "campaign_contacts FILE (campaign_id, customer_id, ts, channel, message, "
               "responded, propensity)")


def wilson(yes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson interval of a share *yes* / *n*.

    >>> [round(x, 3) for x in wilson(8, 100)]
    [0.041, 0.150]
    """
    if n == 0:
        return (0.0, 1.0)
    p = yes / n
    mid = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (mid - half, mid + half)


@dataclass(frozen=True)
class CampaignSummary:
    """Response rates of past campaigns, per campaign and per buying stage."""

    campaigns: list[dict[str, Any]] = field(default_factory=list)
    by_stage: list[dict[str, Any]] = field(default_factory=list)
    contacts: int = 0
    sensed: int = 0
    missing: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return {"contacts": self.contacts, "sensed": self.sensed, "missing": self.missing,
                "campaigns": self.campaigns, "by_stage": self.by_stage}


def _contacts(ws: Workspace) -> pd.DataFrame | None:
    with ws.reader() as con:  # a short read-only connection: never blocks a load
        if not {"campaign_contacts", "campaigns"} <= set(con.list_tables()):
            return None
        t, c = con.table("campaign_contacts"), con.table("campaigns")
        joined = t.left_join(c, t.campaign_id == c.campaign_id)
        frame = joined.select(
            campaign_id=t.campaign_id, name=c.name.fill_null(t.campaign_id),
            customer_id=t.customer_id, ts=t.ts, message=t.message.fill_null(c.message),
            responded=t.responded.fill_null(False), propensity=t.propensity).to_pandas()
    return frame if len(frame) else None


def _stages_at(ws: Workspace, contacts: pd.DataFrame) -> pd.Series:
    """The sensed stage of each contact's customer when it went out (or :data:`NOT_SENSED`)."""
    # only the decisions where a customer's stage changed: the stage at a contact's time is
    # that of the last change before it (a window function, in SQLite and PostgreSQL)
    prev = func.lag(Decision.stage).over(partition_by=Decision.customer_id,
                                         order_by=(SenseEvent.ts, Decision.id))
    steps = (select(Decision.customer_id, SenseEvent.ts.label("ts"), Decision.stage,
                    prev.label("prev"))
             .join(SenseEvent, SenseEvent.id == Decision.event_pk)
             # the stage the customer's interactions showed: a replay senses silence only
             # after each customer's last interaction, so counting it would put the
             # contacts of that one gap, and no other, at at risk or lapsed
             .where(SenseEvent.type != SILENCE).subquery())
    with session_scope(ws.store_url, write=False) as s:
        rows = s.execute(select(steps.c.customer_id, steps.c.ts, steps.c.stage)
                         .where(or_(steps.c.prev.is_(None), steps.c.prev != steps.c.stage))
                         ).all()
    journeys = pd.DataFrame(rows, columns=["customer_id", "stage_ts", "stage"])
    left = contacts[["customer_id", "ts"]].copy()
    left["ts"] = pd.to_datetime(left["ts"]).astype("datetime64[us]")
    left["_row"] = range(len(left))
    if journeys.empty:
        return pd.Series(NOT_SENSED, index=contacts.index)
    journeys["stage_ts"] = pd.to_datetime(journeys["stage_ts"]).astype("datetime64[us]")
    merged = pd.merge_asof(left.sort_values("ts"), journeys.sort_values("stage_ts"),
                           left_on="ts", right_on="stage_ts", by="customer_id",
                           direction="backward")
    merged = merged.sort_values("_row")
    return pd.Series(merged["stage"].fillna(NOT_SENSED).to_numpy(), index=contacts.index)


def _rates(frame: pd.DataFrame, by: str) -> list[dict[str, Any]]:
    out = []
    for key, g in frame.groupby(by, sort=False):
        n, yes = len(g), int(g["responded"].sum())
        low, high = wilson(yes, n)
        known = g[g["propensity"].notna() & (g["propensity"] > 0)]
        weights = 1.0 / known["propensity"].astype(float)
        weighted = (float((weights * known["responded"]).sum() / weights.sum())
                    if len(known) else None)
        out.append({by: key, "contacts": n, "responses": yes, "response_rate": yes / n,
                    "ci_low": low, "ci_high": high, "with_propensity": len(known),
                    "weighted_rate": weighted})
    return out


def campaign_summary(ws: Workspace) -> CampaignSummary:
    """Response rates of the workspace's past campaigns, per campaign and per sensed stage."""
    contacts = _contacts(ws)
    if contacts is None:
        return CampaignSummary(missing=HOW_TO_LOAD)
    contacts["stage"] = _stages_at(ws, contacts)
    order = {s: i for i, s in enumerate((*STAGES, NOT_SENSED))}
    by_stage = sorted(_rates(contacts, "stage"), key=lambda r: order.get(r["stage"], 99))
    for row in by_stage:
        row["stage_label"] = STAGE_LABELS.get(row["stage"], row["stage"])
    campaigns = _rates(contacts, "campaign_id")
    names = contacts.drop_duplicates("campaign_id").set_index("campaign_id")["name"]
    for row in campaigns:
        row["name"] = str(names.get(row["campaign_id"], row["campaign_id"]))
    sensed = int((contacts["stage"] != NOT_SENSED).sum())
    missing = None if sensed else (
        "the customers' stages are not sensed yet: run 'outsidein sense replay' to put the "
        "interaction history through the engine")
    return CampaignSummary(campaigns, by_stage, len(contacts), sensed, missing)
