"""The warehouse side of ``outsidein market segments``: Ibis expressions only.

Every expression here is a function of the canonical tables (``order_lines``,
``customers``, ``products``, ``interactions``, ``availability``), so it runs on DuckDB
and unchanged on Spark; only compact results leave the warehouse (a clustering sample,
per-cluster profiles, the matrix's cells, the availability strata).

* :func:`orders` - one row per purchase order: customer, region, time, revenue (cents),
  and whether a line met a stock-out or a slow delivery (``availability``: not in stock,
  or ``delivery_days`` at least the slow threshold, for the product in the customer's
  region that day);
* :func:`rfm` - per customer recency, frequency, monetary, their quintile scores and the
  named segment (:data:`outsidein.market.rfm.RFM_SEGMENTS`);
* :func:`features` - the clustering features per customer;
* :func:`assign_clusters` - the nearest centre, computed in the warehouse;
* :func:`matrix_cells` - buyers, revenue and margin per (segment, cluster, band of
  purchase lines, product type);
* :func:`availability_rows` - the reference orders of hit customers and their controls,
  with what happened after each (see :mod:`outsidein.market.availability`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import ibis
import ibis.expr.types as ir

from outsidein.domain import line_margin, purchases, signed_lines
from outsidein.market.matrix import BANDS
from outsidein.market.rfm import N_SCORES, RFM_SEGMENTS
from outsidein.warehouse.schema import CHANNELS

__all__ = ["CONTACT_TYPES", "SECONDS_PER_DAY", "SHOPPING_TYPES", "assign_clusters",
           "availability_rows", "band", "data_end", "feature_names", "features",
           "matrix_cells", "orders", "product_types", "rfm", "stratum_sums"]

SECONDS_PER_DAY = 86_400
#: Interaction types that count as a service contact.
CONTACT_TYPES = ("support_call", "complaint")
#: Interaction types that say where a customer shops (the channel mix counts these).
SHOPPING_TYPES = ("visit", "product_view", "search", "cart_add", "checkout")
#: At most this many product types get their own feature (the rest are "other").
MAX_TYPES = 12


def _epoch(ts: ir.TimestampValue) -> ir.IntegerValue:
    return ts.epoch_seconds().cast("int64")


def orders(lines: ir.Table, customers: ir.Table, availability: ir.Table | None, *,
           slow_days: float) -> ir.Table:
    """One row per purchase order with its stock-out and slow-delivery flags.

    Columns ``customer_id, order_id, region, ts, t`` (epoch seconds), ``revenue_cents,
    stockout, slow, hit``.  An order without ``order_id`` is the customer's purchases at
    one time stamp.  Only the (product, region, day) cells that were out of stock or slow
    are joined to the lines (a small table: the join costs little).
    """
    p = purchases(lines)
    cust = customers.select(customer_id=customers.customer_id,
                            region=customers.region.fill_null("(none)"))
    j = p.left_join(cust, "customer_id")
    j = j.mutate(cents=(j.revenue.cast("float64").abs() * 100).round().cast("int64"),
                 # lines without an order id: one order per time stamp
                 ts_key=j.order_id.isnull().ifelse(j.ts, ibis.null("timestamp")))
    if availability is None:
        j = j.mutate(stock_bad=ibis.literal(0), slow_bad=ibis.literal(0))
    else:
        a = availability
        out = ~a.in_stock.fill_null(True)
        slow = a.delivery_days.fill_null(0.0) >= slow_days
        bad = a.filter(out | slow).select(
            a_product=a.product_id, a_region=a.region, a_day=a.date,
            a_out=out.cast("int32"), a_slow=slow.cast("int32"))
        j = j.mutate(day=j.ts.date())
        j = j.left_join(bad, [j.product_id == bad.a_product, j.region == bad.a_region,
                              j.day == bad.a_day])
        j = j.mutate(stock_bad=j.a_out.fill_null(0), slow_bad=j.a_slow.fill_null(0))
    o = j.group_by(["customer_id", "order_id", "ts_key", "region"]).aggregate(
        ts=j.ts.min(), revenue_cents=j.cents.sum(),
        stockout=j.stock_bad.max(), slow=j.slow_bad.max())
    return o.mutate(t=_epoch(o.ts), stockout=o.stockout == 1, slow=o.slow == 1,
                    hit=(o.stockout == 1) | (o.slow == 1)).drop("ts_key")


def data_end(o: ir.Table) -> int:
    """The end of the data: the last order's epoch second.

    Computed once and passed on as a literal: a reduction of *o* inside an expression
    derived from *o* would be read per row by Ibis's column dereferencing.
    """
    value = o.t.max().to_pyarrow().as_py()
    return int(value) if value is not None else 0


def _quintile(col: ir.Value, n: ir.IntegerScalar) -> ir.IntegerValue:
    """``1 + (5 x customers strictly worse) // n`` (ties share a score)."""
    return (1 + (N_SCORES * ibis.rank().over(order_by=col)) // n).cast("int64")


def rfm(o: ir.Table, lines: ir.Table, end: int) -> ir.Table:
    """Per customer: ``recency_days, orders, monetary`` (net of returns), scores, segment.

    ``monetary`` is net revenue in the company's currency (returns taken back, as
    :func:`outsidein.domain.signed_lines` decides); recency counts whole days from the
    customer's last order to the last order in the data.
    """
    per = o.group_by("customer_id").aggregate(
        orders=o.count(), first_t=o.t.min(), last_t=o.t.max())
    s = signed_lines(lines)
    money = s.group_by("customer_id").aggregate(
        net_cents=(s.rev.cast("float64") * 100).round().cast("int64").sum())
    c = per.left_join(money, "customer_id").drop("customer_id_right")
    end_ = ibis.literal(end, type="int64")
    c = c.mutate(recency_days=((end_ - c.last_t) // SECONDS_PER_DAY).cast("int64"),
                 monetary_cents=c.net_cents.fill_null(0),
                 tenure_days=((end_ - c.first_t) // SECONDS_PER_DAY).cast("int64"))
    n = c.count()
    c = c.mutate(r_score=_quintile(-c.recency_days, n), f_score=_quintile(c.orders, n),
                 m_score=_quintile(c.monetary_cents, n))
    fm = ((c.f_score + c.m_score + 1) // 2).cast("int64")
    seg = ibis.cases(*[(((c.r_score >= s_.r_min) & (c.r_score <= s_.r_max)
                         & (fm >= s_.fm_min) & (fm <= s_.fm_max)), s_.key)
                       for s_ in RFM_SEGMENTS], else_="lost")
    return c.select(
        "customer_id", "recency_days", "orders", "tenure_days", "first_t",
        monetary=c.monetary_cents.cast("float64") / 100.0,
        monetary_cents=c.monetary_cents, r_score=c.r_score, f_score=c.f_score,
        m_score=c.m_score,
        rfm=c.r_score.cast("string") + c.f_score.cast("string") + c.m_score.cast("string"),
        segment=seg)


def product_types(lines: ir.Table, products: ir.Table) -> list[str]:
    """The product types by revenue (at most :data:`MAX_TYPES`; the rest count as other)."""
    p = purchases(lines).join(products.select("product_id", "product_type"), "product_id")
    t = p.filter(p.product_type.notnull()).group_by("product_type").aggregate(
        cents=(p.revenue.cast("float64") * 100).round().cast("int64").sum())
    df = t.order_by([ibis.desc("cents"), "product_type"]).limit(MAX_TYPES).to_pandas()
    return [str(x) for x in df["product_type"]]


def feature_names(types: Sequence[str]) -> list[str]:
    """The clustering features, in order.

    >>> feature_names(["tools"])[:4]
    ['value', 'frequency', 'type:tools', 'channel:store']
    """
    return (["value", "frequency"] + [f"type:{t}" for t in types]
            + [f"channel:{c}" for c in CHANNELS] + ["service_contacts", "business"])


def features(r: ir.Table, lines: ir.Table, products: ir.Table, customers: ir.Table,
             interactions: ir.Table | None, types: Sequence[str]) -> ir.Table:
    """Per customer the clustering features (:func:`feature_names`) and profile figures.

    Besides the features: ``revenue`` (net), ``orders_per_year`` (orders over the years
    from the first order to the end of the data, at least a quarter), ``contacts``.
    """
    p = purchases(lines).join(products.select("product_id", "product_type"), "product_id")
    p = p.mutate(cents=(p.revenue.cast("float64") * 100).round().cast("int64"))
    mix = p.group_by("customer_id").aggregate(
        total_cents=p.cents.sum(),
        **{f"tc{i}": (p.product_type == t).ifelse(p.cents, 0).sum()
           for i, t in enumerate(types)})
    f = r.select("customer_id", "orders", "monetary", "tenure_days").left_join(
        mix, "customer_id").drop("customer_id_right")
    if interactions is not None:
        it = interactions
        ch = it.group_by("customer_id").aggregate(
            n_inter=it.type.isin(SHOPPING_TYPES).cast("int64").sum(),
            contacts=it.type.isin(CONTACT_TYPES).cast("int64").sum(),
            **{f"ch{i}": ((it.channel == c) & it.type.isin(SHOPPING_TYPES)).cast("int64").sum()
               for i, c in enumerate(CHANNELS)})
        f = f.left_join(ch, "customer_id").drop("customer_id_right")
    cu = customers.select(
        "customer_id",
        business=(customers.industry.notnull() | customers.company_size.notnull())
        .cast("float64"))
    f = f.left_join(cu, "customer_id").drop("customer_id_right")
    total = f.total_cents.fill_null(0)
    n_inter = f.n_inter.fill_null(0) if interactions is not None else ibis.literal(0)
    cols: dict[str, Any] = {
        "value": (f.monetary.clip(lower=0) + 1).ln(),
        "frequency": (f.orders.cast("float64") + 1).ln()}
    for i, t in enumerate(types):
        cols[f"type:{t}"] = (total > 0).ifelse(
            f[f"tc{i}"].fill_null(0).cast("float64") / total.cast("float64"), 0.0)
    for i, c in enumerate(CHANNELS):
        cols[f"channel:{c}"] = ((n_inter > 0).ifelse(
            f[f"ch{i}"].fill_null(0).cast("float64") / n_inter.cast("float64"), 0.0)
            if interactions is not None else ibis.literal(0.0))
    contacts = (f.contacts.fill_null(0) if interactions is not None else ibis.literal(0))
    cols["service_contacts"] = (contacts.cast("float64") + 1).ln()
    cols["business"] = f.business.fill_null(0.0)
    years = (f.tenure_days.cast("float64") / 365.25).clip(lower=0.25)
    return f.select("customer_id", **cols, revenue=f.monetary,
                    orders_per_year=f.orders.cast("float64") / years,
                    contacts=contacts.cast("float64"))


def assign_clusters(f: ir.Table, names: Sequence[str], mean: Sequence[float],
                    scale: Sequence[float], centers: Sequence[Sequence[float]]) -> ir.Table:
    """``customer_id, cluster``: the nearest centre in standardised units (ties: lowest)."""
    z = [(f[n] - float(m)) / float(s) for n, m, s in zip(names, mean, scale, strict=True)]
    d = [sum(((zj - float(cj)) ** 2 for zj, cj in zip(z, c, strict=True)),
             start=ibis.literal(0.0)) for c in centers]
    if len(d) == 1:
        return f.select("customer_id", cluster=ibis.literal(0, type="int64"))
    f2 = f.mutate(**{f"_d{k}": dk for k, dk in enumerate(d)})
    best = ibis.least(*[f2[f"_d{k}"] for k in range(len(d))])
    f2 = f2.mutate(_best=best)
    cluster = ibis.cases(*[(f2[f"_d{k}"] == f2._best, k) for k in range(len(d))],
                         else_=0).cast("int64")
    return f2.select("customer_id", cluster=cluster)


def band(n: ir.IntegerValue) -> ir.IntegerValue:
    """The band (:data:`outsidein.market.matrix.BANDS`) of a count of purchase lines."""
    return ibis.cases(*[(n >= b, b) for b in reversed(BANDS)], else_=1).cast("int64")


def matrix_cells(lines: ir.Table, products: ir.Table, seg: ir.Table) -> tuple[ir.Table, ir.Table]:
    """Per (segment, cluster, band, product_type) buyers, revenue, margin; and groups.

    *seg* is ``customer_segments`` (``customer_id, segment, cluster``); the band counts
    each customer's purchase lines.  Revenue and margin are net of returns
    (:func:`outsidein.domain.line_margin`).
    """
    prod = products.select("product_id", "product_type", "unit_cost")
    m = line_margin(lines.join(prod, "product_id"))
    m = m.filter(m.product_type.notnull())
    per = m.group_by(["customer_id", "product_type"]).aggregate(
        revenue=m.rev.sum(), margin=m.margin.sum(),
        bought=(m.qty > 0).cast("int64").max())
    p = purchases(lines)
    n_lines = p.group_by("customer_id").aggregate(n_lines=p.count())
    s = seg.select("customer_id", "segment", "cluster").join(n_lines, "customer_id")
    s = s.select("customer_id", "segment", "cluster", band=band(s.n_lines))
    j = per.join(s, "customer_id")
    cells = j.group_by(["segment", "cluster", "band", "product_type"]).aggregate(
        buyers=j.bought.sum(), revenue=j.revenue.sum(), margin=j.margin.sum())
    groups = s.group_by(["segment", "cluster", "band"]).aggregate(customers=s.count())
    return cells, groups


def _prior_band(k: ir.IntegerValue) -> ir.StringValue:
    return ibis.cases((k == 0, "0"), (k == 1, "1"), (k == 2, "2"), (k <= 4, "3-4"),
                      (k <= 8, "5-8"), else_="9+")


def _tenure_band(days: ir.IntegerValue) -> ir.StringValue:
    return ibis.cases((days < 90, "<3m"), (days < 180, "3-6m"), (days < 365, "6-12m"),
                      else_="1y+")


def availability_rows(o: ir.Table, seg: ir.Table, interactions: ir.Table | None,
                      end: int) -> ir.Table:
    """Reference orders of the hit customers (``treated``) and of their controls.

    One row per reference order: ``customer_id, treated, cause, cluster, stratum``
    (region | month | orders before | tenure band), ``orders_after``, ``complaints_after``
    and ``exposure_days``.  A treated row is a customer's first hit order, followed to the
    end of the data; a control row is an order that met no stock-out, of a customer not
    hit by then, followed to the end of the data or to the customer's own first hit.
    """
    w = ibis.window(group_by="customer_id", order_by=["t", "order_id"])
    whole = ibis.window(group_by="customer_id")
    x = o.mutate(k=ibis.row_number().over(w), n=o.count().over(whole),
                 first_t=o.t.min().over(whole))
    x = x.mutate(hk=x.hit.ifelse(x.k, ibis.null("int64")).min().over(whole),
                 ht=x.hit.ifelse(x.t, ibis.null("int64")).min().over(whole))
    treated = (x.k == x.hk).fill_null(False)
    control = (x.hk.isnull() | (x.k < x.hk)) & ~x.hit
    x = x.filter(treated | control)
    end_ = ibis.literal(end, type="int64")
    stop = treated.ifelse(end_, x.ht.fill_null(end_))
    after = treated.ifelse(x.n - 1 - x.k, x.hk.fill_null(x.n - 1) - x.k)
    x = x.mutate(treated=treated, stop=stop, orders_after=after.cast("int64"),
                 exposure_days=(stop - x.t).cast("float64") / SECONDS_PER_DAY,
                 cause=x.stockout.ifelse("stock-out", "slow delivery"),
                 stratum=(x.region + "|" + x.ts.year().cast("string") + "-"
                          + x.ts.month().cast("string") + "|" + _prior_band(x.k) + "|"
                          + _tenure_band((x.t - x.first_t) // SECONDS_PER_DAY)))
    x = x.mutate(ref=x.customer_id + "#" + x.k.cast("string"))
    if interactions is not None:
        c = interactions.filter(interactions.type == "complaint")
        c = c.select(c_customer=c.customer_id, c_t=_epoch(c.ts))
        j = x.select("ref", "customer_id", "t", "stop").join(
            c, [x.customer_id == c.c_customer, c.c_t > x.t, c.c_t <= x.stop])
        comp = j.group_by("ref").aggregate(complaints_after=j.count())
        x = x.left_join(comp, "ref").drop("ref_right")
        complaints = x.complaints_after.fill_null(0)
    else:
        complaints = ibis.literal(0, type="int64")
    x = x.left_join(seg.select("customer_id", "cluster"), "customer_id")
    return x.select("customer_id", "treated", "cause", "stratum", "orders_after",
                    "exposure_days", complaints_after=complaints.cast("int64"),
                    cluster=x.cluster.fill_null(-1))


def stratum_sums(rows: ir.Table, outcome: str, keys: Sequence[str],
                 extra: Mapping[str, ir.Value] | None = None) -> ir.Table:
    """Per customer within *keys*, then per *keys*: counts, exposure and their squares."""
    per = rows.group_by(["customer_id", *keys]).aggregate(
        count=rows[outcome].sum().cast("float64"), exposure=rows.exposure_days.sum())
    return per.group_by(list(keys)).aggregate(
        customers=per.count(), count=per["count"].sum(), exposure=per.exposure.sum(),
        count_sq=(per["count"] * per["count"]).sum(),
        count_exposure=(per["count"] * per.exposure).sum(),
        exposure_sq=(per.exposure * per.exposure).sum(), **(extra or {}))
