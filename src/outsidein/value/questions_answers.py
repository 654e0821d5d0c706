"""The five answer builders behind :func:`outsidein.value.questions.answer_five_questions`.

Each builder takes the per-customer :class:`~outsidein.value.questions.Inputs`
and returns ``(Answer, full ranked list or None)``.  The maths lives in the
engines (:mod:`~outsidein.value.profit`, :mod:`~outsidein.value.advocacy`,
:mod:`~outsidein.value.prospects`); here it is put into words.
"""

from __future__ import annotations

import warnings
from datetime import timedelta
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa

from outsidein.value.profit import (
    COST_COLUMNS,
    analyse_cost_to_serve,
    money,
    whale_curve,
    whale_figure,
)
from outsidein.value.questions import (
    Answer,
    Inputs,
    NextAction,
    customer_frame,
    frame,
    is_empty,
    missing_answer,
)
from outsidein.warehouse.schema import SERVICE_COST_KINDS

Q = {
    "value": "Which customers are most valuable, and why?",
    "cost_to_serve": "Which customers cost more time, energy and money than they are worth?",
    "advocates": "Who are our advocates, bringing new business by referral?",
    "ideal_prospects": "Who are our ideal prospects?",
    "likely_converts": "Which prospects are most likely to become customers, and why?",
}
_UNITS = {"support": "contacts", "return": "returns", "delivery": "deliveries",
          "discount": "discounts", "other": "items"}
REASON_ROWS = 5000  # rows of a full list that get a reason in words (the rest: ranked only)
_NO_ORDERS = ("no orders loaded: this answer needs order_lines and products; load them with "
              "'outsidein load order_lines FILE' and 'outsidein load products FILE'")
_NO_PROSPECTS = ("no prospects loaded: load them with 'outsidein load prospects FILE' "
                 "(prospect_id, created, source, attributes, converted_customer_id)")


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _ranked(df: pd.DataFrame) -> pd.DataFrame:
    df = df.reset_index(drop=True)
    df.insert(0, "rank", np.arange(1, len(df) + 1))
    return df


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


def answer_value(inp: Inputs, *, top_n: int) -> tuple[Answer, pd.DataFrame | None]:
    deps = ("marketing", "sales", "service", "finance")
    if inp.profit is None and inp.value is None:
        return missing_answer("value", Q["value"], _NO_ORDERS, deps, "answer_value"), None
    wide = customer_frame(inp)
    # a narrow copy to rank: sorting the wide frame would move every text column
    keep = [c for c in ("customer_id", "clv", "value_decile", "profit", "revenue", "orders",
                        "margin", "cost_to_serve", "value_reason") if c in wide.columns]
    df = wide[keep].copy()
    for c in ("profit", "revenue", "margin", "cost_to_serve", "orders"):
        df[c] = df[c].fillna(0) if c in df.columns else 0.0
    has_clv = "clv" in df.columns and df["clv"].notna().any()
    if has_clv:
        df = df.sort_values(["clv", "profit"], ascending=False, na_position="last")
    else:
        df = df.sort_values("profit", ascending=False)
    n = len(df)
    if "value_decile" not in df.columns or df["value_decile"].isna().all():
        df["value_decile"] = (np.arange(n) * 10 // max(n, 1) + 1).astype("int64")
    df["is_top"] = (df["value_decile"] == 1).to_numpy()
    wide_top = df["is_top"].reindex(wide.index).fillna(False).to_numpy(dtype=bool)
    df = _ranked(df)
    head_rows = df.head(REASON_ROWS)
    words = [f"realised profit {money(p)} on {int(o)} order{'' if o == 1 else 's'}"
             for p, o in zip(head_rows["profit"], head_rows["orders"], strict=True)]
    vr = (head_rows["value_reason"] if "value_reason" in df.columns
          else pd.Series([None] * len(head_rows)))
    df["reason"] = [f"{v}; {w}" if isinstance(v, str) and v else w
                    for v, w in zip(vr, words, strict=True)] + [None] * (n - len(head_rows))
    curve = whale_curve(inp.profit["profit"] if inp.profit is not None else df["profit"])
    f = dict(curve.figures)
    top = df[df["is_top"]]
    f["top_decile_customers"] = float(len(top))
    if has_clv:
        f["total_clv"] = float(df["clv"].sum())
        f["top_decile_clv"] = float(top["clv"].sum())
        f["top_decile_clv_share"] = f["top_decile_clv"] / f["total_clv"] if f["total_clv"] else 0.0
    drivers = _drivers(inp, wide, wide_top)
    head = (f"The top 10% of customers by profit made {_pct(f['top_decile_share'])} of the "
            f"{money(f['total_profit'])} profit")
    if has_clv:
        head = (f"The top decile by predicted value ({len(top):,} customers) holds "
                f"{_pct(f['top_decile_clv_share'])} of future value; t" + head[1:])
    if f["tail_destroys"] > 0:
        head += (f"; profit peaks at {f['peak_pct_of_total']:.0f}% of the total with the best "
                 f"{_pct(f['peak_customer_share'])} of customers, and the rest destroy "
                 f"{money(f['tail_destroys'])}")
    amount = f.get("top_decile_clv", float(top["profit"].sum()))
    action = NextAction(f"protect the {len(top):,} top-decile customers: they hold "
                        f"{money(amount)} of {'predicted value' if has_clv else 'profit'}",
                        len(top), amount)
    if inp.value_missing:
        head += f" (note: {inp.value_missing})"
    cols = ["rank", "customer_id", "clv", "value_decile", "profit", "revenue", "orders", "reason"]
    full = df.reindex(columns=[*cols, "margin", "cost_to_serve", "is_top"])
    answer = Answer("value", Q["value"], head + ".", full[cols].head(top_n), f, action,
                    tables={"drivers": drivers}, figure=whale_figure(curve), departments=deps,
                    priority="high", table="answer_value",
                    title=f"Top 10% of customers make {_pct(f['top_decile_share'])} of profit")
    return answer, full


# -- 2. cost to serve -----------------------------------------------------------------


def _cost_figure(f: dict[str, float]) -> Any:
    import plotly.graph_objects as go

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


def answer_cost_to_serve(inp: Inputs, *, top_n: int) -> tuple[Answer, pd.DataFrame | None]:
    deps = ("service", "finance", "operations", "sales")
    name, table = "cost_to_serve", "answer_cost_to_serve"
    if inp.profit is None:
        return missing_answer(name, Q[name], _NO_ORDERS, deps, table), None
    if not inp.has_service_costs:
        msg = ("no service costs loaded: customer profit needs what it costs to serve each "
               "customer (support, returns, delivery, discounts); load them with "
               "'outsidein load service_costs FILE'")
        return missing_answer(name, Q[name], msg, deps, table), None
    seg_cols = ("region", "industry", "company_size", "age_band", "acquisition_channel")
    attrs_inside = any(c in inp.profit.columns for c in seg_cols)
    res = analyse_cost_to_serve(inp.profit, None if attrs_inside else inp.customers)
    f = res.figures
    full = _ranked(res.ranked.drop(columns=["first_order", "last_order"], errors="ignore"))
    segs = res.segments[(res.segments["customers"] >= 20)
                        & (res.segments["value"] != "unknown")].head(15)
    losing = segs[segs["profit"] < 0]
    comps = pd.DataFrame({"kind": list(SERVICE_COST_KINDS),
                          "amount": [f[f"unprofitable_cost_{k}"] for k in SERVICE_COST_KINDS],
                          "count": [int(full[f"n_{k}"].sum()) for k in SERVICE_COST_KINDS]})
    n = int(f["unprofitable_customers"])
    if n == 0:
        head = (f"No customer costs more to serve than they bring over the period "
                f"(median cost to serve {money(f['median_cost_to_serve'])}).")
        action = None
        title = "No customer costs more than they bring"
    else:
        main = comps.sort_values("amount", ascending=False).iloc[0]
        head = (f"{n:,} customers ({_pct(f['unprofitable_share'])}) cost more to serve than they "
                f"bring: together they lose {money(-f['loss'])}, mostly through {main['kind']} "
                f"({money(main['amount'])} over {int(main['count']):,} "
                f"{_UNITS.get(main['kind'], 'items')}); at the median cost to "
                f"serve ({money(f['median_cost_to_serve'])}) they would make "
                f"{money(f['whatif_unprofitable_profit'])} instead.")
        if len(losing):
            head += " Segments losing money: " + ", ".join(
                f"{r.segment.replace('_', ' ')} {r.value} ({money(r.profit)})"
                for r in losing.head(3).itertuples(index=False)) + "."
        elif len(segs):
            r = segs.iloc[0]
            head += (f" The highest share is in {r['segment'].replace('_', ' ')} {r['value']} "
                     f"({_pct(r['unprofitable_share'])} of its customers).")
        action = NextAction(f"review service terms for these {n:,} customers: they cost "
                            f"{money(-f['loss'])} more than they bring", n, -f["loss"])
        title = f"{n:,} customers cost {money(-f['loss'])} more than they bring"
    cols = ["rank", "customer_id", "profit", "margin", "cost_to_serve", "main_cost", "n_support",
            "n_return", "profit_at_median_cost", "reason"]
    big = abs(f["loss"]) > 0.01 * max(abs(f["total_profit"]), 1.0)
    answer = Answer(name, Q[name], head, full[cols].head(top_n), f, action,
                    tables={"segments": segs, "components": comps}, figure=_cost_figure(f),
                    departments=deps, priority="high" if big else "medium", table=table,
                    title=title)
    return answer, full.reindex(columns=[*cols, "revenue", "orders", *COST_COLUMNS])


# -- 3. advocates ---------------------------------------------------------------------


def answer_advocates(inp: Inputs, *, top_n: int) -> tuple[Answer, pd.DataFrame | None]:
    from outsidein.value.advocacy import (
        ReferralNetwork,
        advocate_reason,
        advocates_figure,
        compare_advocates,
    )

    deps = ("marketing", "sales", "service")
    name, table = "advocates", "answer_advocates"
    wh = inp.ws.warehouse()
    if is_empty(wh, "referrals"):
        msg = ("no referrals loaded: advocates are found from who referred whom; load them with "
               "'outsidein load referrals FILE' (referrer_id, referred_id, ts)")
        return missing_answer(name, Q[name], msg, deps, table), None
    t = wh.table("referrals")
    refs = frame(t.select("referrer_id", "referred_id", "ts"))
    df = customer_frame(inp)
    value_col = "clv" if "clv" in df.columns and df["clv"].notna().any() else "revenue"
    cust = df.reindex(columns=["customer_id", "revenue", "clv", "nps"])
    net = ReferralNetwork(decay=0.5, value_column=value_col).fit(refs, cust)
    full = net.scores_.copy()
    full["reason"] = [advocate_reason(r, net.value_column_)
                      for r in full.head(REASON_ROWS).itertuples(index=False)] + \
        [None] * max(0, len(full) - REASON_ROWS)
    top = full.head(top_n)
    referred = net.referred_
    vals = df.set_index("customer_id")[value_col] if value_col in df.columns else pd.Series()
    referred_value = float(vals.reindex(referred).fillna(0).sum())
    cmp_ = compare_advocates(top["customer_id"].tolist(), df).table
    f = {"referrers": float(len(full)), "referred_customers": float(len(referred)),
         "referred_value": referred_value, "top_advocates": float(len(top)),
         "top_direct_referrals": float(top["direct"].sum()),
         "top_tree_customers": float(top["tree_size"].sum()),
         "top_advocacy_value": float(top["advocacy_value"].sum()),
         "max_depth": float(full["depth"].max() if len(full) else 0), "decay": 0.5}
    what = "predicted value" if value_col == "clv" else "revenue"
    head = (f"{len(full):,} customers referred {len(referred):,} others ({what} "
            f"{money(referred_value)}); the top {len(top)} advocates brought "
            f"{int(f['top_direct_referrals']):,} directly and {int(f['top_tree_customers']):,} "
            f"counting referrals of referrals, worth {money(f['top_advocacy_value'])} "
            f"(each further level counted at half)")
    nps = cmp_[cmp_["measure"] == "nps"]
    if len(nps) and nps["advocates"].notna().all() and nps["others"].notna().all():
        head += (f"; their NPS averages {nps['advocates'].iloc[0]:.1f} vs "
                 f"{nps['others'].iloc[0]:.1f} for other customers")
    action = NextAction(f"thank and reward these {len(top)} advocates and ask them for more "
                        "introductions: their referrals are worth "
                        f"{money(f['top_advocacy_value'])}",
                        len(top), f["top_advocacy_value"])
    cols = ["rank", "customer_id", "direct", "tree_size", "depth", "referral_score",
            "direct_revenue", "direct_value", "advocacy_value", "nps", "reason"]
    full = full.reindex(columns=[*cols, "tree_revenue"])
    answer = Answer(name, Q[name], head + ".", full[cols].head(top_n), f, action,
                    tables={"comparison": cmp_}, figure=advocates_figure(top), departments=deps,
                    priority="medium", table=table,
                    title=(f"{len(top)} advocates brought {int(f['top_tree_customers']):,} "
                           "customers"))
    return answer, full


# -- 4. ideal prospects ---------------------------------------------------------------


def _prospects(inp: Inputs) -> pd.DataFrame | None:
    wh = inp.ws.warehouse()
    if is_empty(wh, "prospects"):
        return None
    if "prospects" not in inp.extras:
        p = frame(wh.table("prospects"))
        p["prospect_id"] = p["prospect_id"].astype(str)
        p["converted"] = p["converted_customer_id"].notna()
        inp.extras["prospects"] = p
    return inp.extras["prospects"]


def answer_ideal_prospects(inp: Inputs, *, top_n: int) -> tuple[Answer, pd.DataFrame | None]:
    from outsidein.value.prospects import (
        PROFILE_ATTRIBUTES,
        LookalikeModel,
        feature_words,
        ideal_customer_profile,
        lookalike_figure,
        profile_reasons,
    )

    deps = ("marketing", "sales")
    name, table = "ideal_prospects", "answer_ideal_prospects"
    pros = _prospects(inp)
    if pros is None:
        return missing_answer(name, Q[name], _NO_PROSPECTS, deps, table), None
    df = customer_frame(inp)
    attrs = [a for a in PROFILE_ATTRIBUTES if a in df.columns and df[a].notna().any()]
    if not attrs or "value_decile" not in df.columns and "profit" not in df.columns:
        msg = ("customers have no attributes or value to learn a profile from: load customers "
               "with region/industry/company_size/age_band ('outsidein load customers FILE') "
               "and order_lines")
        return missing_answer(name, Q[name], msg, deps, table), None
    df = df.copy()
    if "value_decile" in df.columns and df["value_decile"].notna().any():
        df["is_top"] = df["value_decile"] == 1
    else:
        df["is_top"] = df["profit"].fillna(0).rank(ascending=False, pct=True) <= 0.1
    pros = pros.copy()
    if "channel" in attrs and "source" in pros.columns:
        pros["channel"] = pros["source"]
    icp = ideal_customer_profile(df, attrs)
    model = LookalikeModel(attributes=attrs).fit(df, df["is_top"])
    pros["score"] = model.predict_proba(pros)
    pros = pros.sort_values(["score", "prospect_id"], ascending=[False, True])
    pros["score_decile"] = (np.arange(len(pros)) * 10 // max(len(pros), 1) + 1).astype("int64")
    pros["status"] = np.where(pros["converted"], "converted", "open")
    full = pros.reset_index(drop=True)
    is_open = (full["status"] == "open").to_numpy()
    full["rank"] = pd.array(np.where(is_open, np.cumsum(is_open), 0), dtype="Int64")
    full.loc[~is_open, "rank"] = pd.NA
    icp_r = icp[icp["lift"] >= 1.2]
    full["reason"] = None
    full.loc[: REASON_ROWS - 1, "reason"] = profile_reasons(full.head(REASON_ROWS), icp_r)
    open_ = full[full["status"] == "open"]
    best = open_[open_["score_decile"] == 1]
    mean_top_value = float(df.loc[df["is_top"], "clv" if "clv" in df.columns else "profit"].mean())
    f = {"prospects": float(len(full)), "open_prospects": float(len(open_)),
         "top_decile_open_prospects": float(len(best)),
         "top_decile_min_score": float(full.loc[full["score_decile"] == 1, "score"].min()),
         "top_customer_rate": float(df["is_top"].mean()),
         "profile_attributes": float(len(icp_r)),
         "mean_top_customer_value": mean_top_value}
    if len(icp_r):
        f["best_lift"] = float(icp_r["lift"].iloc[0])
        trait = "top-decile customers are most often " + ", ".join(
            f"{feature_words(r.attribute, r.value)} ({r.lift:.1f}x as likely to be top)"
            for r in icp_r.head(3).itertuples(index=False))
    else:
        trait = "no attribute value stands out among the top-decile customers"
    head = (f"Ideal customer profile: {trait}; {len(best):,} open prospects look most like "
            f"them (top 10% of similarity scores).")
    action = NextAction(f"route these {len(best):,} look-alike prospects to sales first: as "
                        "top-decile customers they would be worth "
                        f"{money(len(best) * mean_top_value)}",
                        len(best), len(best) * mean_top_value)
    cols = ["rank", "prospect_id", "score", "score_decile", "reason"]
    shown = open_[cols].head(top_n).reset_index(drop=True)
    full = full.reindex(columns=[*cols, "status", *[a for a in attrs if a in full.columns]])
    answer = Answer(name, Q[name], head, shown, f, action, tables={"profile": icp.head(15)},
                    figure=lookalike_figure(pros["score"].to_numpy()), departments=deps,
                    priority="medium", table=table,
                    title=f"{len(best):,} prospects look like our best customers")
    return answer, full


# -- 5. likely converts ---------------------------------------------------------------


def answer_likely_converts(inp: Inputs, *, top_n: int, min_age_days: int = 90,
                           seed: int = 0) -> tuple[Answer, pd.DataFrame | None]:
    from sklearn.metrics import brier_score_loss, roc_auc_score
    from sklearn.model_selection import train_test_split

    from outsidein.value.prospects import ConversionModel, calibration_figure, calibration_table

    deps = ("sales", "marketing")
    name, table = "likely_converts", "answer_likely_converts"
    pros = _prospects(inp)
    if pros is None:
        return missing_answer(name, Q[name], _NO_PROSPECTS, deps, table), None
    if pros["converted"].sum() < 5 or (~pros["converted"]).sum() < 5:
        msg = (f"the conversion model needs past prospects who converted and who did not "
               f"(found {int(pros['converted'].sum())} converted of {len(pros)}): load prospects "
               "with converted_customer_id set for those who became customers "
               "('outsidein load prospects FILE')")
        return missing_answer(name, Q[name], msg, deps, table), None
    pros = pros.copy()
    created = pd.to_datetime(pros["created"])
    old = created <= created.max() - timedelta(days=min_age_days)
    eligible = pros["converted"] | old
    if (eligible & ~pros["converted"]).sum() < 50:
        eligible[:] = True  # too few old prospects: use all, a young one may still convert
    el = pros[eligible]
    tr, te = train_test_split(el.index, test_size=0.2, stratify=el["converted"], random_state=seed)
    model = ConversionModel(random_state=seed).fit(pros.loc[tr], pros.loc[tr, "converted"])
    pros["probability"] = model.predict_proba(pros)
    y_te, p_te = pros.loc[te, "converted"].to_numpy(), pros.loc[te, "probability"].to_numpy()
    auc = float(roc_auc_score(y_te, p_te))
    calib = calibration_table(p_te, y_te)
    pros["split"] = "not_used"
    pros.loc[tr, "split"] = "train"
    pros.loc[te, "split"] = "test"
    pros["status"] = np.where(pros["converted"], "converted", "open")
    open_ = pros[pros["status"] == "open"].sort_values(["probability", "prospect_id"],
                                                       ascending=[False, True])
    open_ = _ranked(open_)
    open_["reason"] = None
    head_rows = open_.head(REASON_ROWS)
    open_.loc[head_rows.index, "reason"] = model.reasons(head_rows)
    df = customer_frame(inp)
    vcol = "clv" if "clv" in df.columns and df["clv"].notna().any() else "profit"
    mean_value = float(df[vcol].mean()) if vcol in df.columns else 0.0
    shown = open_.head(top_n)
    expected = float(shown["probability"].sum())
    f = {"auc": auc, "brier": float(brier_score_loss(y_te, p_te)),
         "trained_prospects": float(len(tr)), "held_out_prospects": float(len(te)),
         "conversion_rate": float(el["converted"].mean()), "open_prospects": float(len(open_)),
         "expected_conversions_open": float(open_["probability"].sum()),
         "expected_conversions_top": expected, "mean_customer_value": mean_value}
    head = (f"The {len(shown)} likeliest of {len(open_):,} open prospects have on average a "
            f"{_pct(shown['probability'].mean())} chance to convert (past prospects: "
            f"{_pct(f['conversion_rate'])}); the model ranks held-out prospects with "
            f"AUC {auc:.2f}.")
    action = NextAction(f"call these {len(shown)} prospects first: about {expected:.0f} of them "
                        f"should become customers, worth {money(expected * mean_value)}",
                        len(shown), expected * mean_value)
    cols = ["rank", "prospect_id", "probability", "source", "reason"]
    rest = pros[pros["status"] == "converted"].assign(rank=pd.NA, reason=None)
    full = pd.concat([open_, rest], ignore_index=True).reindex(
        columns=[*cols, "status", "split", "converted"])
    full["rank"] = full["rank"].astype("Int64")
    answer = Answer(name, Q[name], head, shown.reindex(columns=cols).reset_index(drop=True), f,
                    action, tables={"calibration": calib}, figure=calibration_figure(calib, auc),
                    departments=deps, priority="high", table=table,
                    title=(f"{len(shown)} prospects likely to convert: about {expected:.0f} "
                           "new customers"))
    return answer, full


BUILDERS = (answer_value, answer_cost_to_serve, answer_advocates, answer_ideal_prospects,
            answer_likely_converts)
