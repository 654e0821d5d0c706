"""Cost to serve of one chunk of demo customers, with the planted cost drainers.

Margin of a customer = sum over their order lines (returns included) of
``revenue - discount - unit_cost * quantity``.  A return line refunds what the
customer paid (``revenue = -(revenue - discount)``, ``quantity = -quantity``),
so a fully returned line nets to zero margin.  Cost to serve = the customer's
``service_costs``: deliveries, return handling, support contacts and
off-invoice discounts (goodwill credits; on-invoice discounts live on the
order lines and are not repeated here).

Ordinary customers' cost to serve is capped at 60 % of their margin; planted
cost drainers (~4 %) get frequent express deliveries, many support contacts,
many returns and large credits, raised if needed to at least 1.5 x margin + 40.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from outsidein.demo.catalog import Catalog
from outsidein.demo.customers import People
from outsidein.demo.orders import ChunkOrders
from outsidein.domain import SERVICE_COST_KINDS

KIND = {k: i for i, k in enumerate(SERVICE_COST_KINDS)}


@dataclass
class ChunkCosts:
    cust: np.ndarray        # local customer
    sec: np.ndarray         # seconds since the data start
    kind: np.ndarray        # index into SERVICE_COST_KINDS
    amount: np.ndarray
    margin: np.ndarray      # per local customer
    cost: np.ndarray        # per local customer
    support_cust: np.ndarray
    support_day: np.ndarray
    complaint: np.ndarray   # the support contact was a complaint


def margins(co: ChunkOrders, cat: Catalog, n: int) -> np.ndarray:
    """Margin per local customer from the chunk's lines and return lines."""
    cost = cat.unit_cost[co.line_product] * co.line_qty
    line_margin = co.line_revenue - co.line_discount - cost
    lc = co.cust[co.line_order]
    rl = co.ret_line
    ret_margin = -(co.line_revenue[rl] - co.line_discount[rl]) + cost[rl]
    return (np.bincount(lc, line_margin, minlength=n)
            + np.bincount(lc[rl], ret_margin, minlength=n))


def cost_to_serve(rng: np.random.Generator, co: ChunkOrders, people: People, idx: np.ndarray,
                  cat: Catalog, days: int) -> ChunkCosts:
    """Service cost events of the chunk, drainers made to cost more than they bring."""
    n = len(idx)
    drainer = people.is_drainer[idx]
    parts: list[tuple[np.ndarray, np.ndarray, int, np.ndarray]] = []
    # deliveries
    d_o = co.cust
    dr = drainer[d_o]
    delivered = rng.random(len(d_o)) < np.where(dr, 0.95, 0.6)
    amt = np.where(dr, rng.uniform(12, 25, len(d_o)), rng.uniform(3, 7, len(d_o)))
    parts.append((d_o[delivered], co.day[delivered] + rng.uniform(0.5, 3, delivered.sum()),
                  KIND["delivery"], amt[delivered]))
    # off-invoice credits
    dr_credit = rng.random(len(d_o)) < np.where(dr, 0.6, 0.05)
    share = np.where(dr, rng.uniform(0.15, 0.30, len(d_o)), 0.05)
    parts.append((d_o[dr_credit], co.day[dr_credit] + rng.uniform(1, 10, dr_credit.sum()),
                  KIND["discount"], (share * co.value)[dr_credit]))
    # return handling
    rc = co.cust[co.line_order[co.ret_line]]
    ramt = np.where(drainer[rc], rng.uniform(10, 20, len(rc)), rng.uniform(4, 9, len(rc)))
    parts.append((rc, co.ret_day + rng.uniform(0.1, 1, len(rc)), KIND["return"], ramt))
    # support contacts while a customer (and a little after they lapse)
    acq = people.acq_day[idx]
    until = np.minimum(float(days), co.death_day + 60.0)
    years = np.maximum(until - acq, 0.0) / 365.0
    k = rng.poisson(np.where(drainer, 8.0, 0.4) * years)
    sc = np.repeat(np.arange(n), k)
    sday = acq[sc] + rng.random(len(sc)) * (until[sc] - acq[sc])
    samt = np.where(drainer[sc], rng.uniform(12, 30, len(sc)), rng.uniform(5, 12, len(sc)))
    parts.append((sc, sday, KIND["support"], samt))

    cust = np.concatenate([p[0] for p in parts])
    day = np.concatenate([p[1] for p in parts])
    kind = np.concatenate([np.full(len(p[0]), p[2], dtype=np.int8) for p in parts])
    amount = np.concatenate([p[3] for p in parts])
    inside = day < days
    cust, day, kind, amount = cust[inside], day[inside], kind[inside], amount[inside]
    margin = margins(co, cat, n)
    cost = np.bincount(cust, amount, minlength=n)
    factor = np.ones(n)
    low = drainer & (cost < 1.25 * margin + 25.0)
    factor[low] = (1.5 * np.maximum(margin[low], 0) + 40.0) / np.maximum(cost[low], 1e-9)
    high = ~drainer & (margin > 0) & (cost > 0.6 * margin)
    factor[high] = 0.6 * margin[high] / cost[high]
    amount = np.maximum(np.round(amount * factor[cust], 2), 0.01)
    # drainers with no cost event at all get one support contact carrying the cost
    bare = np.flatnonzero(drainer & (np.bincount(cust, minlength=n) == 0))
    if len(bare):
        cust = np.concatenate([cust, bare])
        day = np.concatenate([day, np.minimum(acq[bare] + 1.0, days - 0.01)])
        kind = np.concatenate([kind, np.full(len(bare), KIND["support"], dtype=np.int8)])
        amount = np.concatenate([amount, np.round(1.5 * np.maximum(margin[bare], 0) + 40.0, 2)])
    sec = np.floor(day * 86400.0).astype(np.int64)
    key = (cust.astype(np.int64) * (days + 2) * 86400 + sec) * 8 + kind
    _, first = np.unique(key, return_index=True)
    cust, sec, kind, amount = cust[first], sec[first], kind[first], amount[first]
    cost = np.bincount(cust, amount, minlength=n)
    sup = kind == KIND["support"]
    complaint = rng.random(int(sup.sum())) < np.where(drainer[cust[sup]], 0.4, 0.1)
    return ChunkCosts(cust=cust, sec=sec, kind=kind, amount=amount, margin=margin, cost=cost,
                      support_cust=cust[sup], support_day=sec[sup] / 86400.0,
                      complaint=complaint)
