"""The demo company: a retailer/distributor generated with planted truths.

>>> from outsidein.workspace import Workspace
>>> from outsidein.demo.company import generate_demo
>>> ws = Workspace.init("/tmp/acme")                     # doctest: +SKIP
>>> report = generate_demo(ws, customers=3_000, seed=7)   # doctest: +SKIP
>>> report.counts["customers"]                            # doctest: +SKIP
3000

The company sells about 200 products in eight product types (electronics at
a 12 % list margin up to accessories at 55 %) to consumers and small
businesses in five regions, over ``days`` (default two years) from
``start``.  Customers are acquired over the first year.  The canonical tables
go through the loader (:func:`outsidein.services.data.load_frame`) like any
other data; the truths are written to ``truth_*`` tables (see
:mod:`outsidein.demo.truth`) so that tests, and anyone, can check
that the analyses find them:

1. purchases from a latent BG/NBD process per customer (per week:
   ``r=1.5, alpha=11, a=0.4, b=12``), order values from Gamma-Gamma
   (``p=6, q=4, gamma=40``); attributes lean on the latent value, so an
   ideal customer profile (trade show, company size 50-200, manufacturing,
   west) is learnable; a hidden year past the data end gives the true value;
2. ~4 % cost drainers whose cost to serve exceeds their margin;
3. referral trees with ~0.5 % strong advocates (8-30 direct referrals each);
4. prospects converting by a known logistic model, ~5 % lookalikes of the
   best customers;
5. interactions generated from the true buying-cycle stage;
6. storm warnings by region; Strawberry Pop-Tarts (7x), Flashlight (6x) and
   AA Batteries (5x) sell at that multiple of their rate in the 3 days before;
7. stock-outs and slow deliveries: a customer whose order line falls on an
   out-of-stock or slow (>= 7 days) product-region-day is hit, and afterwards
   buys at half their rate;
8. the repeat rate of region 'coast' halves from a known date;
9. four past "push" campaigns, each to a random 40 % of the customers, answered at a
   rate set by each customer's true buying stage (``truth_campaign_rates``).

Regenerating replaces a previous demo cleanly (canonical tables, the loader's
book-keeping and the truth tables are dropped and recreated).  A workspace
holding other data is refused unless ``force=True``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from outsidein.demo.campaigns import make_campaigns
from outsidein.demo.catalog import (
    REGIONS,
    Availability,
    Catalog,
    ContextEvents,
    make_availability,
    make_catalog,
    make_context_events,
)
from outsidein.demo.customers import (
    People,
    Prospects,
    make_nps,
    make_people,
    make_prospects,
    make_referrals,
)
from outsidein.demo.journey import journeys
from outsidein.demo.orders import World, _lines, simulate_chunk
from outsidein.demo.service_costs import cost_to_serve
from outsidein.demo.tables import (
    DemoKeys,
    availability_table,
    customers_table,
    events_table,
    interactions_table,
    lines_table,
    products_table,
    prospects_table,
    referrals_table,
    service_costs_table,
)
from outsidein.demo.truth import TruthBuilder
from outsidein.errors import ConflictError, DataValidationError
from outsidein.services.data import load_frame
from outsidein.warehouse.engine import ensure_schema
from outsidein.warehouse.schema import ATTRIBUTE_SPECS, LOADS, QUARANTINE, TABLES

if TYPE_CHECKING:
    from rich.progress import Progress

    from outsidein.workspace import Workspace

#: the segment whose repeat rate falls, the factor, and when (share of the period)
KPI_REGION = "coast"
KPI_KEEP = 0.5
KPI_CHANGE_AT = 0.8
#: customers hit by a stock-out or slow delivery keep this share of their later orders
STOCKOUT_KEEP = 0.5
CHUNK = 200_000


@dataclass(frozen=True)
class DemoReport:
    """What :func:`generate_demo` wrote: rows per canonical and truth table, and the time."""

    customers: int
    seed: int
    start: str
    days: int
    counts: dict[str, int] = field(default_factory=dict)
    truth: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        rows = ", ".join(f"{k} {v:,}" for k, v in self.counts.items())
        return (f"demo company (seed {self.seed}, {self.days} days from {self.start}): {rows}; "
                f"{len(self.truth)} truth tables ({self.seconds:.1f} s)")

    def __repr__(self) -> str:
        return f"DemoReport({self.summary()})"


class _Bar:
    """A Rich progress task per table (or nothing when no progress is given)."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.tasks: dict[str, Any] = {}

    def add(self, name: str, total: int) -> None:
        if self.progress is not None:
            self.tasks[name] = self.progress.add_task(f"demo: {name}", total=total)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        yield
        if self.progress is not None and name in self.tasks:
            self.progress.advance(self.tasks[name])


def generate_demo(
    ws: Workspace,
    *,
    customers: int = 20_000,
    seed: int = 42,
    start: str = "2024-01-01",
    days: int = 730,
    progress: Progress | None = None,
    force: bool = False,
) -> DemoReport:
    """Generate the demo company into *ws* and return what was written.

    Parameters
    ----------
    ws
        The workspace; its canonical tables are replaced.
    customers
        Number of customers (100 to 10,000,000); prospects are a quarter of it.
    seed
        Random seed: the same seed gives the same company.
    start, days
        First day (ISO date) and length of the history; customers are acquired
        over the first year (or half the period when shorter).
    progress
        A Rich :class:`~rich.progress.Progress` to show one task per table.
    force
        Replace canonical tables that hold data other than a previous demo.

    Returns
    -------
    DemoReport
        Rows loaded per table, rows per truth table, and seconds taken.

    Raises
    ------
    ConflictError
        The workspace holds data that is not a previous demo and *force* is false.
    DataValidationError
        A setting is out of range.

    Examples
    --------
    >>> ws = Workspace.init(tmp_path / "acme")                  # doctest: +SKIP
    >>> generate_demo(ws, customers=1_000, seed=1).counts["customers"]  # doctest: +SKIP
    1000
    >>> ws.warehouse().table("truth_customers").is_cost_drainer.sum().execute()  # doctest: +SKIP
    40
    """
    t0 = time.perf_counter()
    start_day = _checked_start(customers=customers, start=start, days=days)
    _prepare(ws, force=force)
    rng = np.random.default_rng(seed)
    load = _Loader(ws, _demo_bar(progress, n_chunks=-(-customers // CHUNK)))
    company = _make_company(rng, customers, start_day, days)
    keys = DemoKeys.of(customers, company.catalog, company.prospects, start_day)
    _load_company(load, company, keys, start_day)
    truth = TruthBuilder(people=company.people, catalog=company.catalog, world=company.world,
                         start_day=start_day, start_sec=keys.start_sec,
                         cust_ids=keys.customer_ids, prod_ids=keys.product_ids)
    _load_orders(ws, rng, load, company, keys, truth)
    with load.bar.step("truth tables"):
        truth_counts = truth.write(ws, company.prospects, keys.prospect_ids, company.events,
                                   load.counts)
    campaigns, contacts, rates = make_campaigns(ws, seed, start_day, days)
    load("campaigns", campaigns)
    load("campaign_contacts", contacts)
    ws.warehouse().con.create_table("truth_campaign_rates", obj=rates, overwrite=True)
    truth_counts["truth_campaign_rates"] = rates.num_rows
    return DemoReport(customers=customers, seed=seed, start=str(start_day), days=days,
                      counts=load.counts, truth=truth_counts, seconds=time.perf_counter() - t0)


def _checked_start(*, customers: int, start: str, days: int) -> np.datetime64:
    """The history's first day, once the demo's size and length are checked to be in range."""
    if not 100 <= customers <= 10_000_000:
        raise DataValidationError(
            f"customers: expected 100 to 10,000,000, got {customers:,}; pass --customers N")
    if not 120 <= days <= 3650:
        raise DataValidationError(f"days: expected 120 to 3650, got {days}")
    try:
        return np.datetime64(start, "D")
    except ValueError:
        raise DataValidationError(
            f"start: expected a date like 2024-01-01, got {start!r}") from None


def _demo_bar(progress: Progress | None, *, n_chunks: int) -> _Bar:
    """One progress task per table: one step each, one per chunk for the order tables."""
    bar = _Bar(progress)
    for name in ("products", "customers", "context_events", "availability", "referrals",
                 "prospects"):
        bar.add(name, 1)
    for name in ("order_lines", "service_costs", "interactions"):
        bar.add(name, n_chunks)
    bar.add("truth tables", 1)
    bar.add("campaigns", 1)
    bar.add("campaign_contacts", 1)
    return bar


class _Loader:
    """Loads each demo table through the loader like a user's file, counting rows per table."""

    def __init__(self, ws: Workspace, bar: _Bar) -> None:
        self.ws = ws
        self.bar = bar
        self.counts: dict[str, int] = {}

    def __call__(self, table: str, data: pa.Table) -> None:
        with self.bar.step(table):
            rep = load_frame(self.ws, table, data, source=f"demo:{table}")
            if rep.quarantined:
                raise DataValidationError(  # a generator bug, not user input: fail loudly
                    f"demo {table}: {rep.quarantined:,} rows quarantined ({rep.reasons})")
            self.counts[table] = self.counts.get(table, 0) + rep.loaded


@dataclass(frozen=True)
class _Company:
    """The company before its orders: catalog, customers, referrals, prospects, events, stock."""

    catalog: Catalog
    people: People
    referrals: tuple[np.ndarray, np.ndarray, np.ndarray]  # referrer, referred, day
    prospects: Prospects
    events: ContextEvents
    availability: Availability
    world: World


def _make_company(rng: np.random.Generator, customers: int, start_day: np.datetime64,
                  days: int) -> _Company:
    """The company before its orders, drawn in a fixed order (same seed, same company)."""
    acq_days = min(365.0, days / 2)
    cat = make_catalog(rng)
    people = make_people(rng, customers, acq_days)
    people.nps = make_nps(rng, people)
    referrals = make_referrals(rng, people)
    prospects = make_prospects(rng, max(1, customers // 4), people, acq_days)
    events = make_context_events(rng, start_day, days)
    sample = rng.integers(0, customers, 20_000)
    pop_lines = _lines(rng, cat, people.segment[sample], rng.gamma(6.0, 1 / people.nu[sample]))
    popularity = np.bincount(pop_lines[1], minlength=cat.n) + 1.0
    avail = make_availability(rng, popularity, days)
    change_day = 7.0 * round(days * KPI_CHANGE_AT / 7)
    world = World(cat, avail.bad, events.storm_window(days), days, 364, REGIONS.index(KPI_REGION),
                  change_day, KPI_KEEP, STOCKOUT_KEEP)
    return _Company(cat, people, referrals, prospects, events, avail, world)


def _load_company(load: _Loader, company: _Company, keys: DemoKeys,
                  start_day: np.datetime64) -> None:
    """Load the tables that come before any order: products to prospects."""
    load("products", products_table(company.catalog, keys))
    load("customers", customers_table(company.people, keys))
    load("context_events", events_table(company.events, keys))
    load("availability", availability_table(company.availability, keys, start_day,
                                            company.world.days))
    load("referrals", referrals_table(*company.referrals, keys))
    load("prospects", prospects_table(company.prospects, keys))


def _load_orders(ws: Workspace, rng: np.random.Generator, load: _Loader, company: _Company,
                 keys: DemoKeys, truth: TruthBuilder) -> None:
    """Simulate orders, service costs and interactions chunk by chunk; load them, note truths."""
    people, cat, days = company.people, company.catalog, company.world.days
    order_offset = 0
    for lo in range(0, people.n, CHUNK):
        idx = np.arange(lo, min(people.n, lo + CHUNK))
        co = simulate_chunk(rng, people, idx, company.world)
        costs = cost_to_serve(rng, co, people, idx, cat, days)
        jr = journeys(rng, co, costs, people, idx, days, cat.n)
        order_no = order_offset + 1 + np.arange(len(co.day))
        order_offset += len(co.day)
        load("order_lines", lines_table(co, idx, order_no, keys))
        load("service_costs", service_costs_table(costs, idx, keys))
        inter = interactions_table(jr, idx, keys)
        load("interactions", inter)
        truth.add_chunk(ws, idx, co, costs, jr, inter)


def _prepare(ws: Workspace, *, force: bool) -> None:
    """Drop a previous demo (or, with *force*, any data) and recreate the empty tables."""
    wh = ws.warehouse()
    existing = set(wh.con.list_tables())
    had_demo = "truth_params" in existing
    holding = [] if had_demo else [t for t in TABLES if not wh.is_empty(t)]
    if holding and not had_demo and not force:
        raise ConflictError(
            f"workspace {ws.root} already holds data in {', '.join(holding)}; the demo would "
            "replace it: use another folder (--workspace DIR) or pass --force")
    for name in (*TABLES, QUARANTINE.name, LOADS.name,
                 *(s.name for s in ATTRIBUTE_SPECS.values()),
                 *(t for t in existing if t.startswith("truth_"))):
        if name in existing:
            wh.con.drop_table(name, force=True)
    ensure_schema(wh)
