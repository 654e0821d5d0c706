"""The demo company's planted truths exist and agree with the data loaded from it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy.special import hyp2f1
from sklearn.metrics import roc_auc_score

from outsidein.demo.customers import BGNBD
from outsidein.warehouse.schema import TABLES
from outsidein.workspace import Workspace


def rows(ws: Workspace, sql: str) -> list[tuple[Any, ...]]:
    return ws.warehouse().duckdb.execute(sql).fetchall()


def one(ws: Workspace, sql: str) -> Any:
    """The single value (or the single row) of *sql*."""
    row = rows(ws, sql)[0]
    return row[0] if len(row) == 1 else row


def test_every_table_is_loaded_and_the_truth_tables_match_it(demo_ws: Workspace) -> None:
    for table in TABLES:
        assert one(demo_ws, f"SELECT count(*) FROM {table}") > 0, table
    assert one(demo_ws, "SELECT count(*) FROM customers") == 3_000
    assert one(demo_ws, "SELECT count(*) FROM customers WHERE is_stub") == 0
    assert one(demo_ws, "SELECT count(*) FROM quarantine") == 0
    for truth, table in (("truth_customers", "customers"), ("truth_prospects", "prospects"),
                         ("truth_products", "products"), ("truth_stages", "interactions")):
        assert one(demo_ws, f"SELECT count(*) FROM {truth}") == one(
            demo_ws, f"SELECT count(*) FROM {table}"), truth
    assert one(demo_ws, "SELECT count(*) FROM truth_customers t ANTI JOIN customers c "
                        "USING (customer_id)") == 0
    params = dict(((m, p), v) for m, p, v in rows(demo_ws, "SELECT * FROM truth_params"))
    assert params[("bgnbd", "r")] == BGNBD["r"] and params[("gamma_gamma", "gamma")] == 40.0
    columns = {r[0] for r in rows(demo_ws, "DESCRIBE truth_customers")}
    assert {"customer_id", "lam", "p_dropout", "alive_at_end", "mean_spend",
            "future_revenue_52w", "true_value_decile", "is_cost_drainer", "is_strong_advocate",
            "hit_by_stockout", "segment"} <= columns


def test_customers_are_acquired_over_the_first_year_and_order_until_the_end(
        demo_ws: Workspace) -> None:
    first, last = one(demo_ws, "SELECT min(first_seen), max(first_seen) FROM customers")
    assert str(first) >= "2024-01-01" and str(last) < "2025-01-01"
    assert str(one(demo_ws, "SELECT max(ts) FROM order_lines")) >= "2025-12-01"
    # every customer's first order is at their first_seen
    assert one(demo_ws, "SELECT count(*) FROM (SELECT customer_id, min(ts) t FROM order_lines "
                        "GROUP BY 1) o JOIN customers c USING (customer_id) "
                        "WHERE o.t <> date_trunc('second', c.first_seen)") == 0


def test_early_repeat_purchases_match_the_bgnbd_expectation(demo_ws: Workspace) -> None:
    r, alpha, a, b = (BGNBD[k] for k in ("r", "alpha", "a", "b"))
    t = 8.0  # weeks after acquisition
    expected = (a + b - 1) / (a - 1) * (
        1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))
    got = one(demo_ws, """
        SELECT avg(n) FROM (SELECT c.customer_id, count(DISTINCT o.order_id) n FROM customers c
        LEFT JOIN order_lines o ON o.customer_id = c.customer_id AND NOT o.is_return
         AND o.ts > c.first_seen + INTERVAL 1 SECOND AND o.ts <= c.first_seen + INTERVAL 56 DAY
        GROUP BY 1)""")
    assert got == pytest.approx(expected, rel=0.15)
    assert one(demo_ws, "SELECT avg(lam) FROM truth_customers") == pytest.approx(r / alpha,
                                                                                 rel=0.1)


def test_cost_drainers_cost_more_to_serve_than_their_margin(demo_ws: Workspace) -> None:
    result = rows(demo_ws, """
        WITH m AS (SELECT customer_id,
                          sum(revenue - coalesce(discount, 0) - p.unit_cost * quantity) AS mg
                   FROM order_lines JOIN products p USING (product_id) GROUP BY 1),
             c AS (SELECT customer_id, sum(amount) AS cost FROM service_costs GROUP BY 1)
        SELECT t.is_cost_drainer, count(*), avg((coalesce(c.cost, 0) > m.mg)::int)
        FROM truth_customers t JOIN m USING (customer_id) LEFT JOIN c USING (customer_id)
        GROUP BY 1""")
    by_flag = {flag: (n, share) for flag, n, share in result}
    assert 0.03 <= by_flag[True][0] / 3_000 <= 0.05
    assert by_flag[True][1] == 1.0        # every drainer costs more than it brings
    assert by_flag[False][1] < 0.02       # almost no one else does
    # drainers show it in their contacts and returns
    contacts = dict(rows(demo_ws, """
        SELECT t.is_cost_drainer, count(i.customer_id) / count(DISTINCT t.customer_id)
        FROM truth_customers t LEFT JOIN interactions i ON i.customer_id = t.customer_id
         AND i.type IN ('support_call', 'complaint') GROUP BY 1"""))
    assert contacts[True] > 5 * contacts[False]


def test_strong_advocates_refer_many_more_customers(demo_ws: Workspace) -> None:
    refs = dict(rows(demo_ws, """
        SELECT t.is_strong_advocate, count(r.referred_id) / count(DISTINCT t.customer_id)
        FROM truth_customers t LEFT JOIN referrals r ON r.referrer_id = t.customer_id
        GROUP BY 1"""))
    assert refs[True] >= 8 and refs[True] > 20 * refs[False]
    # the trees go deeper: some customers referred by an advocate refer others
    assert one(demo_ws, """
        SELECT count(*) FROM referrals r1 JOIN truth_customers t ON t.customer_id = r1.referrer_id
        JOIN referrals r2 ON r2.referrer_id = r1.referred_id WHERE t.is_strong_advocate""") > 0
    # referrals point back in time: the referrer was a customer first
    assert one(demo_ws, """
        SELECT count(*) FROM referrals r JOIN customers a ON a.customer_id = r.referrer_id
        JOIN customers b ON b.customer_id = r.referred_id
        WHERE a.first_seen >= b.first_seen""") == 0
    promoters = one(demo_ws, """
        SELECT avg((c.nps >= 9)::int) FROM customers c JOIN truth_customers t USING (customer_id)
        WHERE t.is_strong_advocate AND c.nps IS NOT NULL""")
    assert promoters >= 0.9


STORM_LIFT = """
    WITH w AS (SELECT DISTINCT region, CAST(start AS DATE) - CAST(i AS INTEGER) AS d
               FROM context_events, range(1, 4) t(i) WHERE kind = 'storm_warning'),
    l AS (SELECT o.product_id, c.region, CAST(o.ts AS DATE) AS d FROM order_lines o
          JOIN customers c USING (customer_id) WHERE NOT o.is_return),
    days AS (SELECT r.region, CAST(dd.d AS DATE) AS d,
                    EXISTS (SELECT 1 FROM w WHERE w.region = r.region
                            AND w.d = CAST(dd.d AS DATE)) AS in_window
             FROM (SELECT DISTINCT region FROM customers) r,
                  range(DATE '2024-07-01', DATE '2026-01-01', INTERVAL 1 DAY) dd(d)),
    nd AS (SELECT sum(in_window::int) AS win_days, sum((NOT in_window)::int) AS other_days
           FROM days),
    s AS (SELECT l.product_id, count(*) FILTER (WHERE days.in_window) AS n_in,
                 count(*) FILTER (WHERE NOT days.in_window) AS n_out
          FROM l JOIN days ON days.region = l.region AND days.d = l.d GROUP BY 1)
    SELECT p.name, p.storm_sensitive, (n_in / win_days) / (n_out / other_days) AS lift, n_out
    FROM s JOIN truth_products p USING (product_id), nd"""


def test_storm_products_sell_several_times_their_normal_rate_before_storms(
        demo_ws: Workspace) -> None:
    lifts = rows(demo_ws, STORM_LIFT)
    planted = {name: lift for name, sensitive, lift, _ in lifts if sensitive}
    assert set(planted) == {"Strawberry Pop-Tarts", "Flashlight", "AA Batteries"}
    assert all(lift >= 3 for lift in planted.values()), planted
    ordinary = [lift for _, sensitive, lift, n_out in lifts if not sensitive and n_out >= 100]
    assert len(ordinary) > 50
    assert max(ordinary) < 3
    assert np.median(ordinary) == pytest.approx(1.0, abs=0.25)
    assert one(demo_ws, "SELECT count(DISTINCT region) FROM context_events "
                        "WHERE kind = 'storm_warning'") == 5


def test_customers_hit_by_stockouts_repeat_less(demo_ws: Workspace) -> None:
    # the hits can be found from the loaded data: an order line on a bad product-region-day
    found = rows(demo_ws, """
        SELECT o.customer_id, min(o.ts) FROM order_lines o JOIN customers c USING (customer_id)
        JOIN availability a ON a.product_id = o.product_id AND a.region = c.region
         AND a.date = CAST(o.ts AS DATE)
        WHERE NOT o.is_return AND (NOT a.in_stock OR a.delivery_days >= 7) GROUP BY 1""")
    truth = dict(rows(demo_ws, "SELECT customer_id, hit_ts FROM truth_customers "
                               "WHERE hit_by_stockout"))
    assert dict(found) == truth
    assert 0.02 <= len(truth) / 3_000 <= 0.15
    hit_rate, control_rate = one(demo_ws, """
        WITH o AS (SELECT customer_id, order_id, min(ts) AS ts FROM order_lines
                   WHERE NOT is_return GROUP BY ALL),
        h AS (SELECT customer_id, hit_ts AS ts FROM truth_customers
              WHERE hit_by_stockout AND hit_ts < TIMESTAMP '2025-07-01'),
        weeks AS (SELECT DISTINCT date_trunc('week', ts) AS w FROM h),
        ctrl AS (SELECT o.customer_id, o.ts FROM o JOIN truth_customers t USING (customer_id)
                 WHERE NOT t.hit_by_stockout AND date_trunc('week', o.ts) IN (SELECT w FROM weeks)),
        after_hit AS (SELECT h.customer_id, h.ts, count(o.order_id) AS n FROM h LEFT JOIN o
                      ON o.customer_id = h.customer_id AND o.ts > h.ts
                       AND o.ts <= h.ts + INTERVAL 182 DAY GROUP BY ALL),
        after_ctrl AS (SELECT c.customer_id, c.ts, count(o.order_id) AS n FROM ctrl c LEFT JOIN o
                       ON o.customer_id = c.customer_id AND o.ts > c.ts
                        AND o.ts <= c.ts + INTERVAL 182 DAY GROUP BY ALL)
        SELECT (SELECT avg(n) FROM after_hit), (SELECT avg(n) FROM after_ctrl)""")
    assert hit_rate < 0.85 * control_rate
    assert one(demo_ws, "SELECT value FROM truth_effects "
                        "WHERE effect = 'stockout_repeat_multiplier'") == 0.5


def test_the_coast_repeat_rate_falls_from_the_change_date(demo_ws: Workspace) -> None:
    segment, change = one(demo_ws, "SELECT segment, change_date FROM truth_kpi_changes "
                                   "WHERE kpi = 'repeat_rate'")
    assert segment == "region=coast"

    def repeat_rate(coast: bool, lo: int, hi: int) -> float:
        op = "=" if coast else "<>"
        return one(demo_ws, f"""
            WITH o AS (SELECT o.customer_id, o.order_id, min(o.ts) AS ts
                       FROM order_lines o JOIN customers c USING (customer_id)
                       WHERE NOT o.is_return AND c.region {op} 'coast' GROUP BY ALL),
            rep AS (SELECT * FROM o WHERE ts > (SELECT min(ts) FROM o o2
                                                WHERE o2.customer_id = o.customer_id))
            SELECT count(*) / (SELECT count(*) FROM customers WHERE region {op} 'coast')
            FROM rep WHERE ts >= DATE '{change}' + {lo} AND ts < DATE '{change}' + {hi}""")

    coast_before, coast_after = repeat_rate(True, -91, 0), repeat_rate(True, 0, 91)
    rest_before, rest_after = repeat_rate(False, -91, 0), repeat_rate(False, 0, 91)
    assert coast_after < 0.7 * coast_before
    assert rest_after > 0.75 * rest_before
    before, after = one(demo_ws, "SELECT before, after FROM truth_kpi_changes")
    assert after < 0.7 * before


def test_converted_prospects_point_at_matching_later_customers(demo_ws: Workspace) -> None:
    n, converted, linked, later, same_region = one(demo_ws, """
        SELECT count(*), count(p.converted_customer_id), count(c.customer_id),
               count(*) FILTER (WHERE c.first_seen >= p.created),
               count(*) FILTER (WHERE c.region = p.region)
        FROM prospects p LEFT JOIN customers c ON c.customer_id = p.converted_customer_id""")
    assert n == 750 and converted == linked == later == same_region
    assert 0.1 < converted / n < 0.45
    assert one(demo_ws, """SELECT count(*) FROM truth_prospects t JOIN prospects p
        USING (prospect_id) WHERE t.converted <> (p.converted_customer_id IS NOT NULL)""") == 0
    # conversion follows the known model: the true probabilities rank the outcomes
    p_conv, conv = zip(*rows(demo_ws, "SELECT p_convert, converted::int FROM truth_prospects"),
                       strict=True)
    assert roc_auc_score(conv, p_conv) > 0.6
    look = rows(demo_ws, """SELECT p.source, p.company_size, p.industry FROM truth_prospects t
        JOIN prospects p USING (prospect_id) WHERE t.is_lookalike""")
    assert 0.02 < len(look) / n < 0.08
    assert set(look) == {("trade_show", "50-200", "manufacturing")}


def test_the_best_customers_share_a_learnable_profile(demo_ws: Workspace) -> None:
    lift = dict(rows(demo_ws, """
        WITH c AS (SELECT c.*, t.true_value_decile = 10 AS top FROM customers c
                   JOIN truth_customers t USING (customer_id))
        SELECT 'trade_show', avg((acquisition_channel = 'trade_show')::int) FILTER (WHERE top)
               / avg((acquisition_channel = 'trade_show')::int) FROM c
        UNION ALL
        SELECT '50-200', avg(coalesce(company_size = '50-200', false)::int) FILTER (WHERE top)
               / avg(coalesce(company_size = '50-200', false)::int) FROM c"""))
    assert lift["trade_show"] > 1.5 and lift["50-200"] > 1.5
    # the true value deciles follow the hidden year's revenue
    means = [r[1] for r in rows(demo_ws, "SELECT true_value_decile, avg(future_revenue_52w) "
                                         "FROM truth_customers GROUP BY 1 ORDER BY 1")]
    assert means[-1] > 3 * np.mean(means) and means[-1] == max(means)


def test_interactions_follow_the_buying_cycle(demo_ws: Workspace) -> None:
    stages = dict(rows(demo_ws, "SELECT stage, count(*) FROM truth_stages GROUP BY 1"))
    assert set(stages) == {"awareness", "consideration", "purchase", "loyalty", "lapse"}
    per_customer = one(demo_ws, "SELECT count(*) / 3000 FROM interactions")
    assert 5 <= per_customer <= 20
    assert one(demo_ws, "SELECT count(DISTINCT channel) FROM interactions") == 7
    # awareness comes before the first purchase, lapse after the last
    assert one(demo_ws, """SELECT count(*) FROM truth_stages s JOIN customers c
        USING (customer_id) WHERE s.stage = 'awareness' AND s.ts >= c.first_seen""") == 0
    assert one(demo_ws, """SELECT count(*) FROM truth_stages s JOIN truth_customers t
        USING (customer_id) WHERE s.stage = 'lapse' AND s.ts < t.dropout_ts""") == 0
    checkout = dict(rows(demo_ws, """SELECT stage, avg((type = 'checkout')::int)
        FROM truth_stages GROUP BY 1"""))
    assert checkout["purchase"] == 1.0 and checkout["awareness"] == 0.0


def test_margins_differ_by_product_type(demo_ws: Workspace) -> None:
    margin = dict(rows(demo_ws, """
        SELECT product_type, sum(revenue - discount - unit_cost * quantity) / sum(revenue)
        FROM order_lines JOIN products USING (product_id) WHERE NOT is_return GROUP BY 1"""))
    assert len(margin) == 8
    assert margin["electronics"] < margin["accessories"] - 0.2
