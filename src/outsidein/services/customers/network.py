"""The customer 360's panels about other people: referrals in and out, NPS, and prospects.

The referral tree is walked one level at a time (one query per level, ids of the level
before), so a page reads the customer's own tree, never the whole referrals table; it
stops at :data:`TREE_DEPTH` levels and :data:`TREE_NODES` people and says so.
"""

from __future__ import annotations

from typing import Any

from outsidein.services.customers.model import Section, nps_category
from outsidein.services.customers.reading import Reader, id_filter, records
from outsidein.services.questions.results import HOW_TO_ANSWER
from outsidein.services.value import CUSTOMER_VALUE

__all__ = ["TREE_DEPTH", "TREE_NODES", "nps", "prospect", "prospect_row", "referrals"]

#: How many levels of referrals-of-referrals the tree follows.
TREE_DEPTH = 6
#: How many people the tree lists at most.
TREE_NODES = 250
#: How far up "who referred them" is followed.
CHAIN_DEPTH = 10


def _as_text(col: Any) -> Any:
    return col if col.type().is_string() else col.cast("string")


def _referred_by_chain(r: Reader) -> list[dict[str, Any]]:
    """Who referred the customer, who referred that one, and so on (nearest first)."""
    t = r.table("referrals")
    chain: list[dict[str, Any]] = []
    seen = {r.id}
    current = r.id
    for _ in range(CHAIN_DEPTH):
        rows = records(t.filter(id_filter(t.referred_id, current))
                       .select(referrer=_as_text(t.referrer_id), ts=t.ts)
                       .order_by("ts").limit(1))
        if not rows or rows[0]["referrer"] in seen:
            break
        current = rows[0]["referrer"]
        seen.add(current)
        chain.append({"customer_id": current, "ts": rows[0]["ts"]})
    return chain


def _tree(r: Reader) -> tuple[list[dict[str, Any]], bool]:
    """The people the customer brought, depth first, with depth and referrer; cut or not."""
    t = r.table("referrals")
    children: dict[str, list[dict[str, Any]]] = {}
    seen = {r.id}
    level = [r.id]
    total, cut = 0, False
    for depth in range(1, TREE_DEPTH + 1):
        if not level:
            break
        rows = records(t.filter(_as_text(t.referrer_id).isin(level))
                       .select(referrer=_as_text(t.referrer_id), referred=_as_text(t.referred_id),
                               ts=t.ts)
                       .order_by(["ts", "referred"]).limit(TREE_NODES + 1 - total))
        level = []
        for row in rows:
            if row["referred"] in seen:
                continue
            if total >= TREE_NODES:
                cut = True
                break
            seen.add(row["referred"])
            total += 1
            level.append(row["referred"])
            children.setdefault(row["referrer"], []).append(
                {"customer_id": row["referred"], "referred_by": row["referrer"],
                 "ts": row["ts"], "depth": depth})
        if cut:
            break
    else:
        cut = bool(level) and bool(records(
            t.filter(_as_text(t.referrer_id).isin(level)).select("referred_id").limit(1)))
    ordered: list[dict[str, Any]] = []

    def walk(node: str) -> None:
        for child in children.get(node, []):
            ordered.append(child)
            walk(child["customer_id"])

    walk(r.id)
    return ordered, cut


def _with_value(r: Reader, nodes: list[dict[str, Any]]) -> None:
    if not nodes or not r.has(CUSTOMER_VALUE):
        return
    t = r.table(CUSTOMER_VALUE)
    if "clv" not in t.columns:
        return
    ids = [n["customer_id"] for n in nodes]
    clv = {x["id"]: x["clv"] for x in records(
        t.filter(_as_text(t.customer_id).isin(ids)).select(id=_as_text(t.customer_id),
                                                           clv=t.clv))}
    for n in nodes:
        n["clv"] = clv.get(n["customer_id"])


def referrals(r: Reader) -> Section:
    """Referrals in (who referred them, and up the chain) and out (the tree below them)."""
    title = "Referrals"
    if not r.filled("referrals"):
        return Section("referrals", title, missing=(
            "no referrals loaded: load them with 'outsidein load referrals FILE' "
            "(referrer_id, referred_id, ts)"))
    chain = _referred_by_chain(r)
    tree, cut = _tree(r)
    _with_value(r, tree)
    direct = sum(1 for n in tree if n["depth"] == 1)
    figures: dict[str, Any] = {
        "referred_by": chain[0]["customer_id"] if chain else None,
        "referred_on": chain[0]["ts"] if chain else None,
        "referral_chain": [c["customer_id"] for c in chain],
        "referred_directly": direct, "tree_size": len(tree),
        "tree_depth": max((n["depth"] for n in tree), default=0),
        "tree_value": sum(n.get("clv") or 0.0 for n in tree) if tree else 0.0,
    }
    advocate = r.one("answer_advocates", "customer_id")
    if advocate is not None:
        figures["advocate_rank"] = advocate.get("rank")
        figures["advocate_reason"] = advocate.get("reason")
    notes = []
    if cut:
        notes.append(f"The tree is cut at {TREE_NODES} people or {TREE_DEPTH} levels.")
    if not tree and not chain:
        notes.append("This customer neither was referred nor referred anyone.")
    return Section("referrals", title, figures=figures, rows=tree, note=" ".join(notes))


def nps(row: dict[str, Any] | None) -> Section:
    """The customer's Net Promoter answer (the warehouse keeps the latest one per customer)."""
    title = "Net Promoter answers"
    score = row.get("nps") if row else None
    if score is None:
        return Section("nps", title, missing=(
            "no Net Promoter answer recorded for this customer: load customers with an nps "
            "column (0-10) through 'outsidein load customers FILE'"))
    score = int(score)
    return Section("nps", title, figures={"score": score, "category": nps_category(score)},
                   rows=[{"score": score, "category": nps_category(score)}],
                   note="The warehouse keeps each customer's latest answer (customers.nps).")


def prospect_row(r: Reader) -> dict[str, Any] | None:
    """The ``prospects`` row of the id, or None."""
    return r.one("prospects", "prospect_id")


def prospect(r: Reader, row: dict[str, Any]) -> Section:
    """A prospect's look-alike score and chance to convert, each with its reasons in words."""
    title = "Prospect score"
    figures: dict[str, Any] = {}
    if row.get("converted_customer_id") is not None:
        figures["converted_customer_id"] = row["converted_customer_id"]
    looks = r.one("answer_ideal_prospects", "prospect_id")
    converts = r.one("answer_likely_converts", "prospect_id")
    if looks is None and converts is None:
        return Section("prospect", title, figures=figures, missing=(
            f"no prospect scores yet: {HOW_TO_ANSWER} (answers 4 and 5 score prospects)"))
    rows: list[dict[str, Any]] = []
    if looks is not None:
        rows.append({"model": "looks like the best customers", "score": looks.get("score"),
                     "rank": looks.get("rank"), "decile": looks.get("score_decile"),
                     "status": looks.get("status"), "reason": looks.get("reason")})
    if converts is not None:
        rows.append({"model": "chance to convert", "score": converts.get("probability"),
                     "rank": converts.get("rank"), "decile": None,
                     "status": converts.get("status"), "reason": converts.get("reason")})
    note = ""
    if any(x["reason"] is None for x in rows):
        note = ("Reasons are worded for the best-ranked prospects only; this one is ranked "
                "without a reason.")
    figures["score"] = rows[0]["score"]
    figures["reason"] = next((x["reason"] for x in rows if x["reason"]), None)
    return Section("prospect", title, figures=figures, rows=rows, note=note)

