"""The demo company's past campaigns: the "push" that came before sense and respond.

Four campaigns, each sent to a random 40% of the customers known by its date (so the
chance of being picked, the ``propensity``, is known: the contacts are logged data for
offline policy evaluation).  Whether a contact responds (a click within five days) depends
only on the customer's true buying stage on the day (``truth_stages``): a push reaches
people at every stage, and only some are ready.  The planted rates per true stage are in
``truth_campaign_rates``.

The campaigns draw from their own random stream (seeded from the demo's seed), so adding
them changes no other table of the demo.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

if TYPE_CHECKING:
    from outsidein.workspace import Workspace

__all__ = ["CAMPAIGNS", "PICK_SHARE", "RESPONSE_BY_STAGE", "make_campaigns"]

#: (campaign id, name, channel, message, need, day of the history it went out)
CAMPAIGNS = (
    ("C-2024-SPRING", "Spring sale", "email", "spring_sale", "sales", 150),
    ("C-2024-NEWS", "Product newsletter", "email", "new_range", "awareness", 260),
    ("C-2024-WINTER", "Winter offer", "mobile", "winter_offer", "sales", 420),
    ("C-2025-CARE", "We miss you", "email", "we_miss_you", "retention", 600),
)
#: Share of the customers known by a campaign's day that it reached (chosen at random).
PICK_SHARE = 0.4
#: Probability that a contact responds, by the customer's true stage on the day.
#: (the generator's stages: :data:`outsidein.demo.journey.STAGES`)
RESPONSE_BY_STAGE = {"awareness": 0.03, "consideration": 0.12, "purchase": 0.08,
                     "loyalty": 0.05, "lapse": 0.01}
RESPONSE_DAYS = 5


def make_campaigns(ws: Workspace, seed: int, start_day: np.datetime64,
                   days: int) -> tuple[pa.Table, pa.Table, pa.Table]:
    """``campaigns``, ``campaign_contacts`` and ``truth_campaign_rates`` for the demo in
    *ws* (its ``truth_stages`` must be written)."""
    rng = np.random.default_rng([seed, 20_240_301])
    con = ws.warehouse().con
    campaigns, contacts = [], []
    for cid, name, channel, message, need, day in CAMPAIGNS:
        if day >= days - RESPONSE_DAYS:
            continue
        when = (start_day + np.timedelta64(day, "D")).astype("datetime64[s]")
        stages = con.table("truth_stages")  # Ibis: DuckDB and Spark alike
        known = (stages.filter(stages.ts <= when.astype(object))
                 .group_by("customer_id")  # each customer's true stage on the day
                 .agg(stage=stages.stage.argmax(stages.ts))
                 .order_by("customer_id").to_pyarrow())
        picked = rng.random(known.num_rows) < PICK_SHARE
        stage = np.asarray(known["stage"].to_pylist(), dtype=object)[picked]
        rate = np.array([RESPONSE_BY_STAGE[str(s)] for s in stage])
        yes = rng.random(len(rate)) < rate
        sent = when + rng.integers(8 * 3600, 18 * 3600, len(rate)).astype("timedelta64[s]")
        back = sent + rng.integers(600, RESPONSE_DAYS * 86400, len(rate)).astype(
            "timedelta64[s]")
        contacts.append(pa.table({
            "campaign_id": pa.array([cid] * len(rate)),
            "customer_id": known["customer_id"].filter(pa.array(picked)),
            "ts": pa.array(sent.astype("datetime64[us]")),
            "channel": pa.array([channel] * len(rate)),
            "message": pa.array([message] * len(rate)),
            "responded": pa.array(yes),
            "response_ts": pa.array(back.astype("datetime64[us]"), mask=~yes),
            "response": pa.array(["click" if y else None for y in yes], pa.string()),
            "propensity": pa.array(np.full(len(rate), PICK_SHARE)),
        }))
        campaigns.append({"campaign_id": cid, "name": name, "kind": "push",
                          "channel": channel, "message": message, "need": need,
                          "start": when.astype(object), "end": when.astype(object)})
    truth = pa.table({"stage": list(RESPONSE_BY_STAGE),
                      "response_rate": list(RESPONSE_BY_STAGE.values())})
    return pa.Table.from_pylist(campaigns), pa.concat_tables(contacts), truth
