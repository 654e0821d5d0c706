"""Answers 1-3 about customers: most valuable, costing more than they are worth, advocates.

Each builder takes the per-customer :class:`~outsidein.services.questions.inputs.Inputs`
and returns ``(Answer, full ranked list or None)``.  The maths lives in the engines
(:mod:`outsidein.value`); here it is put into words.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import ibis
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pyarrow as pa

from outsidein.domain import SERVICE_COST_KINDS
from outsidein.services.questions.inputs import Inputs, customer_frame, frame
from outsidein.services.questions.model import Answer, NextAction, missing_answer
from outsidein.services.questions.wording import (
    NO_ORDERS,
    REASON_ROWS,
    UNITS,
    Q,
    pct,
    ranked,
)
from outsidein.value import (
    COST_COLUMNS,
    ReferralNetwork,
    WhaleCurve,
    advocate_reason,
    advocates_figure,
    analyse_cost_to_serve,
    compare_advocates,
    money,
    whale_curve,
    whale_figure,
)

if TYPE_CHECKING:
    from outsidein.warehouse.engine import Warehouse

__all__ = ["answer_advocates", "answer_cost_to_serve", "answer_value"]


# -- 1. value -------------------------------------------------------------------------


def _product_type_shares(inp: Inputs, customer_ids: pd.Series) -> pd.DataFrame:
    """Revenue share by product type, top decile vs the rest (aggregated in the warehouse)."""
    wh = inp.ws.warehouse()
    if not wh.has_table("products") or "product_type" not in wh.table("products").columns:
        return pd.DataFrame()
    ol, pr = wh.table("order_lines"), wh.table("products")
    if inp.query_start is not None:
        ol = ol.filter(ol.ts >= inp.query_start)
    if inp.query_end is not None:
        ol = ol.filter(ol.ts < inp.query_end)
    # all customers, and the top decile by a semi-join on their ids; the rest = all - top
    ids = ibis.memtable(pa.table({"cid": customer_ids.astype(str).to_numpy(dtype=object)}))
    j = ol.join(pr, ol.product_id == pr.product_id)
    everyone = frame(j.group_by(j.product_type).aggregate(revenue=j.revenue.sum()))
    jt = j.semi_join(ids, j.customer_id == ids.cid)
    best = frame(jt.group_by(jt.product_type).aggregate(revenue=jt.revenue.sum()))
    if everyone.empty or best.empty:
        return pd.DataFrame()
    g = everyone.set_index("product_type")["revenue"].to_frame(False)
    g[True] = best.set_index("product_type")["revenue"].reindex(g.index).fillna(0.0)
    g[False] = g[False] - g[True]
    return g / g.sum()


def _drivers(inp: Inputs, df: pd.DataFrame, top: np.ndarray) -> pd.DataFrame:
    """Means of the top decile (*top*) vs the rest: what sets the best customers apart."""
    rows = []
    d = {c: df[c] for c in df.columns}  # no copy of the (wide) frame
    d["avg_order_value"] = df["revenue"] / df["orders"].where(df["orders"] > 0)
    measures = [("orders", "orders in the period"), ("avg_order_value", "average order value"),
                ("margin", "margin"), ("cost_to_serve", "cost to serve"), ("profit", "profit"),
                ("tenure_weeks", "tenure (weeks)"), ("expected_purchases", "expected purchases"),
                ("prob_alive", "probability still active"), ("clv", "predicted value")]
    for col, words in measures:
        if col in d:
            values = pd.to_numeric(d[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            with np.errstate(invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # an empty side: mean is NaN
                a, b = np.nanmean(values[top]), np.nanmean(values[~top])
            if pd.notna(a) and pd.notna(b):
                rows.append({"driver": words, "top_decile": float(a), "rest": float(b)})
    if "channel" in d:
        ch = d["channel"].astype("string").fillna("unknown")
        share = pd.crosstab(ch, top, normalize="columns")
        if True in share.columns and False in share.columns:
            ratio = (share[True] / share[False].replace(0, np.nan)).dropna()
            for value in ratio.sort_values(ascending=False).index[:2]:
                rows.append({"driver": f"share acquired by {value}",
                             "top_decile": float(share.loc[value, True]),
                             "rest": float(share.loc[value, False])})
    shares = _product_type_shares(inp, df.loc[top, "customer_id"])
    if not shares.empty and True in shares.columns and False in shares.columns:
        ratio = shares[True] / shares[False].replace(0, np.nan)
        for ptype in ratio.dropna().sort_values(ascending=False).index[:3]:
            rows.append({"driver": f"revenue share from {ptype}",
                         "top_decile": float(shares.loc[ptype, True]),
                         "rest": float(shares.loc[ptype, False])})
    out = pd.DataFrame(rows, columns=["driver", "top_decile", "rest"])
    out["ratio"] = out["top_decile"] / out["rest"].replace(0, np.nan)
    return out


def _rank_by_value(wide: pd.DataFrame, *, has_clv: bool) -> tuple[pd.DataFrame, np.ndarray]:
    """The customers ranked by predicted value (else profit), deciled, top decile flagged.

    Also returns the top-decile flag in *wide*'s own row order (for the drivers).
    """
    # a narrow copy to rank: sorting the wide frame would move every text column
    keep = [c for c in ("customer_id", "clv", "value_decile", "profit", "revenue", "orders",
                        "margin", "cost_to_serve", "value_reason") if c in wide.columns]
    df = wide[keep].copy()
    for c in ("profit", "revenue", "margin", "cost_to_serve", "orders"):
        df[c] = df[c].fillna(0) if c in df.columns else 0.0
    # ties broken by id: the frame's row order differs by engine
    if has_clv:
        df = df.sort_values(["clv", "profit", "customer_id"], ascending=[False, False, True],
                            na_position="last")
    else:
        df = df.sort_values(["profit", "customer_id"], ascending=[False, True])
    n = len(df)
    if "value_decile" not in df.columns or df["value_decile"].isna().all():
        df["value_decile"] = (np.arange(n) * 10 // max(n, 1) + 1).astype("int64")
    df["is_top"] = (df["value_decile"] == 1).to_numpy()
    wide_top = df["is_top"].reindex(wide.index).fillna(False).to_numpy(dtype=bool)
    return ranked(df), wide_top


def _value_reasons(df: pd.DataFrame) -> list[str | None]:
    """Why each of the first ranked customers is valuable, in words (None further down)."""
    head_rows = df.head(REASON_ROWS)
    words = [f"realised profit {money(p)} on {int(o)} order{'' if o == 1 else 's'}"
             for p, o in zip(head_rows["profit"], head_rows["orders"], strict=True)]
    vr = (head_rows["value_reason"] if "value_reason" in df.columns
          else pd.Series([None] * len(head_rows)))
    return [f"{v}; {w}" if isinstance(v, str) and v else w
            for v, w in zip(vr, words, strict=True)] + [None] * (len(df) - len(head_rows))


def _top_decile_figures(inp: Inputs, df: pd.DataFrame, top: pd.DataFrame, *,
                        has_clv: bool) -> tuple[WhaleCurve, dict[str, float]]:
    """The whale curve of profit, and how much of profit and predicted value the top holds."""
    curve = whale_curve(inp.profit["profit"] if inp.profit is not None else df["profit"])
    f = dict(curve.figures)
    f["top_decile_customers"] = float(len(top))
    if has_clv:
        f["total_clv"] = float(df["clv"].sum())
        f["top_decile_clv"] = float(top["clv"].sum())
        f["top_decile_clv_share"] = f["top_decile_clv"] / f["total_clv"] if f["total_clv"] else 0.0
    return curve, f


def _value_headline(f: dict[str, float], n_top: int, *, has_clv: bool,
                    value_missing: str | None) -> str:
    """The value answer in a sentence: the top decile's share of profit and of future value."""
    head = (f"The top 10% of customers by profit made {pct(f['top_decile_share'])} of the "
            f"{money(f['total_profit'])} profit")
    if has_clv:
        head = (f"The top decile by predicted value ({n_top:,} customers) holds "
                f"{pct(f['top_decile_clv_share'])} of future value; t" + head[1:])
    if f["tail_destroys"] > 0:
        head += (f"; profit peaks at {f['peak_pct_of_total']:.0f}% of the total with the best "
                 f"{pct(f['peak_customer_share'])} of customers, and the rest destroy "
                 f"{money(f['tail_destroys'])}")
    if value_missing:
        head += f" (note: {value_missing})"
    return head + "."


def _protect_top_decile(f: dict[str, float], top: pd.DataFrame, *, has_clv: bool) -> NextAction:
    """The next action on value: protect the top-decile customers, and what they hold."""
    amount = f.get("top_decile_clv", float(top["profit"].sum()))
    return NextAction(f"protect the {len(top):,} top-decile customers: they hold "
                      f"{money(amount)} of {'predicted value' if has_clv else 'profit'}",
                      len(top), amount)


def answer_value(inp: Inputs, *, top_n: int) -> tuple[Answer, pd.DataFrame | None]:
    """Question 1: the most valuable customers, what sets the top decile apart, and why."""
    deps = ("marketing", "sales", "service", "finance")
    if inp.profit is None and inp.value is None:
        return missing_answer("value", Q["value"], NO_ORDERS, deps, "answer_value"), None
    wide = customer_frame(inp)
    has_clv = "clv" in wide.columns and wide["clv"].notna().any()
    df, wide_top = _rank_by_value(wide, has_clv=has_clv)
    df["reason"] = _value_reasons(df)
    top = df[df["is_top"]]
    curve, f = _top_decile_figures(inp, df, top, has_clv=has_clv)
    drivers = _drivers(inp, wide, wide_top)
    head = _value_headline(f, len(top), has_clv=has_clv, value_missing=inp.value_missing)
    action = _protect_top_decile(f, top, has_clv=has_clv)
    cols = ["rank", "customer_id", "clv", "value_decile", "profit", "revenue", "orders", "reason"]
    full = df.reindex(columns=[*cols, "margin", "cost_to_serve", "is_top"])
    answer = Answer("value", Q["value"], head, full[cols].head(top_n), f, action,
                    tables={"drivers": drivers}, figure=whale_figure(curve), departments=deps,
                    priority="high", table="answer_value",
                    title=f"Top 10% of customers make {pct(f['top_decile_share'])} of profit")
    return answer, full


# -- 2. cost to serve -----------------------------------------------------------------


def _cost_figure(f: dict[str, float]) -> Any:
    """The figure: the unprofitable customers' margin against their cost to serve by kind."""
    kinds = [k for k in SERVICE_COST_KINDS if f.get(f"unprofitable_cost_{k}", 0) > 0]
    fig = go.Figure([
        go.Bar(x=["their margin"], y=[f.get("unprofitable_margin", 0.0)], name="margin",
               marker_color="#2e8b57"),
        go.Bar(x=[f"{k} cost" for k in kinds], y=[f[f"unprofitable_cost_{k}"] for k in kinds],
               name="cost to serve", marker_color="#c0392b"),
    ])
    fig.update_layout(title="The unprofitable customers: their margin against what they cost",
                      yaxis_title="amount over the period", height=360, showlegend=False)
    return fig


def _cost_components(f: dict[str, float], full: pd.DataFrame) -> pd.DataFrame:
    """What the unprofitable customers cost, per kind of service cost: amount and count."""
    return pd.DataFrame({"kind": list(SERVICE_COST_KINDS),
                         "amount": [f[f"unprofitable_cost_{k}"] for k in SERVICE_COST_KINDS],
                         "count": [int(full[f"n_{k}"].sum()) for k in SERVICE_COST_KINDS]})


def _segment_words(segs: pd.DataFrame) -> str:
    """Where the unprofitable customers sit: segments losing money, else the highest share."""
    losing = segs[segs["profit"] < 0]
    if len(losing):
        return " Segments losing money: " + ", ".join(
            f"{r.segment.replace('_', ' ')} {r.value} ({money(r.profit)})"
            for r in losing.head(3).itertuples(index=False)) + "."
    if len(segs):
        r = segs.iloc[0]
        return (f" The highest share is in {r['segment'].replace('_', ' ')} {r['value']} "
                f"({pct(r['unprofitable_share'])} of its customers).")
    return ""


def _cost_words(f: dict[str, float], comps: pd.DataFrame,
                segs: pd.DataFrame) -> tuple[str, NextAction | None, str]:
    """The cost-to-serve answer in words: headline, next action (review terms) and title."""
    n = int(f["unprofitable_customers"])
    if n == 0:
        head = (f"No customer costs more to serve than they bring over the period "
                f"(median cost to serve {money(f['median_cost_to_serve'])}).")
        return head, None, "No customer costs more than they bring"
    main = comps.sort_values("amount", ascending=False).iloc[0]
    head = (f"{n:,} customers ({pct(f['unprofitable_share'])}) cost more to serve than they "
            f"bring: together they lose {money(-f['loss'])}, mostly through {main['kind']} "
            f"({money(main['amount'])} over {int(main['count']):,} "
            f"{UNITS.get(main['kind'], 'items')}); at the median cost to "
            f"serve ({money(f['median_cost_to_serve'])}) they would make "
            f"{money(f['whatif_unprofitable_profit'])} instead.") + _segment_words(segs)
    action = NextAction(f"review service terms for these {n:,} customers: they cost "
                        f"{money(-f['loss'])} more than they bring", n, -f["loss"])
    return head, action, f"{n:,} customers cost {money(-f['loss'])} more than they bring"


def answer_cost_to_serve(inp: Inputs, *, top_n: int) -> tuple[Answer, pd.DataFrame | None]:
    """Question 2: the customers who cost more to serve than they bring, and through what."""
    deps = ("service", "finance", "operations", "sales")
    name, table = "cost_to_serve", "answer_cost_to_serve"
    if inp.profit is None:
        return missing_answer(name, Q[name], NO_ORDERS, deps, table), None
    if not inp.has_service_costs:
        msg = ("no service costs loaded: customer profit needs what it costs to serve each "
               "customer (support, returns, delivery, discounts); load them with "
               "'outsidein load service_costs FILE'")
        return missing_answer(name, Q[name], msg, deps, table), None
    seg_cols = ("region", "industry", "company_size", "age_band", "acquisition_channel")
    attrs_inside = any(c in inp.profit.columns for c in seg_cols)
    res = analyse_cost_to_serve(inp.profit, None if attrs_inside else inp.customers)
    f = res.figures
    full = ranked(res.ranked.drop(columns=["first_order", "last_order"], errors="ignore"))
    segs = res.segments[(res.segments["customers"] >= 20)
                        & (res.segments["value"] != "unknown")].head(15)
    comps = _cost_components(f, full)
    head, action, title = _cost_words(f, comps, segs)
    cols = ["rank", "customer_id", "profit", "margin", "cost_to_serve", "main_cost", "n_support",
            "n_return", "profit_at_median_cost", "reason"]
    big = abs(f["loss"]) > 0.01 * max(abs(f["total_profit"]), 1.0)
    answer = Answer(name, Q[name], head, full[cols].head(top_n), f, action,
                    tables={"segments": segs, "components": comps}, figure=_cost_figure(f),
                    departments=deps, priority="high" if big else "medium", table=table,
                    title=title)
    return answer, full.reindex(columns=[*cols, "revenue", "orders", *COST_COLUMNS])


# -- 3. advocates ---------------------------------------------------------------------


def _referrals(wh: Warehouse) -> pd.DataFrame:
    """Who referred whom and when, in a fixed order (of two at the same time the first counts)."""
    t = wh.table("referrals")
    return frame(t.select("referrer_id", "referred_id", "ts")
                 .order_by(["ts", "referred_id", "referrer_id"]))


def _advocate_reasons(full: pd.DataFrame, value_column: str) -> list[str | None]:
    """Why each of the first ranked referrers is an advocate, in words (None further down)."""
    return [advocate_reason(r, value_column)
            for r in full.head(REASON_ROWS).itertuples(index=False)] + \
        [None] * max(0, len(full) - REASON_ROWS)


def _advocacy_figures(net: ReferralNetwork, full: pd.DataFrame, top: pd.DataFrame,
                      customers: pd.DataFrame, value_col: str) -> dict[str, float]:
    """The advocates' reach: referrers, the referred and their value, the top advocates' trees."""
    referred = net.referred_
    vals = (customers.set_index("customer_id")[value_col] if value_col in customers.columns
            else pd.Series())
    referred_value = float(vals.reindex(referred).fillna(0).sum())
    return {"referrers": float(len(full)), "referred_customers": float(len(referred)),
            "referred_value": referred_value, "top_advocates": float(len(top)),
            "top_direct_referrals": float(top["direct"].sum()),
            "top_tree_customers": float(top["tree_size"].sum()),
            "top_advocacy_value": float(top["advocacy_value"].sum()),
            "max_depth": float(full["depth"].max() if len(full) else 0), "decay": 0.5}


def _advocates_headline(f: dict[str, float], comparison: pd.DataFrame, value_col: str) -> str:
    """The advocates answer in a sentence: who referred how many, worth what, and their NPS."""
    what = "predicted value" if value_col == "clv" else "revenue"
    head = (f"{int(f['referrers']):,} customers referred {int(f['referred_customers']):,} others "
            f"({what} {money(f['referred_value'])}); the top {int(f['top_advocates'])} advocates "
            f"brought {int(f['top_direct_referrals']):,} directly and "
            f"{int(f['top_tree_customers']):,} counting referrals of referrals, worth "
            f"{money(f['top_advocacy_value'])} (each further level counted at half)")
    nps = comparison[comparison["measure"] == "nps"]
    if len(nps) and nps["advocates"].notna().all() and nps["others"].notna().all():
        head += (f"; their NPS averages {nps['advocates'].iloc[0]:.1f} vs "
                 f"{nps['others'].iloc[0]:.1f} for other customers")
    return head + "."


def answer_advocates(inp: Inputs, *, top_n: int) -> tuple[Answer, pd.DataFrame | None]:
    """Question 3: the advocates who bring new customers by referral, and what they bring."""
    deps = ("marketing", "sales", "service")
    name, table = "advocates", "answer_advocates"
    wh = inp.ws.warehouse()
    if wh.is_empty("referrals"):
        msg = ("no referrals loaded: advocates are found from who referred whom; load them with "
               "'outsidein load referrals FILE' (referrer_id, referred_id, ts)")
        return missing_answer(name, Q[name], msg, deps, table), None
    refs = _referrals(wh)
    df = customer_frame(inp)
    value_col = "clv" if "clv" in df.columns and df["clv"].notna().any() else "revenue"
    cust = df.reindex(columns=["customer_id", "revenue", "clv", "nps"])
    net = ReferralNetwork(decay=0.5, value_column=value_col).fit(refs, cust)
    full = net.scores_.copy()
    full["reason"] = _advocate_reasons(full, net.value_column_)
    top = full.head(top_n)
    f = _advocacy_figures(net, full, top, df, value_col)
    cmp_ = compare_advocates(top["customer_id"].tolist(), df).table
    head = _advocates_headline(f, cmp_, value_col)
    action = NextAction(f"thank and reward these {len(top)} advocates and ask them for more "
                        "introductions: their referrals are worth "
                        f"{money(f['top_advocacy_value'])}",
                        len(top), f["top_advocacy_value"])
    cols = ["rank", "customer_id", "direct", "tree_size", "depth", "referral_score",
            "direct_revenue", "direct_value", "advocacy_value", "nps", "reason"]
    full = full.reindex(columns=[*cols, "tree_revenue"])
    answer = Answer(name, Q[name], head, full[cols].head(top_n), f, action,
                    tables={"comparison": cmp_}, figure=advocates_figure(top), departments=deps,
                    priority="medium", table=table,
                    title=(f"{len(top)} advocates brought {int(f['top_tree_customers']):,} "
                           "customers"))
    return answer, full
