"""Answers 4-5 about prospects: the ideal prospects, and those most likely to convert.

Each builder takes the per-customer :class:`~outsidein.services.questions.inputs.Inputs`
and returns ``(Answer, full ranked list or None)``.

Both use the attributes the customers and prospects files brought besides the
canonical columns (:mod:`outsidein.warehouse.attributes`): the ideal customer
profile describes the top customers by all their attributes, the look-alike
model scores prospects on those prospects have too, and the conversion model
learns from the prospects' own attributes.  Time stamps are not used.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import train_test_split

from outsidein.services.questions.inputs import Inputs, customer_frame, frame
from outsidein.services.questions.model import Answer, NextAction, missing_answer
from outsidein.services.questions.wording import NO_PROSPECTS, REASON_ROWS, Q, pct, ranked
from outsidein.value.conversion import ConversionModel, calibration_figure, calibration_table
from outsidein.value.profit import money
from outsidein.value.prospects import (
    PROFILE_ATTRIBUTES,
    LookalikeModel,
    feature_words,
    ideal_customer_profile,
    lookalike_figure,
    profile_reasons,
)
from outsidein.warehouse.attributes import read_attributes

__all__ = ["answer_ideal_prospects", "answer_likely_converts"]


#: columns the answers add to the customer and prospect frames (an attribute so named is
#: renamed "<name> (attribute)")
_DERIVED = ("converted", "is_top", "score", "score_decile", "status", "rank", "reason",
            "probability", "split", "channel")


def _with_attributes(inp: Inputs, df: pd.DataFrame, table: str,
                     key: str) -> tuple[pd.DataFrame, list[str]]:
    """*df* with the attributes of *table*'s entities (not time stamps), and their names."""
    if f"attributes:{table}" not in inp.extras:
        attrs = read_attributes(inp.ws.warehouse(), table)
        attrs = attrs[[c for c in attrs.columns
                       if not pd.api.types.is_datetime64_any_dtype(attrs[c])]]
        inp.extras[f"attributes:{table}"] = attrs
    attrs = inp.extras[f"attributes:{table}"]
    if len(attrs.columns) <= 1:
        return df, []
    attrs = attrs.rename(columns={c: f"{c} (attribute)" for c in attrs.columns
                                  if c != key and (c in df.columns or c in _DERIVED)})
    names = [c for c in attrs.columns if c != key]
    out = df.assign(**{key: df[key].astype(str)}).merge(attrs, on=key, how="left")
    return out, names


# -- 4. ideal prospects ---------------------------------------------------------------


def _prospects(inp: Inputs) -> pd.DataFrame | None:
    """The prospects in id order with their attributes and whether each converted (kept).

    The names of the prospects' attributes are kept in ``inp.extras["prospect_attributes"]``.
    """
    wh = inp.ws.warehouse()
    if wh.is_empty("prospects"):
        return None
    if "prospects" not in inp.extras:
        # in id order: the split and the fits below depend on row order, which differs by engine
        p = frame(wh.table("prospects").order_by("prospect_id"))
        p["prospect_id"] = p["prospect_id"].astype(str)
        p["converted"] = p["converted_customer_id"].notna()
        p, inp.extras["prospect_attributes"] = _with_attributes(inp, p, "prospects",
                                                                "prospect_id")
        inp.extras["prospects"] = p
    return inp.extras["prospects"]


def _with_top_customers(df: pd.DataFrame) -> pd.DataFrame:
    """The customers in id order with the top decile flagged (by value, else by profit)."""
    # in id order (a copy): the lookalike fit depends on row order, which differs by engine
    df = df.sort_values("customer_id", ignore_index=True)
    if "value_decile" in df.columns and df["value_decile"].notna().any():
        df["is_top"] = df["value_decile"] == 1
    else:
        df["is_top"] = df["profit"].fillna(0).rank(ascending=False, pct=True) <= 0.1
    return df


def _rank_lookalikes(pros: pd.DataFrame, score: np.ndarray) -> pd.DataFrame:
    """The prospects by look-alike score: score decile, status, and rank among the open ones."""
    pros["score"] = score
    pros = pros.sort_values(["score", "prospect_id"], ascending=[False, True])
    pros["score_decile"] = (np.arange(len(pros)) * 10 // max(len(pros), 1) + 1).astype("int64")
    pros["status"] = np.where(pros["converted"], "converted", "open")
    full = pros.reset_index(drop=True)
    is_open = (full["status"] == "open").to_numpy()
    full["rank"] = pd.array(np.where(is_open, np.cumsum(is_open), 0), dtype="Int64")
    full.loc[~is_open, "rank"] = pd.NA
    return full


def _lookalike_figures(full: pd.DataFrame, open_: pd.DataFrame, best: pd.DataFrame,
                       customers: pd.DataFrame, profile: pd.DataFrame,
                       mean_top_value: float) -> dict[str, float]:
    """The numbers of the ideal-prospects answer: prospects, the best open ones, the profile."""
    f = {"prospects": float(len(full)), "open_prospects": float(len(open_)),
         "top_decile_open_prospects": float(len(best)),
         "top_decile_min_score": float(full.loc[full["score_decile"] == 1, "score"].min()),
         "top_customer_rate": float(customers["is_top"].mean()),
         "profile_attributes": float(len(profile)),
         "mean_top_customer_value": mean_top_value}
    if len(profile):
        f["best_lift"] = float(profile["lift"].iloc[0])
    return f


def _ideal_prospects_words(profile: pd.DataFrame, n_best: int,
                           mean_top_value: float) -> tuple[str, NextAction]:
    """The ideal customer profile in words, and the next action: route look-alikes to sales."""
    if len(profile):
        trait = "top-decile customers are most often " + ", ".join(
            f"{feature_words(r.attribute, r.value)} ({r.lift:.1f}x as likely to be top)"
            for r in profile.head(3).itertuples(index=False))
    else:
        trait = "no attribute value stands out among the top-decile customers"
    head = (f"Ideal customer profile: {trait}; {n_best:,} open prospects look most like "
            f"them (top 10% of similarity scores).")
    action = NextAction(f"route these {n_best:,} look-alike prospects to sales first: as "
                        "top-decile customers they would be worth "
                        f"{money(n_best * mean_top_value)}",
                        n_best, n_best * mean_top_value)
    return head, action


def answer_ideal_prospects(inp: Inputs, *, top_n: int) -> tuple[Answer, pd.DataFrame | None]:
    """Question 4: the open prospects who look most like the best customers, and why."""
    deps = ("marketing", "sales")
    name, table = "ideal_prospects", "answer_ideal_prospects"
    pros = _prospects(inp)
    if pros is None:
        return missing_answer(name, Q[name], NO_PROSPECTS, deps, table), None
    df = customer_frame(inp)
    df, extra = _with_attributes(inp, df, "customers", "customer_id")
    canonical = [a for a in PROFILE_ATTRIBUTES if a in df.columns and df[a].notna().any()]
    attrs = canonical + [a for a in extra if df[a].notna().any()]
    if not attrs or "value_decile" not in df.columns and "profit" not in df.columns:
        msg = ("customers have no attributes or value to learn a profile from: load customers "
               "with region/industry/company_size/age_band or columns of your own (income, "
               "household size, ...; 'outsidein load customers FILE') and order_lines")
        return missing_answer(name, Q[name], msg, deps, table), None
    df = _with_top_customers(df)
    pros = pros.copy()
    if "channel" in attrs and "source" in pros.columns:
        pros["channel"] = pros["source"]
    icp = ideal_customer_profile(df, attrs)
    # the look-alike scores prospects: only the attributes they have too
    shared = canonical + [a for a in attrs[len(canonical):] if a in pros.columns
                          and pros[a].notna().any()]
    model = LookalikeModel(attributes=shared).fit(df, df["is_top"])
    full = _rank_lookalikes(pros, model.predict_proba(pros))
    icp_r = icp[icp["lift"] >= 1.2]
    full["reason"] = None
    full.loc[: REASON_ROWS - 1, "reason"] = profile_reasons(full.head(REASON_ROWS), icp_r)
    open_ = full[full["status"] == "open"]
    best = open_[open_["score_decile"] == 1]
    mean_top_value = float(df.loc[df["is_top"], "clv" if "clv" in df.columns else "profit"].mean())
    f = _lookalike_figures(full, open_, best, df, icp_r, mean_top_value)
    head, action = _ideal_prospects_words(icp_r, len(best), mean_top_value)
    cols = ["rank", "prospect_id", "score", "score_decile", "reason"]
    shown = open_[cols].head(top_n).reset_index(drop=True)
    scores = full["score"].to_numpy()
    full = full.reindex(columns=[*cols, "status", *[a for a in attrs if a in full.columns]])
    profile = icp.drop(columns=["low", "high"]).head(15)
    answer = Answer(name, Q[name], head, shown, f, action, tables={"profile": profile},
                    figure=lookalike_figure(scores), departments=deps,
                    priority="medium", table=table,
                    title=f"{len(best):,} prospects look like our best customers")
    return answer, full


# -- 5. likely converts ---------------------------------------------------------------


def _conversion_split(pros: pd.DataFrame, min_age_days: int,
                      seed: int) -> tuple[pd.DataFrame, pd.Index, pd.Index]:
    """Prospects old enough to have had their chance, split into training and held-out."""
    created = pd.to_datetime(pros["created"])
    old = created <= created.max() - timedelta(days=min_age_days)
    eligible = pros["converted"] | old
    if (eligible & ~pros["converted"]).sum() < 50:
        eligible[:] = True  # too few old prospects: use all, a young one may still convert
    el = pros[eligible]
    tr, te = train_test_split(el.index, test_size=0.2, stratify=el["converted"], random_state=seed)
    return el, tr, te


def _rank_open_prospects(pros: pd.DataFrame, model: ConversionModel) -> pd.DataFrame:
    """The open prospects by probability to convert, ranked, the first with their reasons."""
    open_ = pros[pros["status"] == "open"].sort_values(["probability", "prospect_id"],
                                                       ascending=[False, True])
    open_ = ranked(open_)
    open_["reason"] = None
    head_rows = open_.head(REASON_ROWS)
    open_.loc[head_rows.index, "reason"] = model.reasons(head_rows)
    return open_


def _mean_customer_value(inp: Inputs) -> float:
    """What a customer is worth on average: mean predicted value (else profit)."""
    df = customer_frame(inp)
    vcol = "clv" if "clv" in df.columns and df["clv"].notna().any() else "profit"
    return float(df[vcol].mean()) if vcol in df.columns else 0.0


def _likely_converts_words(f: dict[str, float], shown: pd.DataFrame) -> tuple[str, NextAction]:
    """The likely converts in words: their chance against the past rate, and whom to call."""
    expected = f["expected_conversions_top"]
    head = (f"The {len(shown)} likeliest of {int(f['open_prospects']):,} open prospects have on "
            f"average a {pct(shown['probability'].mean())} chance to convert (past prospects: "
            f"{pct(f['conversion_rate'])}); on prospects it had not seen, the model put the one "
            f"who converted ahead of the one who did not in {pct(f['auc'])} of pairs.")
    action = NextAction(f"call these {len(shown)} prospects first: about {expected:.0f} of them "
                        f"should become customers, worth "
                        f"{money(expected * f['mean_customer_value'])}",
                        len(shown), expected * f["mean_customer_value"])
    return head, action


def _all_prospects(open_: pd.DataFrame, pros: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    """The full list: the ranked open prospects, then the converted ones (unranked)."""
    rest = pros[pros["status"] == "converted"].assign(rank=pd.NA, reason=None)
    full = pd.concat([open_, rest], ignore_index=True).reindex(
        columns=[*cols, "status", "split", "converted"])
    full["rank"] = full["rank"].astype("Int64")
    return full


def answer_likely_converts(inp: Inputs, *, top_n: int, min_age_days: int = 90,
                           seed: int = 0) -> tuple[Answer, pd.DataFrame | None]:
    """Question 5: the open prospects most likely to convert, by a held-out-checked model."""
    deps = ("sales", "marketing")
    name, table = "likely_converts", "answer_likely_converts"
    pros = _prospects(inp)
    if pros is None:
        return missing_answer(name, Q[name], NO_PROSPECTS, deps, table), None
    if pros["converted"].sum() < 5 or (~pros["converted"]).sum() < 5:
        msg = (f"the conversion model needs past prospects who converted and who did not "
               f"(found {int(pros['converted'].sum())} converted of {len(pros)}): load prospects "
               "with converted_customer_id set for those who became customers "
               "('outsidein load prospects FILE')")
        return missing_answer(name, Q[name], msg, deps, table), None
    pros = pros.copy()
    el, tr, te = _conversion_split(pros, min_age_days, seed)
    model = ConversionModel(random_state=seed, attributes=inp.extras["prospect_attributes"]).fit(
        pros.loc[tr], pros.loc[tr, "converted"])
    pros["probability"] = model.predict_proba(pros)
    y_te, p_te = pros.loc[te, "converted"].to_numpy(), pros.loc[te, "probability"].to_numpy()
    auc = float(roc_auc_score(y_te, p_te))
    calib = calibration_table(p_te, y_te)
    pros["split"] = "not_used"
    pros.loc[tr, "split"] = "train"
    pros.loc[te, "split"] = "test"
    pros["status"] = np.where(pros["converted"], "converted", "open")
    open_ = _rank_open_prospects(pros, model)
    shown = open_.head(top_n)
    expected = float(shown["probability"].sum())
    f = {"auc": auc, "brier": float(brier_score_loss(y_te, p_te)),
         "trained_prospects": float(len(tr)), "held_out_prospects": float(len(te)),
         "conversion_rate": float(el["converted"].mean()), "open_prospects": float(len(open_)),
         "expected_conversions_open": float(open_["probability"].sum()),
         "expected_conversions_top": expected, "mean_customer_value": _mean_customer_value(inp)}
    head, action = _likely_converts_words(f, shown)
    cols = ["rank", "prospect_id", "probability", "source", "reason"]
    full = _all_prospects(open_, pros, cols)
    answer = Answer(name, Q[name], head, shown.reindex(columns=cols).reset_index(drop=True), f,
                    action, tables={"calibration": calib}, figure=calibration_figure(calib, auc),
                    departments=deps, priority="high", table=table,
                    title=(f"{len(shown)} prospects likely to convert: about {expected:.0f} "
                           "new customers"))
    return answer, full
