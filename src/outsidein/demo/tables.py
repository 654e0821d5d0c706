"""The demo company's canonical tables as Arrow, built from the generated arrays.

Each function turns what :mod:`~outsidein.demo.company` generated (customers,
products, prospects, one chunk's orders, costs and interactions) into the table
the loader takes, keyed by the ids in :class:`DemoKeys`.  No randomness here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from outsidein.demo.arrow import (
    category,
    day_seconds,
    ids,
    nullable_int,
    take,
    timestamps,
)
from outsidein.demo.catalog import REGIONS, TYPE_NAMES, Availability, Catalog, ContextEvents
from outsidein.demo.customers import (
    ACQ_CHANNELS,
    AGE_BANDS,
    INDUSTRIES,
    PROSPECT_SOURCES,
    SIZES,
    People,
    Prospects,
)
from outsidein.demo.journey import ChunkInteractions
from outsidein.demo.orders import ChunkOrders
from outsidein.demo.service_costs import ChunkCosts
from outsidein.domain import SERVICE_COST_KINDS
from outsidein.warehouse.schema import CHANNELS, INTERACTION_TYPES

__all__ = [
    "DemoKeys",
    "availability_table",
    "customers_table",
    "events_table",
    "interactions_table",
    "lines_table",
    "products_table",
    "profile_columns",
    "prospects_table",
    "referrals_table",
    "service_costs_table",
]


@dataclass(frozen=True)
class DemoKeys:
    """The ids the demo's tables share, and the first second of the history."""

    customer_ids: pa.Array
    product_ids: pa.Array
    prospect_ids: pa.Array
    start_sec: int

    @classmethod
    def of(cls, customers: int, catalog: Catalog, prospects: Prospects,
           start_day: np.datetime64) -> DemoKeys:
        """Customer ids ``C0000001``..., the catalog's product ids, prospect ids ``PR0000001``..."""
        return cls(customer_ids=ids("C", np.arange(1, customers + 1), 7),
                   product_ids=pa.array(list(catalog.product_id), pa.string()),
                   prospect_ids=ids("PR", np.arange(1, prospects.n + 1), 7),
                   start_sec=int(start_day.astype("datetime64[s]").astype(np.int64)))


def products_table(cat: Catalog, keys: DemoKeys) -> pa.Table:
    """The catalog: product id, name, product type and unit cost."""
    return pa.table({
        "product_id": keys.product_ids, "name": pa.array(list(cat.name), pa.string()),
        "product_type": category(TYPE_NAMES, cat.type_code),
        "unit_cost": pa.array(cat.unit_cost)})


def profile_columns(who: People | Prospects) -> dict[str, pa.Array]:
    """The profile attributes customers and prospects share (the ideal customer profile's)."""
    return {"region": category(REGIONS, who.region),
            "industry": category(INDUSTRIES, who.industry),
            "company_size": category(SIZES, who.size),
            "age_band": category(AGE_BANDS, who.age)}


def customers_table(people: People, keys: DemoKeys) -> pa.Table:
    """The customers: first seen, attributes, consent and NPS (none of them a stub)."""
    return pa.table({
        "customer_id": keys.customer_ids,
        "first_seen": timestamps(keys.start_sec, day_seconds(people.acq_day)),
        **profile_columns(people),
        "acquisition_channel": category(ACQ_CHANNELS, people.channel),
        "consent_email": pa.array(people.consent_email),
        "consent_sms": pa.array(people.consent_sms),
        "nps": nullable_int(people.nps if people.nps is not None else np.full(people.n, -1)),
        "is_stub": pa.array(np.zeros(people.n, dtype=bool))})


def events_table(events: ContextEvents, keys: DemoKeys) -> pa.Table:
    """The context events (storm warnings, holidays...) by region, with start and end."""
    return pa.table({
        "kind": pa.array(list(events.kind), pa.string()),
        "region": category(REGIONS, events.region),
        "start": timestamps(keys.start_sec, day_seconds(events.start)),
        "end": timestamps(keys.start_sec, day_seconds(events.end))})


def availability_table(avail: Availability, keys: DemoKeys, start_day: np.datetime64,
                       days: int) -> pa.Table:
    """Stock per product, region and day: in stock or not, and days to deliver."""
    n_p, n_r, n_d = avail.in_stock.shape
    p, r, d = (g.ravel() for g in np.meshgrid(np.arange(n_p), np.arange(n_r), np.arange(n_d),
                                              indexing="ij"))
    base = int(start_day.astype(np.int64))
    return pa.table({
        "product_id": take(keys.product_ids, p), "region": category(REGIONS, r),
        "date": pa.array((base + d).astype(np.int32), pa.date32()),
        "in_stock": pa.array(avail.in_stock.ravel()),
        "delivery_days": pa.array(avail.delivery_days.ravel())})


def referrals_table(referrer: np.ndarray, referred: np.ndarray, day: np.ndarray,
                    keys: DemoKeys) -> pa.Table:
    """Who referred whom, and when."""
    return pa.table({
        "referrer_id": take(keys.customer_ids, referrer),
        "referred_id": take(keys.customer_ids, referred),
        "ts": timestamps(keys.start_sec, day_seconds(day))})


def prospects_table(prospects: Prospects, keys: DemoKeys) -> pa.Table:
    """The prospects: source, attributes, engagement, and the customer they became."""
    return pa.table({
        "prospect_id": keys.prospect_ids,
        "created": timestamps(keys.start_sec, day_seconds(prospects.created)),
        "source": category(PROSPECT_SOURCES, prospects.source),
        **profile_columns(prospects),
        "web_visits": pa.array(prospects.web_visits.astype(np.int64)),
        "pricing_visits": pa.array(prospects.pricing_visits.astype(np.int64)),
        "email_opens": pa.array(prospects.email_opens.astype(np.int64)),
        "converted_customer_id": take(keys.customer_ids, prospects.customer)})


def lines_table(co: ChunkOrders, idx: np.ndarray, order_no: np.ndarray,
                keys: DemoKeys) -> pa.Table:
    """Sales lines then return lines (order id 'R...' = the returned order's number)."""
    lo = co.line_order
    rl = co.ret_line
    sec = np.concatenate([day_seconds(co.day[lo]), day_seconds(co.ret_day)])
    qty = co.line_qty
    rev = co.line_revenue
    disc = co.line_discount
    return pa.table({
        "order_id": pa.concat_arrays([ids("O", order_no[lo], 9), ids("R", order_no[lo[rl]], 9)]),
        "customer_id": take(keys.customer_ids, idx[co.cust[np.concatenate([lo, lo[rl]])]]),
        "product_id": take(keys.product_ids,
                           np.concatenate([co.line_product, co.line_product[rl]])),
        "ts": timestamps(keys.start_sec, sec),
        "quantity": pa.array(np.concatenate([qty, -qty[rl]])),
        "revenue": pa.array(np.concatenate([rev, -np.round(rev[rl] - disc[rl], 2)])),
        "discount": pa.array(np.concatenate([disc, np.zeros(len(rl))])),
        "is_return": pa.array(np.concatenate([np.zeros(len(lo), bool), np.ones(len(rl), bool)])),
    })


def service_costs_table(costs: ChunkCosts, idx: np.ndarray, keys: DemoKeys) -> pa.Table:
    """What serving one chunk's customers cost: support, returns, delivery, discounts."""
    return pa.table({
        "customer_id": take(keys.customer_ids, idx[costs.cust]),
        "ts": timestamps(keys.start_sec, costs.sec),
        "kind": category(SERVICE_COST_KINDS, costs.kind),
        "amount": pa.array(costs.amount)})


def interactions_table(jr: ChunkInteractions, idx: np.ndarray, keys: DemoKeys) -> pa.Table:
    """One chunk's interactions: channel, type and product along each customer's journey."""
    return pa.table({
        "customer_id": take(keys.customer_ids, idx[jr.cust]),
        "ts": timestamps(keys.start_sec, jr.sec),
        "channel": category(CHANNELS, jr.channel),
        "type": category(INTERACTION_TYPES, jr.type),
        "product_id": take(keys.product_ids, jr.product),
        "attributes": pa.nulls(len(jr.cust), pa.string())})
