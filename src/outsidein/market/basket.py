"""Association rules from frequent itemsets: support, confidence, lift, leverage, conviction.

The engine is pure: it counts the frequent itemsets of ``(basket, item)`` integer codes
(:func:`itemset_levels` for rows held in memory; :func:`longer_itemsets` for itemsets of three
items or more once the warehouse has counted items and pairs, see
:mod:`outsidein.services.market.basket`) and derives every rule ``A => c`` whose itemset
``A + c`` is frequent, with the measures as Agrawal et al. (1993), Piatetsky-Shapiro
(leverage) and Brin et al. (1997, conviction) define them and as mlxtend's
``association_rules`` and pyfim's ``arules(mode='o')`` report them:

* support ``s(A+c) = n(A+c) / N``;
* confidence ``s(A+c) / s(A)``;
* lift ``confidence / s(c)``;
* leverage ``s(A+c) - s(A) s(c)``;
* conviction ``(1 - s(c)) / (1 - confidence)``: infinite when the confidence is 1.

Consequents have one item unless ``max_consequent`` says more.  Itemsets travel as
:class:`FrequentItemsets`: integer codes by size, the ids only at the end (a frame of id tuples
is accepted too).  Every subset of a frequent itemset must be there (the downward closure that
any exact miner gives).

>>> import pandas as pd
>>> itemsets = pd.DataFrame({"items": [("a",), ("b",), ("a", "b")], "count": [4, 5, 4]})
>>> rules = AssociationRules(min_confidence=0.5).fit(itemsets, n_baskets=8).rules_
>>> rules[["antecedents", "consequents", "support", "confidence", "lift"]].to_dict("records")[0]
{'antecedents': ('a',), 'consequents': ('b',), 'support': 0.5, 'confidence': 1.0, 'lift': 1.6}
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, combinations
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from outsidein.errors import DataValidationError, NotFittedError
from outsidein.market.itemsets import Level as _Level
from outsidein.market.itemsets import count_levels, itemset_levels, longer_itemsets

__all__ = ["RULE_COLUMNS", "AssociationRules", "FrequentItemsets", "count_levels",
           "itemset_levels", "longer_itemsets", "rules_to_records"]

#: the columns of :attr:`AssociationRules.rules_`, in order
RULE_COLUMNS = ("antecedents", "consequents", "support", "confidence", "lift", "leverage",
                "conviction")



@dataclass(frozen=True)
class FrequentItemsets:
    """Frequent itemsets as integer codes, by size (what the counters give the rules).

    ``levels[k - 1]`` holds the k-itemsets: ``(codes, counts)``, ``codes`` an ``(m, k)`` array
    of indices into ``labels`` (the item ids), each row ascending and the rows in
    lexicographic order; ``counts`` the baskets holding each.  The code order need not be the
    ids' order: :meth:`to_pandas` and the rules give each itemset's ids sorted.

    >>> f = FrequentItemsets(np.array(["b", "a"], dtype=object),
    ...                      ((np.array([[0], [1]]), np.array([5, 4])),
    ...                       (np.array([[0, 1]]), np.array([4]))), n_baskets=8)
    >>> len(f), f.to_pandas()["items"].tolist()
    (3, [('b',), ('a',), ('a', 'b')])
    """

    labels: np.ndarray
    levels: tuple[_Level, ...]
    n_baskets: int

    def __len__(self) -> int:
        return sum(len(counts) for _, counts in self.levels)

    def to_pandas(self) -> pd.DataFrame:
        """``items`` (tuples of ids, sorted) and ``count``, by size then code order."""
        order = _id_order(self.labels)
        items = [t for codes, _ in self.levels for t in _id_tuples(codes, self.labels, order)]
        counts = [c for _, c in self.levels]
        return pd.DataFrame({"items": items, "count": np.concatenate(counts).astype(np.int64)
                             if counts else np.zeros(0, np.int64)})


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

    def fit(self, itemsets: FrequentItemsets | pd.DataFrame, n_baskets: int) -> AssociationRules:
        """Derive the rules from *itemsets*: a :class:`FrequentItemsets`, or a frame with
        ``items`` (sorted tuples of ids) and ``count``.

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
        if not isinstance(itemsets, FrequentItemsets):
            itemsets = _from_frame(itemsets, n_baskets)
        labels, levels = itemsets.labels, itemsets.levels
        keys = [_row_keys(codes, len(labels)) for codes, _ in levels]
        blocks = []
        for k in range(2, len(levels) + 1):
            codes, n_all = levels[k - 1]
            m = len(codes)
            for size in range(1, min(self.max_consequent, k - 1) + 1):
                # every way of taking *size* items out as the consequent, at once: the rows
                # by consequent position, then as the itemsets come (the order derived)
                outs = np.array(list(combinations(range(k), size)), dtype=np.intp)
                ins = np.array([[c for c in range(k) if c not in o] for o in outs.tolist()],
                               dtype=np.intp)
                ante = _place_of(levels, keys, codes[:, ins].transpose(1, 0, 2)
                                 .reshape(-1, k - size), codes, labels)
                n_a = levels[k - size - 1][1].take(ante)
                keep = np.flatnonzero(np.tile(n_all, len(outs)) / n_a >= self.min_confidence)
                row, out = keep % m, keep // m
                cons = np.take_along_axis(codes.take(row, axis=0), outs.take(out, axis=0),
                                          axis=1)
                n_c = levels[size - 1][1].take(_place_of(levels, keys, cons,
                                                         codes.take(row, axis=0), labels))
                blocks.append((k - size - 1, ante.take(keep), cons, n_all.take(row),
                               n_a.take(keep), n_c))
        self.rules_ = _measures(blocks, levels, labels, float(n_baskets), self.min_lift)
        self.n_baskets_ = int(n_baskets)
        self.n_itemsets_ = len(itemsets)
        return self


def _row_keys(codes: np.ndarray, n_codes: int) -> np.ndarray:
    """Each row as one value that sorts and searches like the rows (lexicographically):
    an integer in base *n_codes* when it fits in 63 bits, else the rows' big-endian bytes."""
    k = codes.shape[1]
    if k * math.log2(max(n_codes, 2)) < 62:
        return codes @ (np.int64(n_codes) ** np.arange(k - 1, -1, -1, dtype=np.int64))
    return np.ascontiguousarray(codes.astype(">u4")).view(f"V{4 * k}").ravel()


def _from_frame(itemsets: pd.DataFrame, n_baskets: int) -> FrequentItemsets:
    """A frame of ``items`` (tuples of ids) and ``count`` as :class:`FrequentItemsets`
    (ids coded in sorted order)."""
    items = itemsets["items"].tolist()
    counts = itemsets["count"].to_numpy(dtype=np.int64)
    sizes = np.fromiter(map(len, items), dtype=np.int64, count=len(items))
    flat = np.empty(int(sizes.sum()), dtype=object)
    flat[:] = list(chain.from_iterable(items))
    codes_flat, labels = pd.factorize(flat, sort=True)
    starts = np.cumsum(sizes) - sizes
    levels = []
    for k in range(1, int(sizes.max(initial=0)) + 1):
        at = np.flatnonzero(sizes == k)
        codes = np.sort(codes_flat[starts[at, None] + np.arange(k)], axis=1)
        order = np.argsort(_row_keys(codes, len(labels)), kind="stable")
        levels.append((codes[order], counts[at[order]]))
    return FrequentItemsets(np.asarray(labels, dtype=object), tuple(levels), n_baskets)


def _place_of(levels: tuple[_Level, ...], keys: list[np.ndarray], subsets: np.ndarray,
              whole: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Where *subsets* (rows of codes, ascending) are among the itemsets of their size; a
    missing one is an error (every subset of a frequent itemset is frequent)."""
    k = subsets.shape[1]
    if len(subsets) == 0:
        return np.zeros(0, dtype=np.int64)
    if k == 1 and len(levels[0][0]) == len(labels) and \
            np.array_equal(levels[0][0][:, 0], np.arange(len(labels))):
        return subsets[:, 0]                                 # every item frequent: by code
    known = keys[k - 1] if k <= len(keys) else np.zeros(0, dtype=np.int64)
    want = _row_keys(subsets, len(labels))
    pos = np.minimum(np.searchsorted(known, want), max(len(known) - 1, 0))
    missing = np.flatnonzero(known[pos] != want) if len(known) else np.arange(len(want))
    if len(missing):
        i = int(missing[0])
        at = i % len(whole)  # *subsets* may hold several rows of each of *whole*, in turn
        raise DataValidationError(f"itemset {next(_id_tuples(whole[at:at + 1], labels))!r} is "
                                  f"frequent but its subset "
                                  f"{next(_id_tuples(subsets[i:i + 1], labels))!r} is missing")
    return pos


def _id_tuples(codes: np.ndarray, labels: np.ndarray,
               order: tuple[np.ndarray, np.ndarray] | None = None) -> Iterator[tuple[Any, ...]]:
    """Each row of codes as a tuple of its ids, sorted (the codes' order may differ);
    *order* is :func:`_id_order` of *labels* when known."""
    place, ids = order or _id_order(labels)
    at = place[codes]
    if at.shape[1] > 1:
        at.sort(axis=1)
    return zip(*(ids[at[:, j]].tolist() for j in range(at.shape[1])), strict=True)


def _id_order(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each code's place among the sorted ids, and the sorted ids."""
    by_id = np.argsort(labels, kind="stable")
    place = np.empty(len(labels), dtype=np.int64)
    place[by_id] = np.arange(len(labels))
    return place, labels[by_id]


def _tuple_column(blocks: list[np.ndarray], labels: np.ndarray) -> np.ndarray:
    """The rows of code *blocks* as one object array of id tuples (one-item tuples made
    once per item and shared)."""
    order = _id_order(labels)
    ones = np.fromiter(((x,) for x in labels.tolist()), dtype=object, count=len(labels))
    parts = [ones[b[:, 0]] if b.shape[1] == 1 else
             np.fromiter(_id_tuples(b, labels, order), dtype=object, count=len(b))
             for b in blocks]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=object)


def _antecedents(blocks: Sequence[tuple[Any, ...]], levels: tuple[_Level, ...],
                 labels: np.ndarray) -> np.ndarray:
    """The blocks' antecedents (places in their level) as id tuples, each distinct one made
    once (about 11,000 for 19,000 rules on the grocery-like set)."""
    made = {}  # level -> each of its itemsets' id tuple (None where no rule uses it)
    for level in {b[0] for b in blocks}:
        used = np.zeros(len(levels[level][0]), dtype=bool)
        for b in blocks:
            if b[0] == level:
                used[b[1]] = True
        at = np.flatnonzero(used)
        made[level] = np.full(len(used), None, dtype=object)
        made[level][at] = _tuple_column([levels[level][0].take(at, axis=0)], labels)
    parts = [made[b[0]].take(b[1]) for b in blocks]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=object)


def _measures(blocks: Sequence[tuple[Any, ...]], levels: tuple[_Level, ...],
              labels: np.ndarray, n: float, min_lift: float) -> pd.DataFrame:
    """The rules' measures from their counts (``A + C``, ``A``, ``C``), highest lift first
    (ties by confidence then support, else in the order derived).  A block: the
    antecedents' level and places there, the consequents' codes, the three counts."""
    n_all, n_a, n_c = (np.concatenate([b[i] for b in blocks]).astype(float)
                       if blocks else np.zeros(0) for i in (3, 4, 5))
    support, s_a, s_c = n_all / n, n_a / n, n_c / n
    conf = n_all / n_a
    lift = conf / s_c
    with np.errstate(divide="ignore"):
        conviction = np.where(conf >= 1.0, np.inf, (1.0 - s_c) / np.maximum(1.0 - conf, 1e-300))
    order = _descending(np.flatnonzero(lift >= min_lift), lift, conf, support)
    return pd.DataFrame({
        "antecedents": pd.Series(_antecedents(blocks, levels, labels)[order], dtype=object),
        "consequents": pd.Series(_tuple_column([b[2] for b in blocks], labels)[order],
                                 dtype=object),
        "support": support[order], "confidence": conf[order], "lift": lift[order],
        "leverage": (support - s_a * s_c)[order], "conviction": conviction[order]})


def _descending(rows: np.ndarray, *keys: np.ndarray) -> np.ndarray:
    """*rows* by the first key, highest first, ties by the next key and so on, then by row:
    the order of ``np.lexsort`` on the negated keys, got by one unstable sort of distinct
    integers (each key's dense rank and the row, combined) when they fit in 62 bits: stable
    sorts of floats are slow (19,000 rules: 2.5 -> 1.2 ms).

    >>> _descending(np.arange(4), np.array([1.0, 2.0, 2.0, 1.0]), np.array([0.0, 1.0, 1.0, 2.0]))
    array([1, 2, 3, 0])
    """
    n = len(rows)
    combined, span = np.zeros(n, dtype=np.int64), 1
    for key in keys:
        distinct, rank = np.unique(-key.take(rows), return_inverse=True)
        span *= max(len(distinct), 1)
        if span * max(n, 1) >= 2**62:
            return rows.take(np.lexsort(tuple(-k.take(rows) for k in reversed(keys))))
        combined = combined * len(distinct) + rank.reshape(-1)
    return rows.take(np.argsort(combined * n + np.arange(n)))


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
