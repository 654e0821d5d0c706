"""Multichannel interactions of one chunk of demo customers, following the buying cycle.

Each interaction is generated *from* a true stage, recorded in ``truth_stages``:

- awareness: 1-3 touches 7-40 days before the first purchase (social, email, web);
- consideration: 1-3 research touches in the 6 days before the first purchase,
  and before 40 % of the repeat purchases (product views, searches, pricing,
  cart adds, store visits, chat);
- purchase: a checkout at 55 % of the orders (web, mobile, store);
- loyalty: occasional touches (about one every 20 weeks) while the customer is
  active (email opens and clicks, visits, reviews), and their support contacts;
- lapse: after the customer drops out: rare opens, unsubscribes, complaints.

About ten interactions per customer, so a million customers stay feasible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from outsidein.demo.customers import People
from outsidein.demo.orders import ChunkOrders
from outsidein.demo.service_costs import ChunkCosts
from outsidein.warehouse.schema import CHANNELS, INTERACTION_TYPES

STAGES = ("awareness", "consideration", "purchase", "loyalty", "lapse")
_ST = {s: i for i, s in enumerate(STAGES)}
#: (channel, type, weight) per stage
STAGE_TOUCHES: dict[str, tuple[tuple[str, str, float], ...]] = {
    "awareness": (("social", "visit", 0.30), ("email", "email_open", 0.30),
                  ("web", "visit", 0.25), ("mobile", "visit", 0.15)),
    "consideration": (("web", "product_view", 0.30), ("web", "search", 0.15),
                      ("web", "pricing_view", 0.15), ("mobile", "product_view", 0.10),
                      ("store", "visit", 0.10), ("chat", "pricing_view", 0.05),
                      ("web", "cart_add", 0.10), ("call_center", "pricing_view", 0.05)),
    "purchase": (("web", "checkout", 0.45), ("mobile", "checkout", 0.25),
                 ("store", "checkout", 0.30)),
    "loyalty": (("email", "email_open", 0.35), ("email", "email_click", 0.15),
                ("web", "visit", 0.20), ("mobile", "visit", 0.15), ("social", "review", 0.10),
                ("web", "review", 0.05)),
    "lapse": (("email", "email_open", 0.45), ("email", "unsubscribe", 0.25),
              ("call_center", "complaint", 0.10), ("web", "visit", 0.20)),
}
_WITH_PRODUCT = {INTERACTION_TYPES.index(t) for t in ("product_view", "cart_add", "review",
                                                        "pricing_view")}


@dataclass
class ChunkInteractions:
    cust: np.ndarray
    sec: np.ndarray
    channel: np.ndarray   # index into CHANNELS
    type: np.ndarray      # index into INTERACTION_TYPES
    product: np.ndarray   # product index or -1
    stage: np.ndarray     # index into STAGES


def _touch(rng: np.random.Generator, stage: str, size: int) -> tuple[np.ndarray, np.ndarray]:
    table = STAGE_TOUCHES[stage]
    w = np.array([t[2] for t in table])
    pick = rng.choice(len(table), size, p=w / w.sum())
    ch = np.array([CHANNELS.index(t[0]) for t in table], dtype=np.int8)
    ty = np.array([INTERACTION_TYPES.index(t[1]) for t in table], dtype=np.int8)
    return ch[pick], ty[pick]


def journeys(rng: np.random.Generator, co: ChunkOrders, costs: ChunkCosts, people: People,
             idx: np.ndarray, days: int, n_products: int) -> ChunkInteractions:
    """The interactions of the chunk with their true stages."""
    n = len(idx)
    acq = people.acq_day[idx]
    death = co.death_day
    parts: list[tuple[np.ndarray, np.ndarray, str]] = []
    k = 1 + np.minimum(rng.poisson(0.7, n), 2)
    c = np.repeat(np.arange(n), k)
    parts.append((c, acq[c] - rng.uniform(7, 40, len(c)), "awareness"))
    k = 1 + np.minimum(rng.poisson(0.6, n), 2)
    c = np.repeat(np.arange(n), k)
    parts.append((c, acq[c] - rng.uniform(0.02, 6, len(c)), "consideration"))
    rep = np.flatnonzero(~co.is_first & (rng.random(len(co.day)) < 0.4))
    parts.append((co.cust[rep], co.day[rep] - rng.uniform(0.02, 3, len(rep)), "consideration"))
    buy = np.flatnonzero(rng.random(len(co.day)) < 0.55)
    parts.append((co.cust[buy], co.day[buy], "purchase"))
    active_end = np.minimum(death, float(days))
    k = rng.poisson(0.05 / 7.0 * np.maximum(active_end - acq, 0))
    c = np.repeat(np.arange(n), k)
    parts.append((c, acq[c] + rng.random(len(c)) * (active_end[c] - acq[c]), "loyalty"))
    lapsed = death < days
    k = np.where(lapsed, rng.poisson(0.03 / 7.0 * np.maximum(days - death, 0)
                                     + 0.5 * lapsed), 0)
    c = np.repeat(np.arange(n), k)
    parts.append((c, death[c] + rng.random(len(c)) * (days - death[c]), "lapse"))

    cust = [p[0] for p in parts]
    day = [p[1] for p in parts]
    chan, typ, stage = [], [], []
    for c, _, st in parts:
        ch, ty = _touch(rng, st, len(c))
        chan.append(ch)
        typ.append(ty)
        stage.append(np.full(len(c), _ST[st], dtype=np.int8))
    # support contacts and complaints: loyalty while active, lapse after dropping out
    sc, sd = costs.support_cust, costs.support_day
    cust.append(sc)
    day.append(sd + 1e-4)
    chan.append(np.where(costs.complaint & (rng.random(len(sc)) < 0.3), CHANNELS.index("chat"),
                         CHANNELS.index("call_center")).astype(np.int8))
    typ.append(np.where(costs.complaint, INTERACTION_TYPES.index("complaint"),
                        INTERACTION_TYPES.index("support_call")).astype(np.int8))
    stage.append(np.where(sd > death[sc], _ST["lapse"], _ST["loyalty"]).astype(np.int8))

    cust_a = np.concatenate(cust)
    day_a = np.concatenate(day)
    chan_a, typ_a, stage_a = np.concatenate(chan), np.concatenate(typ), np.concatenate(stage)
    ok = (day_a >= 0) & (day_a < days)
    cust_a, day_a, chan_a, typ_a, stage_a = (cust_a[ok], day_a[ok], chan_a[ok], typ_a[ok],
                                             stage_a[ok])
    sec = np.floor(day_a * 86400.0).astype(np.int64)
    key = ((cust_a.astype(np.int64) * (days + 2) * 86400 + sec) * 8 + chan_a) * 16 + typ_a
    _, first = np.unique(key, return_index=True)  # also sorts by customer and time
    cust_a, sec, chan_a, typ_a, stage_a = (cust_a[first], sec[first], chan_a[first],
                                           typ_a[first], stage_a[first])
    with_product = np.isin(typ_a, list(_WITH_PRODUCT))
    product = np.where(with_product, rng.integers(0, n_products, len(typ_a)), -1)
    return ChunkInteractions(cust=cust_a, sec=sec, channel=chan_a, type=typ_a, product=product,
                             stage=stage_a)
