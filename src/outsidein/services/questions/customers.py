"""Answers 1-3 about customers: most valuable, costing more than they are worth, advocates.

Each builder takes the per-customer :class:`~outsidein.services.questions.inputs.Inputs`
and returns ``(Answer, full ranked list or None)``.  The maths lives in the engines
(:mod:`outsidein.value`); here it is put into words.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from outsidein.domain import SERVICE_COST_KINDS
from outsidein.services.questions.drivers import top_decile_drivers
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
    ValueBasis,
    WhaleCurve,
    advocate_reason,
    advocates_figure,
    analyse_cost_to_serve,
    compare_advocates,
    main_loss_cause,
    money,
    whale_curve,
    whale_figure,
    whale_words,
)

if TYPE_CHECKING:
    from outsidein.warehouse.engine import Warehouse

__all__ = ["answer_advocates", "answer_cost_to_serve", "answer_value"]


# -- 1. value -------------------------------------------------------------------------


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


def _value_reasons(df: pd.DataFrame, basis: ValueBasis) -> list[str | None]:
    """Why each of the first ranked customers is valuable, in words (None further down)."""
    head_rows = df.head(REASON_ROWS)
    what = "net revenue" if basis.basis == "revenue" else "realised profit"
    words = [f"{what} {money(p)} on {int(o)} order{'' if o == 1 else 's'}"
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


def _top_decile_words(f: dict[str, float], basis: ValueBasis) -> str | None:
    """What the top 10% by profit made, when that is a meaningful share (else None)."""
    word, n, total = basis.word, int(f["customers"]), f["total_profit"]
    if n < 2 or not (f.get("profitable_customers") or f.get("loss_makers")):
        return None
    who = f"the top 10% of customers by {word}{basis.qualifier}"
    if total > 0:
        return f"{who} made {pct(f['top_decile_share'])} of the {money(total)} {word}"
    return f"{who} made {money(f['top_decile_profit'])}"


def _value_headline(f: dict[str, float], n_top: int, *, has_clv: bool,
                    value_missing: str | None, basis: ValueBasis, cause: str | None) -> str:
    """The value answer in a sentence: the top decile's share of profit and of future value,
    and what the whale curve shows, true in the degenerate cases too."""
    parts = []
    if has_clv:
        future = "revenue" if basis.basis == "revenue" else "value"
        parts.append(f"the top decile by predicted {future} ({n_top:,} customers) holds "
                     f"{pct(f['top_decile_clv_share'])} of future {future}")
    top_words = _top_decile_words(f, basis)
    whale = whale_words(f, basis=basis.basis, cause=cause)
    if top_words:
        parts.append(top_words)
    elif basis.qualifier:
        whale += basis.qualifier
    parts.append(whale)
    head = "; ".join(parts)
    head = head[0].upper() + head[1:]
    if value_missing:
        head += f" (note: {value_missing})"
    return head + "."


def _value_title(f: dict[str, float], basis: ValueBasis, cause: str | None) -> str:
    """The value answer in a few words, for the hub."""
    if _top_decile_words(f, basis) and f["total_profit"] > 0:
        return f"Top 10% of customers make {pct(f['top_decile_share'])} of {basis.word}"
    words = whale_words(f, basis=basis.basis, cause=cause)
    return words[0].upper() + words[1:]


def _protect_top_decile(f: dict[str, float], top: pd.DataFrame, *, has_clv: bool,
                        basis: ValueBasis) -> NextAction:
    """The next action on value: protect the top-decile customers, and what they hold."""
    amount = f.get("top_decile_clv", float(top["profit"].sum()))
    what = (("predicted revenue" if basis.basis == "revenue" else "predicted value") if has_clv
            else basis.word)
    return NextAction(f"protect the {len(top):,} top-decile customers: they hold "
                      f"{money(amount)} of {what}", len(top), amount)


def answer_value(inp: Inputs, *, top_n: int) -> tuple[Answer, pd.DataFrame | None]:
    """Question 1: the most valuable customers, what sets the top decile apart, and why."""
    deps = ("marketing", "sales", "service", "finance")
    if inp.profit is None and inp.value is None:
        return missing_answer("value", Q["value"], NO_ORDERS, deps, "answer_value"), None
    wide = customer_frame(inp)
    has_clv = "clv" in wide.columns and wide["clv"].notna().any()
    basis = inp.basis
    df, wide_top = _rank_by_value(wide, has_clv=has_clv)
    df["reason"] = _value_reasons(df, basis)
    top = df[df["is_top"]]
    curve, f = _top_decile_figures(inp, df, top, has_clv=has_clv)
    cause = main_loss_cause(inp.profit if inp.profit is not None else df)
    drivers, skipped_words, skipped = top_decile_drivers(
        inp, wide, wide_top, ranked_by="clv" if has_clv else "profit")
    f["order_lines_without_product"] = float(skipped)
    head = _value_headline(f, len(top), has_clv=has_clv, value_missing=inp.value_missing,
                           basis=basis, cause=cause)
    action = _protect_top_decile(f, top, has_clv=has_clv, basis=basis)
    cols = ["rank", "customer_id", "clv", "value_decile", "profit", "revenue", "orders", "reason"]
    full = df.reindex(columns=[*cols, "margin", "cost_to_serve", "is_top"])
    caveats = tuple(c for c in (basis.caveat, *skipped_words) if c)
    answer = Answer("value", Q["value"], head, full[cols].head(top_n), f, action,
                    tables={"drivers": drivers}, figure=whale_figure(curve, word=basis.word),
                    departments=deps, priority="high", table="answer_value",
                    title=_value_title(f, basis, cause), caveats=caveats,
                    value_basis=basis.basis)
    return answer, full


# -- 2. cost to serve -----------------------------------------------------------------


def _cost_figure(f: dict[str, float], margin_word: str = "margin") -> Any:
    """The figure: the unprofitable customers' margin against their cost to serve by kind."""
    kinds = [k for k in SERVICE_COST_KINDS if f.get(f"unprofitable_cost_{k}", 0) > 0]
    fig = go.Figure([
        go.Bar(x=[f"their {margin_word}"], y=[f.get("unprofitable_margin", 0.0)],
               name=margin_word, marker_color="#2e8b57"),
        go.Bar(x=[f"{k} cost" for k in kinds], y=[f[f"unprofitable_cost_{k}"] for k in kinds],
               name="cost to serve", marker_color="#c0392b"),
    ])
    fig.update_layout(title=f"The unprofitable customers: their {margin_word} against what "
                            "they cost",
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
            f"{r.segment.replace('_', ' ')} {str(r.value).replace('_', ' ')} ({money(r.profit)})"
            for r in losing.head(3).itertuples(index=False)) + "."
    if len(segs):
        r = segs.iloc[0]
        return (f" The highest share is in {r['segment'].replace('_', ' ')} "
                f"{str(r['value']).replace('_', ' ')} "
                f"({pct(r['unprofitable_share'])} of its customers).")
    return ""


def _cost_words(f: dict[str, float], comps: pd.DataFrame, segs: pd.DataFrame,
                basis: ValueBasis) -> tuple[str, NextAction | None, str]:
    """The cost-to-serve answer in words: headline, next action (review terms) and title."""
    n = int(f["unprofitable_customers"])
    net = " in net revenue" + basis.qualifier if basis.basis == "revenue" else ""
    if n == 0:
        head = (f"No customer costs more to serve than they bring{net} over the period "
                f"(median cost to serve {money(f['median_cost_to_serve'])}).")
        return head, None, "No customer costs more than they bring"
    main = comps.sort_values("amount", ascending=False).iloc[0]
    one = n == 1
    who = "1 customer" if one else f"{n:,} customers"
    head = (f"{who} ({pct(f['unprofitable_share'])}) cost{'s' if one else ''} more to serve "
            f"than {'it brings' if one else 'they bring'}{net}: "
            f"{'it loses' if one else 'together they lose'} {money(-f['loss'])}, mostly through "
            f"{main['kind']} "
            f"({money(main['amount'])} over {int(main['count']):,} "
            f"{UNITS.get(main['kind'], 'items')}); at the median cost to "
            f"serve ({money(f['median_cost_to_serve'])}) {'it' if one else 'they'} would make "
            f"{money(f['whatif_unprofitable_profit'])} instead.") + _segment_words(segs)
    action = NextAction(f"review service terms for these {n:,} customers: they cost "
                        f"{money(-f['loss'])} more than they bring", n, -f["loss"])
    title = (f"{who} cost{'s' if one else ''} {money(-f['loss'])} more than "
             f"{'it brings' if one else 'they bring'}")
    return head, action, title


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
    margin_word = "net revenue" if inp.basis.basis == "revenue" else "margin"
    res = analyse_cost_to_serve(inp.profit, None if attrs_inside else inp.customers,
                                margin_word=margin_word)
    f = res.figures
    full = ranked(res.ranked.drop(columns=["first_order", "last_order"], errors="ignore"))
    segs = res.segments[(res.segments["customers"] >= 20)
                        & (res.segments["value"] != "unknown")].head(15)
    comps = _cost_components(f, full)
    head, action, title = _cost_words(f, comps, segs, inp.basis)
    cols = ["rank", "customer_id", "profit", "margin", "cost_to_serve", "main_cost", "n_support",
            "n_return", "profit_at_median_cost", "reason"]
    big = abs(f["loss"]) > 0.01 * max(abs(f["total_profit"]), 1.0)
    answer = Answer(name, Q[name], head, full[cols].head(top_n), f, action,
                    tables={"segments": segs, "components": comps},
                    figure=_cost_figure(f, margin_word), departments=deps,
                    priority="high" if big else "medium", table=table, title=title,
                    caveats=(inp.basis.caveat,) if inp.basis.caveat else (),
                    value_basis=inp.basis.basis)
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
                           "customers"),
                    caveats=(inp.basis.caveat,) if inp.basis.caveat and value_col == "clv"
                    else (), value_basis=inp.basis.basis)
    return answer, full
