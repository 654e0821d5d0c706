"""Association rules from frequent itemsets: support, confidence, lift, leverage, conviction.

The engine is pure: it takes the frequent itemsets with their basket counts (however they
were counted: the warehouse counts them level by level, see
:mod:`outsidein.services.market.basket`) and the number of baskets, and derives every rule
``A => c`` whose itemset ``A + c`` is frequent, with the measures as Agrawal et al. (1993),
Piatetsky-Shapiro (leverage) and Brin et al. (1997, conviction) define them and as mlxtend's
``association_rules`` and pyfim's ``arules(mode='o')`` report them:

* support ``s(A+c) = n(A+c) / N``;
* confidence ``s(A+c) / s(A)``;
* lift ``confidence / s(c)``;
* leverage ``s(A+c) - s(A) s(c)``;
* conviction ``(1 - s(c)) / (1 - confidence)``: infinite when the confidence is 1.

Consequents have one item unless ``max_consequent`` says more.  Itemsets are tuples of
item ids sorted ascending; every subset of a frequent itemset must be in the input (the
downward closure that any exact miner gives).

>>> import pandas as pd
>>> itemsets = pd.DataFrame({"items": [("a",), ("b",), ("a", "b")], "count": [4, 5, 4]})
>>> rules = AssociationRules(min_confidence=0.5).fit(itemsets, n_baskets=8).rules_
>>> rules[["antecedents", "consequents", "support", "confidence", "lift"]].to_dict("records")[0]
{'antecedents': ('a',), 'consequents': ('b',), 'support': 0.5, 'confidence': 1.0, 'lift': 1.6}
"""

from __future__ import annotations

import math
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from outsidein.errors import DataValidationError, NotFittedError

__all__ = ["RULE_COLUMNS", "AssociationRules", "longer_itemsets", "rules_to_records"]

#: the columns of :attr:`AssociationRules.rules_`, in order
RULE_COLUMNS = ("antecedents", "consequents", "support", "confidence", "lift", "leverage",
                "conviction")


class AssociationRules(BaseEstimator):  # type: ignore[misc]
    """Rules ``A => C`` from frequent itemsets and their counts (see the module doc).

    Parameters
    ----------
    min_confidence : float
        Keep rules whose confidence is at least this (0 to 1).
    min_lift : float
        Keep rules whose lift is at least this (0 keeps all).
    max_consequent : int
        Largest consequent (1: single-item consequents, as usual for recommendations).

    Attributes
    ----------
    rules_ : pandas.DataFrame
        Columns :data:`RULE_COLUMNS`, sorted by lift (highest first), then confidence and support.
    n_baskets_ : int
    n_itemsets_ : int
        Frequent itemsets given to :meth:`fit`.

    >>> AssociationRules().rules_
    Traceback (most recent call last):
    ...
    outsidein.errors.NotFittedError: AssociationRules is not fitted yet; call fit first
    """

    def __init__(self, min_confidence: float = 0.5, min_lift: float = 0.0,
                 max_consequent: int = 1) -> None:
        self.min_confidence = min_confidence
        self.min_lift = min_lift
        self.max_consequent = max_consequent

    def __getattr__(self, name: str) -> Any:
        if name.endswith("_") and not name.startswith("_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit first")
        raise AttributeError(name)

    def fit(self, itemsets: pd.DataFrame, n_baskets: int) -> AssociationRules:
        """Derive the rules from *itemsets* (columns ``items``: sorted tuples, ``count``).

        Raises
        ------
        DataValidationError
            No basket, a threshold out of range, or an itemset whose subset is missing.
        """
        if n_baskets <= 0:
            raise DataValidationError("no basket to derive rules from")
        if not 0.0 <= self.min_confidence <= 1.0:
            raise DataValidationError(
                f"min_confidence must lie in [0, 1], got {self.min_confidence}")
        if self.max_consequent < 1:
            raise DataValidationError(
                f"max_consequent must be at least 1, got {self.max_consequent}")
        counts: dict[tuple[Any, ...], int] = dict(zip(
            (tuple(i) for i in itemsets["items"]), (int(c) for c in itemsets["count"]),
            strict=True))
        rows: list[tuple[Any, ...]] = []
        n = float(n_baskets)
        for items, n_all in counts.items():
            if len(items) < 2:
                continue
            for size in range(1, min(self.max_consequent, len(items) - 1) + 1):
                for cons in combinations(items, size):
                    ante = tuple(i for i in items if i not in cons)
                    try:
                        n_a, n_c = counts[ante], counts[cons]
                    except KeyError as exc:
                        raise DataValidationError(f"itemset {items!r} is frequent but its subset "
                                         f"{exc.args[0]!r} is missing") from exc
                    conf = n_all / n_a
                    if conf < self.min_confidence:
                        continue
                    rows.append((ante, cons, n_all, n_a, n_c, conf))
        self.rules_ = _measures(rows, n, self.min_lift)
        self.n_baskets_ = int(n_baskets)
        self.n_itemsets_ = len(counts)
        return self


def longer_itemsets(basket: np.ndarray, item: np.ndarray, frequent_pairs: list[tuple[int, int]],
                    *, min_count: int, max_length: int) -> list[tuple[tuple[int, ...], int]]:
    """Frequent itemsets of 3 to *max_length* items, level by level (bit sets, tid-lists).

    *basket* and *item* are the integer codes of the distinct ``(basket, item)`` rows
    (codes from 0); *frequent_pairs* the frequent 2-itemsets as sorted code pairs.  A
    frequent k-itemset extends a frequent (k-1)-itemset ``P + c`` by an item ``d > c`` with
    ``P + d`` frequent too (Apriori); those sharing ``P`` are counted together: ``P``'s
    baskets (its first item's, kept where each other item's bit is set) as 0/1 rows of the
    last items, whose matrix product with itself counts every pair ``(c, d)`` at once.

    >>> basket = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    >>> item = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    >>> longer_itemsets(basket, item, [(0, 1), (0, 2), (1, 2)], min_count=2, max_length=4)
    [((0, 1, 2), 2)]
    """
    if max_length < 3 or not frequent_pairs or len(basket) == 0:
        return []
    basket = basket.astype(np.int64, copy=False)
    # recode items rarest first, so that a prefix's first item has the fewest baskets to scan
    freq = np.bincount(item)
    rank = np.empty(len(freq), dtype=np.int64)
    rank[np.argsort(freq, kind="stable")] = np.arange(len(freq))
    back = np.argsort(rank)
    item = rank[item]
    n_items = len(freq)
    words = (int(basket.max()) + 32) // 32
    # bit sets: word w of item i holds baskets 32w..32w+31; distinct rows, so a sum is an OR
    flat = np.bincount(item * words + (basket >> 5), weights=np.left_shift(1, basket & 31),
                       minlength=n_items * words)
    bitset = flat.astype(np.uint32).reshape(n_items, words)
    order = np.argsort(item, kind="stable")
    bounds = np.searchsorted(item[order], np.arange(n_items + 1))
    tids = {i: basket[order[bounds[i]:bounds[i + 1]]] for i in range(n_items)}
    out: list[tuple[tuple[int, ...], int]] = []
    level: list[tuple[Any, ...]] = [tuple(sorted((int(rank[a]), int(rank[b]))))
                                     for a, b in frequent_pairs]
    for _ in range(3, max_length + 1):
        # the frequent (k-1)-itemsets grouped by all but their last item: within a group, one
        # matrix product of the prefix's baskets (0/1 rows of the group's last items) counts
        # every pair of last items at once; a count at least min_count is a frequent k-itemset
        groups: dict[tuple[Any, ...], list[Any]] = {}
        for items in level:
            groups.setdefault(items[:-1], []).append(items[-1])
        level = []
        upper: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for prefix, last in groups.items():
            if len(last) < 2:
                continue
            have = tids[prefix[0]]
            for code in prefix[1:]:
                have = have[((bitset[code, have >> 5] >> (have & 31).astype(np.uint32)) & 1) > 0]
            if len(have) < min_count:
                continue
            lasts = np.array(sorted(last))
            shift = (have & 31).astype(np.uint32)
            rows = ((bitset[np.ix_(lasts, have >> 5)] >> shift[None, :]) & 1)
            rows = rows.astype(np.float32 if len(have) < 2**24 else np.float64)
            both = rows @ rows.T
            i, j = upper.get(len(lasts)) or upper.setdefault(
                len(lasts), np.triu_indices(len(lasts), 1))
            counts = both[i, j]
            keep = np.flatnonzero(counts >= min_count)
            for c, d, n in zip(lasts[i[keep]].tolist(), lasts[j[keep]].tolist(),
                               np.rint(counts[keep]).astype(np.int64).tolist(), strict=True):
                level.append((*prefix, c, d))
                out.append(((*prefix, c, d), n))
        if not level:
            break
    return [(tuple(sorted(int(back[c]) for c in items)), n) for items, n in out]


def _measures(rows: list[tuple[Any, ...]], n: float, min_lift: float) -> pd.DataFrame:
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=object if i < 2 else float)
                             for i, c in enumerate(RULE_COLUMNS)})
    n_all = np.array([r[2] for r in rows], dtype=float)
    n_a = np.array([r[3] for r in rows], dtype=float)
    n_c = np.array([r[4] for r in rows], dtype=float)
    support, s_a, s_c = n_all / n, n_a / n, n_c / n
    conf = n_all / n_a
    lift = conf / s_c
    with np.errstate(divide="ignore"):
        conviction = np.where(conf >= 1.0, np.inf, (1.0 - s_c) / np.maximum(1.0 - conf, 1e-300))
    out = pd.DataFrame({"antecedents": [r[0] for r in rows], "consequents": [r[1] for r in rows],
                        "support": support, "confidence": conf, "lift": lift,
                        "leverage": support - s_a * s_c, "conviction": conviction})
    out = out[out["lift"] >= min_lift]
    return out.sort_values(["lift", "confidence", "support"], ascending=False, kind="stable") \
              .reset_index(drop=True)


def rules_to_records(rules: pd.DataFrame, digits: int = 6) -> list[dict[str, Any]]:
    """Rules as plain JSON values: lists of ids, rounded measures, infinite conviction as None.

    >>> r = pd.DataFrame({"antecedents": [("a",)], "consequents": [("b",)], "support": [0.5],
    ...                   "confidence": [1.0], "lift": [1.6], "leverage": [0.1875],
    ...                   "conviction": [float("inf")]})
    >>> rules_to_records(r)[0]["conviction"] is None
    True
    """
    out = []
    for rec in rules.to_dict("records"):
        row: dict[str, Any] = {"antecedents": list(rec["antecedents"]),
                               "consequents": list(rec["consequents"])}
        for key in RULE_COLUMNS[2:]:
            v = float(rec[key])
            row[key] = round(v, digits) if math.isfinite(v) else None
        out.append(row)
    return out
