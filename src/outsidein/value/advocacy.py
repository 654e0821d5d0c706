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
                raise DataValidationError(f"referrals: missing column {c!r}; found {list(referrals.columns)}")
        refs = referrals.dropna(subset=["referrer_id", "referred_id"])
        refs = refs[refs["referrer_id"] != refs["referred_id"]]
        if "ts" in refs.columns:
            refs = refs.sort_values("ts", kind="stable")
        refs = refs.drop_duplicates("referred_id", keep="first")
        g = nx.DiGraph()
        g.add_edges_from(zip(refs["referrer_id"].astype(str), refs["referred_id"].astype(str),
                             strict=True))
        # one referrer per customer makes a forest unless the data has loops; cut them
        while not nx.is_directed_acyclic_graph(g):
            u, v = nx.find_cycle(g)[-1][:2]
            g.remove_edge(u, v)
        cust = customers.set_index(customers["customer_id"].astype(str))
        value_col = self.value_column if self.value_column in cust.columns else "revenue"
        nodes = list(g.nodes)
        cust = cust[~cust.index.duplicated()]

        def as_dict(col: str) -> dict[str, float]:
            if col not in cust.columns:
                return {}
            return pd.to_numeric(cust[col], errors="coerce").astype(float).reindex(nodes) \
                .fillna(0.0).to_dict()

        val, rev = as_dict(value_col), as_dict("revenue")

        d = self.decay
        rows: dict[str, dict[str, float]] = {}
        # children before parents: each node's totals come from its children's
        for node in reversed(list(nx.topological_sort(g))):
            kids = list(g.successors(node))
            r = {"direct": float(len(kids)), "tree_size": 0.0, "depth": 0.0,
                 "referral_score": 0.0, "direct_revenue": 0.0, "direct_value": 0.0,
                 "tree_revenue": 0.0, "advocacy_value": 0.0}
            for k in kids:
                kr = rows[k]
                kv, krev = val.get(k, 0.0), rev.get(k, 0.0)
                r["tree_size"] += 1 + kr["tree_size"]
                r["referral_score"] += 1 + d * kr["referral_score"]
                r["depth"] = max(r["depth"], 1 + kr["depth"])
                r["direct_revenue"] += krev
                r["direct_value"] += kv
                r["tree_revenue"] += krev + kr["tree_revenue"]
                r["advocacy_value"] += kv + d * kr["advocacy_value"]
            rows[node] = r
        scores = pd.DataFrame.from_dict(rows, orient="index")
        scores = scores[scores["direct"] > 0].rename_axis("customer_id").reset_index()
        for c in ("direct", "tree_size", "depth"):
            scores[c] = scores[c].astype("int64")
        if "nps" in cust.columns:
            scores["nps"] = scores["customer_id"].map(cust["nps"]).astype("Float64")
        self.value_column_ = value_col
        self.graph_ = g
        self.scores_ = scores.sort_values(["referral_score", "advocacy_value", "customer_id"],
                                          ascending=[False, False, True]).reset_index(drop=True)
        self.scores_.insert(1, "rank", np.arange(1, len(self.scores_) + 1))
        return self

    def _check(self) -> None:
        if not hasattr(self, "scores_"):
            raise NotFittedError("ReferralNetwork is not fitted; call fit(referrals, customers)")

    def top(self, n: int = 25) -> pd.DataFrame:
        """The *n* best advocates with a plain-words ``reason``."""
        self._check()
        out = self.scores_.head(n).copy()
        out["reason"] = [advocate_reason(r, self.value_column_) for r in out.itertuples(index=False)]
        return out


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
        s += f", who brought {extra} more over {row.depth - 1} further level{'' if row.depth == 2 else 's'}"
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
    return AdvocateComparison(pd.DataFrame(rows, columns=["measure", "advocates", "others", "ratio"]))


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
