"""Purchases and order lines of one chunk of demo customers, with the planted effects.

Per customer (all vectorised over the chunk):

1. BG/NBD in continuous time: repeat purchases are a Poisson process with
   rate ``lambda`` per week; after each repeat purchase the customer drops out
   with probability ``p`` (so the number of repeat purchases before dropping
   out is geometric).  The first purchase is the acquisition.  The process runs
   one hidden year past the data end to give each customer's true future value.
2. Gamma-Gamma order values: ``z ~ Gamma(p, nu)`` per order.
3. KPI change: from ``change_day`` the orders of the KPI segment are kept with
   probability ``kpi_keep`` (their repeat rate falls by that factor).
4. Order lines: the order value is split over 1-8 lines; each line's product
   type follows the customer's latent segment, the product is one the line's
   amount can buy; the line's revenue is exactly its share of the order value.
5. Storms: in the window before a storm warning in the customer's region the
   storm-sensitive products are added to orders so that their rate is
   ``storm_lift`` times normal.
6. Stock-outs: a line on a (product, region, day) that is out of stock or slow
   to deliver *hits* the customer; afterwards their orders (also in the hidden
   year) are kept with probability ``stockout_keep``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from outsidein.demo.catalog import Catalog
from outsidein.demo.customers import GAMMA_GAMMA, People

#: product-type preferences per latent segment (rows: SEGMENTS, columns: TYPE_NAMES)
TYPE_PREFS = np.array([
    # elec  appl  home  tools groc  batt  acc   office
    [0.35, 0.15, 0.07, 0.04, 0.03, 0.08, 0.25, 0.03],   # tech_buyer
    [0.05, 0.15, 0.35, 0.08, 0.15, 0.07, 0.10, 0.05],   # home_maker
    [0.10, 0.05, 0.05, 0.35, 0.05, 0.12, 0.08, 0.20],   # pro_trade
    [0.04, 0.03, 0.12, 0.07, 0.30, 0.12, 0.20, 0.12],   # budget
])


@dataclass(frozen=True)
class World:
    """What every chunk needs to know about the company and its planted effects."""

    catalog: Catalog
    bad_stock: np.ndarray        # [product, region, day] out of stock or slow
    storm_window: np.ndarray     # [region, day]
    days: int
    future_days: int
    kpi_region: int
    kpi_change_day: float
    kpi_keep: float
    stockout_keep: float
    return_rate: float = 0.02
    drainer_return_rate: float = 0.25


@dataclass
class ChunkOrders:
    """Orders and lines of one chunk; customer arrays are indexed by position in the chunk."""

    cust: np.ndarray             # order -> local customer
    day: np.ndarray
    value: np.ndarray
    is_first: np.ndarray
    line_order: np.ndarray       # line -> observed order position
    line_product: np.ndarray
    line_qty: np.ndarray
    line_revenue: np.ndarray
    line_discount: np.ndarray
    ret_line: np.ndarray         # return line -> source line
    ret_day: np.ndarray
    death_day: np.ndarray        # per customer, inf when alive past the hidden year
    hit_day: np.ndarray          # per customer, inf when never hit
    future_revenue: np.ndarray   # per customer, revenue in the hidden year
    future_orders: np.ndarray


def simulate_chunk(rng: np.random.Generator, people: People, idx: np.ndarray,
                   world: World) -> ChunkOrders:
    """Orders, lines and returns of the customers *idx* (global indices)."""
    n = len(idx)
    cust, day, is_first, value, death = _purchases(rng, people, idx, world)
    region = people.region[idx].astype(np.int64)

    # KPI change: the segment's orders thin out from the change day on
    in_kpi = (region[cust] == world.kpi_region) & (day >= world.kpi_change_day)
    ok = ~in_kpi | (rng.random(len(day)) < world.kpi_keep)
    cust, day, value, is_first = cust[ok], day[ok], value[ok], is_first[ok]

    obs = np.flatnonzero(day < world.days)
    lines = _lines(rng, world.catalog, people.segment[idx][cust[obs]], value[obs])
    l_ord, l_prod, l_qty, l_rev = _storm_lines(rng, world, region[cust[obs]], day[obs], *lines)
    value[obs] = np.bincount(l_ord, l_rev, minlength=len(obs))

    # stock-outs and slow deliveries hit a customer; afterwards they buy less
    hit_day = _hit_days(world, region, cust[obs], day[obs], l_ord, l_prod, n)
    after = day > hit_day[cust]
    ok = ~after | (rng.random(len(day)) < world.stockout_keep)
    # re-index the surviving observed orders and their lines
    keep_obs = ok[obs]
    new_pos = np.cumsum(keep_obs) - 1
    line_ok = keep_obs[l_ord]
    l_ord = new_pos[l_ord[line_ok]]
    l_prod, l_qty, l_rev = l_prod[line_ok], l_qty[line_ok], l_rev[line_ok]
    future = ok & (day >= world.days)
    future_revenue = np.bincount(cust[future], value[future], minlength=n)
    future_orders = np.bincount(cust[future], minlength=n)
    sel = obs[keep_obs]
    cust, day, value, is_first = cust[sel], day[sel], value[sel], is_first[sel]
    discount, ret, ret_day = _discounts_and_returns(rng, people, idx, world, cust, day, l_ord,
                                                    l_rev)
    return ChunkOrders(
        cust=cust, day=day, value=value, is_first=is_first, line_order=l_ord,
        line_product=l_prod, line_qty=l_qty, line_revenue=l_rev, line_discount=discount,
        ret_line=ret, ret_day=ret_day, death_day=death, hit_day=hit_day,
        future_revenue=future_revenue, future_orders=future_orders,
    )


def _purchases(rng: np.random.Generator, people: People, idx: np.ndarray, world: World,
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every purchase through the hidden year (BG/NBD) with its value, and each dropout day."""
    n = len(idx)
    acq = people.acq_day[idx]
    lam_day = people.lam[idx] / 7.0
    horizon = world.days + world.future_days
    span = horizon - acq
    m = rng.poisson(lam_day * span)
    k_drop = rng.geometric(people.p_drop[idx])
    owner = np.repeat(np.arange(n), m)
    u = np.sort(owner + rng.random(len(owner))) - owner
    start = np.cumsum(m) - m
    rank = np.arange(len(owner)) - start[owner]
    keep = rank < k_drop[owner]
    day_rep = acq[owner] + u * span[owner]
    death = np.full(n, np.inf)
    last = keep & (rank == k_drop[owner] - 1)
    death[owner[last]] = day_rep[last]
    cust = np.concatenate([np.arange(n), owner[keep]])
    day = np.concatenate([acq, day_rep[keep]])
    is_first = np.concatenate([np.ones(n, bool), np.zeros(int(keep.sum()), bool)])
    order = np.lexsort((day, cust))
    cust, day, is_first = cust[order], day[order], is_first[order]
    value = rng.gamma(GAMMA_GAMMA["p"], 1.0 / people.nu[idx][cust])
    return cust, day, is_first, value, death


def _hit_days(world: World, region: np.ndarray, cust: np.ndarray, day: np.ndarray,
              l_ord: np.ndarray, l_prod: np.ndarray, n: int) -> np.ndarray:
    """When each customer was first hit by a stock-out or slow delivery (inf when never)."""
    line_cust = cust[l_ord]
    line_day = day[l_ord]
    dayi = np.minimum(np.floor(line_day).astype(np.int64), world.days)
    hit = world.bad_stock[l_prod, region[line_cust], dayi]
    hit_day = np.full(n, np.inf)
    np.minimum.at(hit_day, line_cust[hit], line_day[hit])
    return hit_day


def _discounts_and_returns(rng: np.random.Generator, people: People, idx: np.ndarray,
                           world: World, cust: np.ndarray, day: np.ndarray, l_ord: np.ndarray,
                           l_rev: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Discounts on a fifth of the lines, and the lines sent back with their return days."""
    discount = np.where(rng.random(len(l_rev)) < 0.2,
                        np.round(l_rev * rng.uniform(0.05, 0.15, len(l_rev)), 2), 0.0)
    # returns: drainers send back a quarter of their lines
    rate = np.where(people.is_drainer[idx][cust[l_ord]], world.drainer_return_rate,
                    world.return_rate)
    ret_day = day[l_ord] + rng.uniform(2.0, 20.0, len(l_ord))
    ret = np.flatnonzero((rng.random(len(l_ord)) < rate) & (ret_day < world.days))
    return discount, ret, ret_day[ret]


def _lines(rng: np.random.Generator, cat: Catalog, segment: np.ndarray,
           value: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split each order value over lines; pick an affordable product of the preferred type."""
    n_orders = len(value)
    n_lines = 1 + np.minimum(rng.poisson(1.3, n_orders), 7)
    line_order = np.repeat(np.arange(n_orders), n_lines)
    e = rng.exponential(1.0, len(line_order))
    share = e / np.bincount(line_order, e, minlength=n_orders)[line_order]
    amount = share * value[line_order]
    cum = np.cumsum(TYPE_PREFS, axis=1)[segment[line_order]]
    ptype = (rng.random(len(line_order))[:, None] > cum).sum(axis=1)
    ptype = np.minimum(ptype, TYPE_PREFS.shape[1] - 1)
    combo = cat.type_code.astype(np.float64) * 1e5 + cat.price
    pos = np.searchsorted(combo, ptype * 1e5 + amount, side="right")
    n_elig = pos - cat.type_start[ptype]
    u2 = rng.random(len(line_order)) ** 2
    product = pos - 1 - np.floor(u2 * np.maximum(n_elig, 1)).astype(np.int64)
    # no affordable product of that type: the dearest affordable product of any type
    none = n_elig <= 0
    if none.any():
        by_price = np.argsort(cat.price, kind="stable")
        gpos = np.searchsorted(cat.price[by_price], amount[none], side="right")
        pick = np.maximum(gpos - 1 - np.floor(u2[none] * np.maximum(gpos, 1)).astype(np.int64), 0)
        product[none] = by_price[pick]
    qty = np.maximum(1, np.floor(amount / cat.price[product])).astype(np.int64)
    revenue = np.round(amount, 2)
    return _merge(line_order, product, qty, revenue, cat.n)


def _merge(order: np.ndarray, product: np.ndarray, qty: np.ndarray, revenue: np.ndarray,
           n_products: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One line per (order, product): the natural key of order_lines."""
    key = order.astype(np.int64) * n_products + product
    uniq, inv = np.unique(key, return_inverse=True)
    return (uniq // n_products, uniq % n_products,
            np.bincount(inv, qty, minlength=len(uniq)).astype(np.int64),
            np.round(np.bincount(inv, revenue, minlength=len(uniq)), 2))


def _storm_lines(rng: np.random.Generator, world: World, region: np.ndarray, day: np.ndarray,
                 l_ord: np.ndarray, l_prod: np.ndarray, l_qty: np.ndarray,
                 l_rev: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Add storm-sensitive products to orders in a pre-storm window (lift x normal rate)."""
    cat = world.catalog
    n_orders = len(day)
    if n_orders == 0:
        return l_ord, l_prod, l_qty, l_rev
    dayi = np.minimum(np.floor(day).astype(np.int64), world.days)
    in_window = np.flatnonzero(world.storm_window[region, dayi])
    add_o, add_p, add_q, add_r = [l_ord], [l_prod], [l_qty], [l_rev]
    for j in cat.storm_index:
        base_lines = np.flatnonzero(l_prod == j)
        base_rate = max(len(base_lines) / n_orders, 0.004)
        prob = min(1.0, (cat.storm_lift[j] - 1.0) * base_rate)
        chosen = in_window[rng.random(len(in_window)) < prob]
        if len(chosen) == 0:
            continue
        if len(base_lines):
            like = base_lines[rng.integers(0, len(base_lines), len(chosen))]
            q, r = l_qty[like], l_rev[like]
        else:
            q = rng.integers(1, 4, len(chosen))
            r = np.round(q * cat.price[j] * 1.1, 2)
        add_o.append(chosen)
        add_p.append(np.full(len(chosen), j))
        add_q.append(q)
        add_r.append(r)
    return _merge(np.concatenate(add_o), np.concatenate(add_p), np.concatenate(add_q),
                  np.concatenate(add_r), cat.n)
