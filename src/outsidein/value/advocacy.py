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
>>> int(m.scores_.set_index("customer_id").loc["a", "tree_size"])
2
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from sklearn.base import BaseEstimator

from outsidein.errors import DataValidationError, NotFittedError
from outsidein.value.profit import money

__all__ = ["AdvocateComparison", "ReferralNetwork", "advocate_reason", "advocates_figure",
           "compare_advocates"]


class ReferralNetwork(BaseEstimator):
    """Referral graph scores per referrer (a scikit-learn estimator).

    Parameters
    ----------
    decay
        Weight per extra level of the referral tree (0 < decay <= 1).
    value_column
        Column of the customer table valued per referred customer (``clv`` by
        default; ``revenue`` when no CLV is known).

    Attributes
    ----------
    scores_ : pandas.DataFrame
        One row per referrer, best first: ``customer_id, rank, direct, tree_size,
        depth, referral_score``, revenue and value columns (and ``nps`` when known).
    value_column_ : str
        The column actually valued (``revenue`` when *value_column* is missing).
    nodes_, parent_ : numpy.ndarray
        Customer ids in the graph and the index of each one's referrer (-1: none).
    referred_ : numpy.ndarray
        Customers who were referred.

    Examples
    --------
    >>> import pandas as pd
    >>> refs = pd.DataFrame({"referrer_id": ["a", "a", "b"], "referred_id": ["b", "c", "d"]})
    >>> customers = pd.DataFrame({"customer_id": list("abcd"), "revenue": [5., 10., 20., 40.],
    ...                           "clv": [50., 100., 200., 400.]})
    >>> m = ReferralNetwork(decay=0.5).fit(refs, customers)
    >>> m.scores_[["customer_id", "direct", "tree_size", "referral_score"]]
      customer_id  direct  tree_size  referral_score
    0           a       2          3             2.5
    1           b       1          1             1.0
    >>> sorted(m.referred_)
    ['b', 'c', 'd']
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

        Returns
        -------
        self
        """
        if not 0 < self.decay <= 1:
            raise DataValidationError(f"decay {self.decay}: expected 0 < decay <= 1")
        nodes, parent = _referral_forest(referrals)
        cust = customers.set_index(customers["customer_id"].astype(str))
        cust = cust[~cust.index.duplicated()]
        value_col = self.value_column if self.value_column in cust.columns else "revenue"
        scores = _tree_scores(parent, _per_node(cust, value_col, nodes),
                              _per_node(cust, "revenue", nodes), self.decay)
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
        """The referral graph (referrer -> referred) as a networkx ``DiGraph``, loops cut.

        Examples
        --------
        >>> import pandas as pd
        >>> refs = pd.DataFrame({"referrer_id": ["a", "b"], "referred_id": ["b", "a"]})
        >>> customers = pd.DataFrame({"customer_id": ["a", "b"], "revenue": [1., 2.]})
        >>> ReferralNetwork().fit(refs, customers).graph_.number_of_edges()  # loop cut
        1
        """
        self._check()
        child = np.flatnonzero(self.parent_ >= 0)
        g = nx.DiGraph()
        g.add_edges_from(zip(self.nodes_[self.parent_[child]], self.nodes_[child], strict=True))
        return g

    def _check(self) -> None:
        if not hasattr(self, "scores_"):
            raise NotFittedError("ReferralNetwork is not fitted; call fit(referrals, customers)")

    def top(self, n: int = 25) -> pd.DataFrame:
        """The *n* best advocates with a plain-words ``reason``.

        Examples
        --------
        >>> import pandas as pd
        >>> refs = pd.DataFrame({"referrer_id": ["a", "a"], "referred_id": ["b", "c"]})
        >>> customers = pd.DataFrame({"customer_id": list("abc"), "revenue": [5., 10., 20.],
        ...                           "clv": [50., 100., 200.]})
        >>> ReferralNetwork().fit(refs, customers).top(1).loc[0, "reason"]
        'referred 2 customers (revenue $30, predicted value $300)'
        """
        self._check()
        out = self.scores_.head(n).copy()
        out["reason"] = [advocate_reason(r, self.value_column_)
                         for r in out.itertuples(index=False)]
        return out


def _referral_forest(referrals: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(customer ids, index of each one's referrer or -1), one referrer per customer, no loops."""
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
    return nodes, _cut_loops(parent, nodes)


def _per_node(cust: pd.DataFrame, col: str, nodes: np.ndarray) -> np.ndarray:
    """Numeric column *col* of the customers (indexed by id) for each node; 0 where unknown."""
    if col not in cust.columns:
        return np.zeros(len(nodes))
    values = pd.to_numeric(cust[col], errors="coerce").astype(float).reindex(nodes)
    return values.fillna(0.0).to_numpy()


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


def advocate_reason(row: Any, value_column: str = "clv") -> str:
    """Plain words for one advocate row of :attr:`ReferralNetwork.scores_`.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> row = SimpleNamespace(direct=2, tree_size=5, depth=3, direct_revenue=1200.0,
    ...                       direct_value=15_000.0, nps=9)
    >>> print(advocate_reason(row))  # one line, wrapped here
    referred 2 customers (revenue $1.2k, predicted value $15k),
    who brought 3 more over 2 further levels; NPS 9
    """
    what = "predicted value" if value_column == "clv" else "revenue"
    s = (f"referred {row.direct} customer{'' if row.direct == 1 else 's'} "
         f"(revenue {money(row.direct_revenue)}, {what} {money(row.direct_value)})")
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
    """How the top advocates differ from other customers (means per group).

    ``table`` has one row per measure: ``measure, advocates, others, ratio``.

    Examples
    --------
    >>> import pandas as pd
    >>> c = AdvocateComparison(pd.DataFrame({"measure": ["clv"], "advocates": [300.0],
    ...                                      "others": [100.0], "ratio": [3.0]}))
    >>> c.to_dict()
    {'table': [{'measure': 'clv', 'advocates': 300.0, 'others': 100.0, 'ratio': 3.0}]}
    """

    table: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        """The table as a list of records, for JSON."""
        return {"table": self.table.to_dict(orient="records")}

    def to_pandas(self) -> pd.DataFrame:
        """A copy of the table."""
        return self.table.copy()


def compare_advocates(advocate_ids: list[str], customers: pd.DataFrame,
                      measures: tuple[str, ...] = ("clv", "revenue", "frequency", "profit",
                                                   "tenure_weeks", "nps")) -> AdvocateComparison:
    """Mean of each *measure* for the advocates vs every other customer.

    Measures missing from *customers* are left out.

    Examples
    --------
    >>> import pandas as pd
    >>> customers = pd.DataFrame({"customer_id": list("abcd"), "clv": [300., 100., 100., 100.]})
    >>> compare_advocates(["a"], customers).table
      measure  advocates  others  ratio
    0     clv      300.0   100.0    3.0
    """
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


def advocates_figure(top: pd.DataFrame) -> go.Figure:
    """Bar chart: advocacy value of the top advocates, direct vs further levels.

    Examples
    --------
    >>> import pandas as pd
    >>> top = pd.DataFrame({"customer_id": ["a", "b"], "direct_value": [300., 100.],
    ...                     "advocacy_value": [400., 100.]})
    >>> [trace.name for trace in advocates_figure(top).data]
    ['direct referrals', 'referrals of referrals (discounted)']
    """
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
