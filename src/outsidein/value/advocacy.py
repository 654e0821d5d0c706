"""Advocates: who brings new business by referral (question 3).

The referral graph (networkx) has an edge referrer -> referred.  For each
referrer we count the customers referred directly and in the whole tree
below them (referrals of referrals), their revenue and predicted CLV, and
the depth of the tree.  Advocates are ranked by their *referral score*: the
customers they brought, each level below the first discounted by ``decay``
(``decay = 0.5`` counts a referral's own referrals at half); the
*advocacy value* discounts the referred customers' value the same way.

>>> import pandas as pd
>>> refs = pd.DataFrame({"referrer_id": ["a", "b"], "referred_id": ["b", "c"]})
>>> value = pd.DataFrame({"customer_id": ["a", "b", "c"], "revenue": [10., 20., 30.],
...                       "clv": [100., 200., 300.]})
>>> m = ReferralNetwork().fit(refs, value)
>>> m.scores_.set_index("customer_id").loc["a", "tree_size"]
2
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from outsidein.errors import DataValidationError, NotFittedError


class ReferralNetwork:
    """Referral graph scores per referrer (scikit-learn style).

    Parameters
    ----------
    decay
        Weight per extra level of the referral tree (0 < decay <= 1).
    value_column
        Column of the customer table valued per referred customer (``clv`` by
        default; ``revenue`` when no CLV is known).
    """

    def __init__(self, *, decay: float = 0.5, value_column: str = "clv") -> None:
        self.decay = decay
        self.value_column = value_column

    def fit(self, referrals: pd.DataFrame, customers: pd.DataFrame) -> ReferralNetwork:
        """Build the graph and score every referrer.

        Parameters
        ----------
        referrals
            ``referrer_id, referred_id`` (and optionally ``ts``; the earliest
            referral of a customer counts when several name them).
        customers
            ``customer_id`` plus ``revenue`` and the value column (``clv``); optional ``nps``.
        """
        if not 0 < self.decay <= 1:
            raise DataValidationError(f"decay {self.decay}: expected 0 < decay <= 1")
        for c in ("referrer_id", "referred_id"):
            if c not in referrals.columns:
                raise DataValidationError(
                    f"referrals: missing column {c!r}; found {list(referrals.columns)}")
        refs = referrals.dropna(subset=["referrer_id", "referred_id"])
        refs = refs[refs["referrer_id"] != refs["referred_id"]]
        if "ts" in refs.columns:
            refs = refs.sort_values("ts", kind="stable")
        refs = refs.drop_duplicates("referred_id", keep="first")
        src = refs["referrer_id"].astype(str).to_numpy(dtype=object)
        dst = refs["referred_id"].astype(str).to_numpy(dtype=object)
        codes, nodes = pd.factorize(np.concatenate([src, dst]))
        nodes = np.asarray(nodes, dtype=object)
        # one referrer per customer: a forest, unless the data loops
        parent = np.full(len(nodes), -1, dtype=np.int64)
        parent[codes[len(src):]] = codes[: len(src)]
        parent = _cut_loops(parent, nodes)
        cust = customers.set_index(customers["customer_id"].astype(str))
        cust = cust[~cust.index.duplicated()]
        value_col = self.value_column if self.value_column in cust.columns else "revenue"

        def column(col: str) -> np.ndarray:
            if col not in cust.columns:
                return np.zeros(len(nodes))
            return pd.to_numeric(cust[col], errors="coerce").astype(float).reindex(nodes) \
                .fillna(0.0).to_numpy()

        val, rev = column(value_col), column("revenue")
        scores = _tree_scores(parent, val, rev, self.decay)
        scores.insert(0, "customer_id", nodes)
        scores = scores[scores["direct"] > 0].reset_index(drop=True)
        if "nps" in cust.columns:
            scores["nps"] = scores["customer_id"].map(cust["nps"]).astype("Float64")
        self.value_column_ = value_col
        self.nodes_, self.parent_ = nodes, parent
        self.referred_ = nodes[parent >= 0]
        self.scores_ = scores.sort_values(["referral_score", "advocacy_value", "customer_id"],
                                          ascending=[False, False, True]).reset_index(drop=True)
        self.scores_.insert(1, "rank", np.arange(1, len(self.scores_) + 1))
        return self

    @property
    def graph_(self) -> nx.DiGraph:
        """The referral graph (referrer -> referred) as a networkx ``DiGraph``, loops cut."""
        self._check()
        child = np.flatnonzero(self.parent_ >= 0)
        g = nx.DiGraph()
        g.add_edges_from(zip(self.nodes_[self.parent_[child]], self.nodes_[child], strict=True))
        return g

    def _check(self) -> None:
        if not hasattr(self, "scores_"):
            raise NotFittedError("ReferralNetwork is not fitted; call fit(referrals, customers)")

    def top(self, n: int = 25) -> pd.DataFrame:
        """The *n* best advocates with a plain-words ``reason``."""
        self._check()
        out = self.scores_.head(n).copy()
        out["reason"] = [advocate_reason(r, self.value_column_)
                         for r in out.itertuples(index=False)]
        return out


def _cut_loops(parent: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """Remove one edge of every referral loop (bad data) so each tree has a root.

    Chains are followed in NumPy; networkx finds the loops among the few nodes
    whose chain does not end.
    """
    parent = parent.copy()
    while True:
        anc = parent.copy()
        for _ in range(64):  # a chain longer than 64 referrals is taken for a loop
            anc = np.where(anc >= 0, parent[np.maximum(anc, 0)], -1)
        stuck = np.flatnonzero((anc >= 0) & (parent >= 0))
        if len(stuck) == 0:
            return parent
        sub = nx.DiGraph(zip(parent[stuck].tolist(), stuck.tolist(), strict=True))
        try:
            _, v = nx.find_cycle(sub)[-1][:2]
        except nx.NetworkXNoCycle:  # a genuinely deep chain: accept it
            return parent
        parent[v] = -1


def _tree_scores(parent: np.ndarray, val: np.ndarray, rev: np.ndarray,
                 decay: float) -> pd.DataFrame:
    """Per node: sums over its descendants, level by level (vectorised over the forest)."""
    n = len(parent)
    out = {k: np.zeros(n) for k in ("direct", "tree_size", "depth", "referral_score",
                                    "direct_revenue", "direct_value", "tree_revenue",
                                    "advocacy_value")}
    idx = np.arange(n)
    anc, level = parent.copy(), 1
    while (anc >= 0).any():
        m = anc >= 0
        a, v = anc[m], idx[m]
        w = decay ** (level - 1)
        if level == 1:
            out["direct"] += np.bincount(a, minlength=n)
            out["direct_revenue"] += np.bincount(a, rev[v], minlength=n)
            out["direct_value"] += np.bincount(a, val[v], minlength=n)
        out["tree_size"] += np.bincount(a, minlength=n)
        out["referral_score"] += w * np.bincount(a, minlength=n)
        out["tree_revenue"] += np.bincount(a, rev[v], minlength=n)
        out["advocacy_value"] += w * np.bincount(a, val[v], minlength=n)
        np.maximum.at(out["depth"], a, level)
        anc = np.where(m, parent[np.maximum(anc, 0)], -1)
        level += 1
    df = pd.DataFrame(out)
    for c in ("direct", "tree_size", "depth"):
        df[c] = df[c].astype("int64")
    return df


def _m(x: float) -> str:
    from outsidein.value.profit import money

    return money(x)


def advocate_reason(row: Any, value_column: str = "clv") -> str:
    """Plain words for one advocate row of :attr:`ReferralNetwork.scores_`."""
    what = "predicted value" if value_column == "clv" else "revenue"
    s = (f"referred {row.direct} customer{'' if row.direct == 1 else 's'} "
         f"(revenue {_m(row.direct_revenue)}, {what} {_m(row.direct_value)})")
    extra = row.tree_size - row.direct
    if extra > 0:
        levels = f"{row.depth - 1} further level{'' if row.depth == 2 else 's'}"
        s += f", who brought {extra} more over {levels}"
    nps = getattr(row, "nps", None)
    if nps is not None and not pd.isna(nps):
        s += f"; NPS {int(nps)}"
    return s


@dataclass(frozen=True)
class AdvocateComparison:
    """How the top advocates differ from other customers (means per group)."""

    table: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        return {"table": self.table.to_dict(orient="records")}

    def to_pandas(self) -> pd.DataFrame:
        return self.table.copy()


def compare_advocates(advocate_ids: list[str], customers: pd.DataFrame,
                      measures: tuple[str, ...] = ("clv", "revenue", "frequency", "profit",
                                                   "tenure_weeks", "nps")) -> AdvocateComparison:
    """Mean of each *measure* for the advocates vs every other customer."""
    is_adv = customers["customer_id"].astype(str).isin(set(advocate_ids))
    rows = []
    for m in measures:
        if m not in customers.columns:
            continue
        col = pd.to_numeric(customers[m], errors="coerce").astype(float)
        a, o = col[is_adv].mean(), col[~is_adv].mean()
        rows.append({"measure": m, "advocates": float(a) if pd.notna(a) else None,
                     "others": float(o) if pd.notna(o) else None,
                     "ratio": float(a / o) if pd.notna(a) and pd.notna(o) and o else None})
    columns = ["measure", "advocates", "others", "ratio"]
    return AdvocateComparison(pd.DataFrame(rows, columns=columns))


def advocates_figure(top: pd.DataFrame) -> Any:
    """Bar chart: advocacy value of the top advocates, direct vs further levels."""
    import plotly.graph_objects as go

    t = top.head(20)
    fig = go.Figure([
        go.Bar(x=t["customer_id"], y=t["direct_value"], name="direct referrals"),
        go.Bar(x=t["customer_id"], y=t["advocacy_value"] - t["direct_value"],
               name="referrals of referrals (discounted)"),
    ])
    fig.update_layout(barmode="stack", title="Top advocates: value they brought by referral",
                      xaxis_title="advocate", yaxis_title="value of referred customers",
                      height=380)
    return fig
