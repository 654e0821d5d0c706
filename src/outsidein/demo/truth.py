"""The demo company's planted truths, written to ``truth_*`` tables.

Tables and columns (a contract: other modules and tests read them):

``truth_params(model, param, value)``
    ``bgnbd``: r, alpha, a, b (time unit: week); ``gamma_gamma``: p, q, gamma;
    ``prospect_logit``: the conversion model's coefficients.
``truth_customers``
    customer_id, lam (purchases per week), p_dropout, alive_at_end,
    mean_spend (true mean order value p/nu), future_revenue_52w (revenue in the
    simulated hidden year after the data end), true_value_decile (10 = most
    valuable, from expected_revenue_52w, ties averaged), is_cost_drainer,
    is_strong_advocate, hit_by_stockout, segment (latent behaviour segment
    driving product types), plus customer_type, value_score,
    expected_revenue_52w, future_orders_52w, dropout_ts, hit_ts, margin,
    cost_to_serve (over the data period).
``truth_prospects(prospect_id, p_convert, converted, is_lookalike, converted_customer_id)``
``truth_stages(customer_id, ts, stage, channel, type)``
    one row per loaded interaction; stage in awareness, consideration,
    purchase, loyalty, lapse.
``truth_products(product_id, product_type, margin_rate, storm_sensitive, storm_lift, ...)``
    margin_rate is the realised rate ``(revenue - discount - cost) / revenue``
    over sales lines; list_margin_rate and list_price are the catalogue's.
``truth_effects(effect, segment, value)``
    planted effect sizes and shares (stock-out multiplier, storm lifts, ICP
    logit weights and the realised top-decile lifts, ...).
``truth_kpi_changes(kpi, segment, change_date, before, after, ...)``
    ``repeat_rate`` = repeat orders in a week per customer acquired by then,
    mean over the 13 weeks before and after the change date.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from outsidein.demo.arrow import category, day_seconds, take
from outsidein.demo.catalog import (
    REGIONS,
    SLOW_DELIVERY_DAYS,
    STORM_WINDOW_DAYS,
    TYPE_NAMES,
    Catalog,
)
from outsidein.demo.customers import (
    ACQ_BETA,
    ACQ_CHANNELS,
    AGE_BANDS,
    BGNBD,
    GAMMA_GAMMA,
    INDUSTRIES,
    INDUSTRY_BETA,
    PROSPECT_LOGIT,
    REGION_BETA,
    SEGMENTS,
    SIZE_BETA,
    SIZES,
    People,
)
from outsidein.demo.journey import STAGES

if TYPE_CHECKING:
    from outsidein.demo.catalog import ContextEvents
    from outsidein.demo.customers import Prospects
    from outsidein.demo.journey import ChunkInteractions
    from outsidein.demo.orders import ChunkOrders, World
    from outsidein.demo.service_costs import ChunkCosts
    from outsidein.workspace import Workspace

KPI_WEEKS = 13


class TruthBuilder:
    """Collects per-chunk facts, then writes the truth tables."""

    def __init__(self, *, people: People, catalog: Catalog, world: World,
                 start_day: np.datetime64, start_sec: int, cust_ids: pa.Array,
                 prod_ids: pa.Array) -> None:
        n = people.n
        self.people, self.cat, self.world = people, catalog, world
        self.start_day, self.start_sec = start_day, start_sec
        self.cust_ids, self.prod_ids = cust_ids, prod_ids
        self.death = np.full(n, np.inf)
        self.hit = np.full(n, np.inf)
        self.future_rev = np.zeros(n)
        self.future_orders = np.zeros(n, dtype=np.int64)
        self.margin = np.zeros(n)
        self.cost = np.zeros(n)
        self.n_weeks = world.days // 7 + 1
        self.repeats = np.zeros((2, self.n_weeks))
        self.prod_rev = np.zeros(catalog.n)
        self.prod_margin = np.zeros(catalog.n)
        self.stage_rows = 0

    def add_chunk(self, ws: Workspace, idx: np.ndarray, co: ChunkOrders, costs: ChunkCosts,
                  jr: ChunkInteractions, inter: pa.Table) -> None:
        """Keep the chunk's per-customer facts; append its stages to ``truth_stages``."""
        self.death[idx] = co.death_day
        self.hit[idx] = co.hit_day
        self.future_rev[idx] = co.future_revenue
        self.future_orders[idx] = co.future_orders
        self.margin[idx] = costs.margin
        self.cost[idx] = costs.cost
        rep = ~co.is_first
        week = np.floor(co.day[rep] / 7).astype(np.int64)
        seg = (self.people.region[idx][co.cust[rep]] == self.world.kpi_region).astype(np.int64)
        self.repeats += np.bincount(seg * self.n_weeks + week,
                                    minlength=2 * self.n_weeks).reshape(2, self.n_weeks)
        net = co.line_revenue - co.line_discount
        self.prod_rev += np.bincount(co.line_product, co.line_revenue, minlength=self.cat.n)
        self.prod_margin += np.bincount(
            co.line_product, net - self.cat.unit_cost[co.line_product] * co.line_qty,
            minlength=self.cat.n)
        stages = pa.table({
            "customer_id": inter["customer_id"], "ts": inter["ts"],
            "stage": category(STAGES, jr.stage), "channel": inter["channel"],
            "type": inter["type"]})
        con = ws.warehouse().con
        if self.stage_rows == 0:  # streamed: a million customers' stages need not fit in memory
            con.create_table("truth_stages", obj=stages, overwrite=True)
        else:
            con.insert("truth_stages", obj=stages)
        self.stage_rows += stages.num_rows

    # -- the tables -----------------------------------------------------------------
    def write(self, ws: Workspace, prospects: Prospects, prospect_ids: pa.Array,
              events: ContextEvents, counts: dict[str, int]) -> dict[str, int]:
        customers = self._customers()
        tables = {
            "truth_params": self._params(),
            "truth_customers": customers,
            "truth_prospects": pa.table({
                "prospect_id": prospect_ids, "p_convert": pa.array(prospects.p_convert),
                "converted": pa.array(prospects.customer >= 0),
                "is_lookalike": pa.array(prospects.is_lookalike),
                "converted_customer_id": take(self.cust_ids, prospects.customer)}),
            "truth_products": self._products(),
            "truth_effects": self._effects(customers, prospects),
            "truth_kpi_changes": self._kpi(),
        }
        con = ws.warehouse().con
        for name, table in tables.items():
            con.create_table(name, obj=table, overwrite=True)
        counts = {name: table.num_rows for name, table in tables.items()}
        counts["truth_stages"] = self.stage_rows
        return counts

    def _params(self) -> pa.Table:
        rows = ([("bgnbd", k, v) for k, v in BGNBD.items()]
                + [("bgnbd", "time_unit_days", 7.0)]
                + [("gamma_gamma", k, v) for k, v in GAMMA_GAMMA.items()]
                + [("prospect_logit", k, v) for k, v in PROSPECT_LOGIT.items()])
        return pa.table({"model": [r[0] for r in rows], "param": [r[1] for r in rows],
                         "value": pa.array([float(r[2]) for r in rows])})

    def expected_revenue(self) -> np.ndarray:
        """True expected revenue in the 52 weeks after the data end, given the latent state."""
        p = self.people
        days = self.world.days
        alive = self.death > days
        keep = np.where(p.region == self.world.kpi_region, self.world.kpi_keep, 1.0)
        keep = keep * np.where(np.isfinite(self.hit), self.world.stockout_keep, 1.0)
        purchases = (1.0 - np.exp(-p.lam * p.p_drop * 52.0)) / p.p_drop
        return alive * keep * p.mean_spend * purchases

    def _customers(self) -> pa.Table:
        p = self.people
        days = self.world.days
        expected = self.expected_revenue()
        order = np.argsort(expected, kind="stable")
        ranks = np.empty(p.n)
        ranks[order] = np.arange(1, p.n + 1)
        # average ranks over ties (customers who dropped out all expect 0)
        uniq, inv = np.unique(expected, return_inverse=True)
        ranks = (np.bincount(inv, ranks) / np.bincount(inv))[inv]
        decile = np.clip(np.ceil(ranks / p.n * 10), 1, 10).astype(np.int64)
        dropout = np.where(self.death < days + self.world.future_days, self.death, -1.0)
        hit = np.isfinite(self.hit)
        return pa.table({
            "customer_id": self.cust_ids,
            "lam": pa.array(p.lam), "p_dropout": pa.array(p.p_drop),
            "alive_at_end": pa.array(self.death > days),
            "mean_spend": pa.array(p.mean_spend),
            "future_revenue_52w": pa.array(np.round(self.future_rev, 2)),
            "true_value_decile": pa.array(decile),
            "is_cost_drainer": pa.array(p.is_drainer),
            "is_strong_advocate": pa.array(p.is_advocate),
            "hit_by_stockout": pa.array(hit),
            "segment": category(SEGMENTS, p.segment),
            "customer_type": pa.array(np.where(p.is_business, "business", "consumer")),
            "value_score": pa.array(p.z),
            "expected_revenue_52w": pa.array(expected),
            "future_orders_52w": pa.array(self.future_orders),
            "dropout_ts": _maybe_ts(self.start_sec, dropout),
            "hit_ts": _maybe_ts(self.start_sec, np.where(hit, self.hit, -1.0)),
            "margin": pa.array(np.round(self.margin, 2)),
            "cost_to_serve": pa.array(np.round(self.cost, 2)),
        })

    def _products(self) -> pa.Table:
        c = self.cat
        realised = np.where(self.prod_rev > 0, self.prod_margin / np.maximum(self.prod_rev, 1e-9),
                            c.list_margin)
        return pa.table({
            "product_id": self.prod_ids, "name": pa.array(list(c.name), pa.string()),
            "product_type": category(TYPE_NAMES, c.type_code),
            "margin_rate": pa.array(np.round(realised, 4)),
            "storm_sensitive": pa.array(c.storm_lift > 1.0),
            "storm_lift": pa.array(c.storm_lift),
            "list_price": pa.array(c.price), "list_margin_rate": pa.array(c.list_margin)})

    def _effects(self, customers: pa.Table, prospects: Prospects) -> pa.Table:
        p, w = self.people, self.world
        hit = np.isfinite(self.hit)
        rows: list[tuple[str, str, float]] = [
            ("stockout_repeat_multiplier", "hit_by_stockout", w.stockout_keep),
            ("stockout_hit_share", "all", float(hit.mean())),
            ("slow_delivery_days", "all", SLOW_DELIVERY_DAYS),
            ("kpi_repeat_multiplier", f"region={REGIONS[w.kpi_region]}", w.kpi_keep),
            ("storm_window_days", "all", float(STORM_WINDOW_DAYS)),
            ("cost_drainer_share", "all", float(p.is_drainer.mean())),
            ("strong_advocate_share", "all", float(p.is_advocate.mean())),
            ("lookalike_share", "prospects", float(prospects.is_lookalike.mean())),
            ("prospect_conversion_rate", "prospects", float((prospects.customer >= 0).mean())),
        ]
        for j in self.cat.storm_index:
            name = self.cat.name[j]
            rows.append(("storm_lift", f"product={name}", float(self.cat.storm_lift[j])))
        for col, names, betas in (("acquisition_channel", ACQ_CHANNELS, ACQ_BETA),
                                  ("company_size", SIZES, SIZE_BETA),
                                  ("industry", INDUSTRIES, INDUSTRY_BETA),
                                  ("region", REGIONS, REGION_BETA)):
            for name, beta in zip(names, betas, strict=True):
                rows.append(("icp_logit_beta", f"{col}={name}", float(beta)))
        top = customers["true_value_decile"].to_numpy() == 10
        for col, names, codes in (("acquisition_channel", ACQ_CHANNELS, p.channel),
                                  ("company_size", SIZES, p.size),
                                  ("industry", INDUSTRIES, p.industry),
                                  ("age_band", AGE_BANDS, p.age),
                                  ("region", REGIONS, p.region)):
            for k, name in enumerate(names):
                share_all = float((codes == k).mean())
                if share_all > 0 and top.any():
                    rows.append(("top_decile_lift", f"{col}={name}",
                                 float((codes[top] == k).mean()) / share_all))
        before, after, rest_b, rest_a = self._kpi_values()
        rows += [("repeat_rate_before", "rest", rest_b), ("repeat_rate_after", "rest", rest_a)]
        return pa.table({"effect": [r[0] for r in rows], "segment": [r[1] for r in rows],
                         "value": pa.array([float(r[2]) for r in rows])})

    def _kpi_values(self) -> tuple[float, float, float, float]:
        p, w = self.people, self.world
        seg = (p.region == w.kpi_region).astype(np.int64)
        acq_week = np.floor(p.acq_day / 7).astype(np.int64)
        acquired = np.cumsum(np.bincount(seg * self.n_weeks + acq_week,
                                         minlength=2 * self.n_weeks).reshape(2, self.n_weeks),
                             axis=1)
        rate = self.repeats / np.maximum(acquired, 1)
        cw = int(w.kpi_change_day // 7)
        full = w.days // 7  # complete weeks only
        b = slice(max(0, cw - KPI_WEEKS), cw)
        a = slice(cw, min(full, cw + KPI_WEEKS))
        return (float(rate[1, b].mean()), float(rate[1, a].mean()),
                float(rate[0, b].mean()), float(rate[0, a].mean()))

    def _kpi(self) -> pa.Table:
        w = self.world
        before, after, _, _ = self._kpi_values()
        change = self.start_day + np.timedelta64(int(w.kpi_change_day), "D")
        region = REGIONS[w.kpi_region]
        return pa.table({
            "kpi": ["repeat_rate"], "segment": [f"region={region}"],
            "change_date": pa.array([change.astype("datetime64[D]").astype(object)], pa.date32()),
            "before": pa.array([before]), "after": pa.array([after]),
            "segment_column": ["region"], "segment_value": [region],
            "multiplier": pa.array([w.kpi_keep]),
            "definition": ["repeat orders in a week per customer acquired by then; mean of the "
                           f"{KPI_WEEKS} weeks before / after change_date"]})


def _maybe_ts(start_sec: int, days: np.ndarray) -> Any:
    days = np.asarray(days)
    us = (start_sec + day_seconds(np.maximum(days, 0))) * 1_000_000
    return pa.array(us, pa.timestamp("us"), mask=days < 0)
