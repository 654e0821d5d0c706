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
from collections.abc import Sequence
from itertools import chain, combinations
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator

from outsidein.errors import DataValidationError, NotFittedError

__all__ = ["RULE_COLUMNS", "AssociationRules", "itemset_levels", "longer_itemsets",
           "rules_to_records"]

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
        labels, levels = _levels_of(itemsets)
        blocks = []
        for k, (codes, n_all) in sorted(levels.items()):
            for size in range(1, min(self.max_consequent, k - 1) + 1):
                for cons_at in combinations(range(k), size):
                    ante = np.delete(codes, cons_at, axis=1)
                    cons = codes[:, list(cons_at)]
                    n_a = _count_of(levels, ante, codes, labels)
                    keep = n_all / n_a >= self.min_confidence
                    blocks.append((ante[keep], cons[keep], n_all[keep], n_a[keep],
                                   _count_of(levels, cons[keep], codes[keep], labels)))
        self.rules_ = _measures(blocks, labels, float(n_baskets), self.min_lift)
        self.n_baskets_ = int(n_baskets)
        self.n_itemsets_ = len(itemsets)
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
    # small codes sort by radix (numpy's stable sort of 16-bit integers): 0.4 s less on 1M baskets
    small = item.astype(np.int16) if n_items < 2**15 else item
    order = np.argsort(small, kind="stable")
    bounds = np.searchsorted(small[order], np.arange(n_items + 1))
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


def itemset_levels(basket: np.ndarray, item: np.ndarray, *, min_count: int,
                   max_length: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Every frequent itemset of ``(basket, item)`` code rows, counted in memory, by size.

    Returns one ``(codes, counts)`` per size from 1: ``codes`` an ``(m, k)`` array of item
    codes, each row ascending and the rows in lexicographic order, ``counts`` the baskets
    holding each.  Level by level (Apriori): the candidates of size k join two frequent
    (k-1)-itemsets that share all but their last item, and are kept when every
    (k-1)-subset is frequent.  Each level keeps its itemsets' baskets as the rows of a
    sparse 0/1 matrix ``T``; one sparse product ``T @ X`` (``X``: baskets by items) counts
    every itemset extended by every item at once, and the baskets of the frequent
    extensions are the parent's baskets whose bit for the new item is set.  Duplicate rows
    count once.

    >>> levels = itemset_levels(np.array([0, 0, 0, 1, 1, 1, 2, 2]),
    ...                         np.array([0, 1, 2, 0, 1, 2, 0, 1]), min_count=2, max_length=4)
    >>> [(c.tolist(), n.tolist()) for c, n in levels][2]
    ([[0, 1, 2]], [2])
    """
    basket = np.asarray(basket, dtype=np.int64)
    item = np.asarray(item, dtype=np.int64)
    if len(basket) == 0 or max_length < 1:
        return []
    n_items, n_baskets = int(item.max()) + 1, int(basket.max()) + 1
    key = np.sort(item * n_baskets + basket)             # item-major
    key = key[np.r_[True, key[1:] != key[:-1]]]          # distinct
    item, basket = key // n_baskets, key % n_baskets
    counts = np.bincount(item, minlength=n_items)
    freq = np.flatnonzero(counts >= min_count)
    levels = [(freq[:, None], counts[freq])]
    if max_length < 2 or len(freq) < 2:
        return levels
    # inside, items are coded rarest first: an itemset's baskets are found from its first
    # (rarest) items, so the lists scanned stay short
    by_count = freq[np.argsort(counts[freq], kind="stable")]
    recode = np.full(n_items, -1, dtype=np.int64)
    recode[by_count] = np.arange(len(by_count))
    keep = recode[item] >= 0
    item, basket = recode[item[keep]], basket[keep]
    n_freq = len(freq)
    ones = np.ones(len(item), dtype=np.int32)
    tids = sparse.csr_matrix((ones, (item, basket)), shape=(n_freq, n_baskets))
    member = _Membership(basket, item, n_baskets, n_freq)
    codes = np.arange(n_freq)[:, None]
    # the baskets of this level's itemsets that have candidates, as sparse rows ``tids``
    # (row r: itemset ``rows[r]``), and how each itemset extends its parent (for the next)
    rows = np.arange(n_freq)
    parent = last_of = np.empty(0, dtype=np.int64)
    for k in range(2, max_length + 1):
        # candidates: two (k-1)-itemsets sharing all but their last item (Apriori's join;
        # the subset check is left out: the product below counts every extension anyway)
        left, right = _same_prefix_pairs(codes)
        if len(left) == 0:
            break
        last = codes[right, -1]
        need = left[np.r_[True, left[1:] != left[:-1]]]     # left is sorted
        if k == 3:
            tids = _pair_baskets(basket, item, codes, need, n_baskets)
            rows = need
        elif k > 3:
            at = np.searchsorted(rows, parent[need])
            tids = member.restrict(tids, at, last_of[need])
            rows = need
        n_new = member.extension_counts(tids, np.searchsorted(rows, left), last)
        good = n_new >= min_count
        if not good.any():
            break
        parent, last_of = left[good], last[good]
        codes = np.concatenate([codes[parent], last_of[:, None]], axis=1)
        found = np.sort(by_count[codes], axis=1)
        order = np.lexsort(found.T[::-1])
        levels.append((found[order], n_new[good][order]))
    return levels


def _pair_baskets(basket: np.ndarray, item: np.ndarray, pairs: np.ndarray, want: np.ndarray,
                  n_baskets: int) -> sparse.csr_matrix:
    """Row r: the baskets holding pair ``pairs[want[r]]``, from each basket's own pairs (their
    number grows with the baskets' sizes squared, not with the items' basket counts)."""
    n_items = int(max(item.max(), pairs.max())) + 1
    row_of = np.full((n_items, n_items), -1, dtype=np.int64)
    row_of[pairs[want, 0], pairs[want, 1]] = np.arange(len(want))
    order = np.lexsort((item, basket))
    b, it = basket[order], item[order]
    size = np.bincount(b, minlength=n_baskets)
    start = np.cumsum(size) - size
    keys = []
    for s in np.unique(size[size >= 2]).tolist():
        which = np.flatnonzero(size == s)
        members = it[start[which, None] + np.arange(s)]
        first, second = np.triu_indices(s, 1)
        r = row_of[members[:, first], members[:, second]]
        hit = r >= 0
        keys.append(r[hit] * n_baskets + np.broadcast_to(which[:, None], r.shape)[hit])
    key = np.sort(np.concatenate(keys)) if keys else np.zeros(0, dtype=np.int64)
    indptr = np.zeros(len(want) + 1, dtype=np.int64)
    np.cumsum(np.bincount(key // n_baskets, minlength=len(want)), out=indptr[1:])
    return sparse.csr_matrix((np.ones(len(key), dtype=np.int32), key % n_baskets, indptr),
                             shape=(len(want), n_baskets))


class _Membership:
    """Which basket holds which item, for counting and intersecting: a dense 0/1 matrix
    when baskets x items is small (BLAS products, plain look-ups), else a sparse matrix and
    bit sets (memory grows with the rows, not baskets x items)."""

    DENSE_CELLS = 32_000_000

    def __init__(self, basket: np.ndarray, item: np.ndarray, n_baskets: int, n_items: int):
        self.n_items = n_items
        self.dense = n_baskets * n_items <= self.DENSE_CELLS
        self.x = sparse.csr_matrix((np.ones(len(item), dtype=np.int32), (basket, item)),
                                   shape=(n_baskets, n_items))
        if self.dense:
            self.matrix = np.zeros((n_baskets, n_items), dtype=np.float32)
            self.matrix[basket, item] = 1.0
            self.flat = self.matrix.ravel()
        else:
            self.bits = np.zeros((n_items, (n_baskets + 7) // 8), dtype=np.uint8)
            np.bitwise_or.at(self.bits, (item, basket >> 3),
                             np.left_shift(1, basket & 7).astype(np.uint8))

    def extension_counts(self, tids: sparse.csr_matrix, at: np.ndarray,
                         last: np.ndarray) -> np.ndarray:
        """Baskets holding the itemset of row ``at`` of *tids* and item ``last``: one product
        counts every row extended by every item."""
        if self.dense and tids.nnz * self.n_items <= self.DENSE_CELLS:
            both = tids.astype(np.float32) @ self.matrix
            return np.rint(both[at, last]).astype(np.int64)
        prod = (tids @ self.x).tocsr()
        return np.asarray(prod[at, last]).ravel().astype(np.int64)

    def restrict(self, tids: sparse.csr_matrix, at: np.ndarray,
                 item: np.ndarray) -> sparse.csr_matrix:
        """Row r: the baskets of row ``at[r]`` of *tids* that hold ``item[r]``."""
        sub = tids[at]
        b = sub.indices.astype(np.int64)
        owner = np.repeat(np.arange(len(at)), np.diff(sub.indptr))
        if self.dense:
            hit = np.take(self.flat, b * self.n_items + item[owner]) > 0
        else:
            byte = np.take(self.bits.ravel(), item[owner] * self.bits.shape[1] + (b >> 3))
            hit = ((byte >> (b & 7).astype(np.uint8)) & 1).astype(bool)
        indptr = np.zeros(len(at) + 1, dtype=np.int64)
        np.cumsum(np.bincount(owner[hit], minlength=len(at)), out=indptr[1:])
        return sparse.csr_matrix((np.ones(int(hit.sum()), dtype=np.int32), b[hit], indptr),
                                 shape=(len(at), tids.shape[1]))


def _same_prefix_pairs(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row pairs ``i < j`` of lexicographically sorted *codes* sharing all but the last item."""
    m = len(codes)
    if codes.shape[1] == 1:
        end = np.full(m, m, dtype=np.int64)
    else:
        new = np.ones(m, dtype=bool)
        new[1:] = (codes[1:, :-1] != codes[:-1, :-1]).any(axis=1)
        first = np.flatnonzero(new)
        end = np.append(first[1:], m)[np.cumsum(new) - 1]
    rows = np.arange(m)
    partners = end - rows - 1
    left = np.repeat(rows, partners)
    offset = np.arange(len(left)) - np.repeat(np.cumsum(partners) - partners, partners)
    return left, left + 1 + offset


def _row_keys(codes: np.ndarray, n_codes: int) -> np.ndarray:
    """Each row as one value that sorts and searches like the rows (lexicographically):
    an integer in base *n_codes* when it fits in 63 bits, else the rows' big-endian bytes."""
    k = codes.shape[1]
    if k * math.log2(max(n_codes, 2)) < 62:
        return codes @ (np.int64(n_codes) ** np.arange(k - 1, -1, -1, dtype=np.int64))
    return np.ascontiguousarray(codes.astype(">u4")).view(f"V{4 * k}").ravel()


_Levels = dict[int, tuple[np.ndarray, np.ndarray]]


def _levels_of(itemsets: pd.DataFrame) -> tuple[np.ndarray, _Levels]:
    """The item labels (sorted) and, per itemset size, the itemsets as rows of label codes
    in lexicographic order with their counts."""
    items = itemsets["items"].tolist()
    counts = itemsets["count"].to_numpy(dtype=np.int64)
    sizes = np.fromiter(map(len, items), dtype=np.int64, count=len(items))
    flat = np.empty(int(sizes.sum()), dtype=object)
    flat[:] = list(chain.from_iterable(items))
    codes_flat, labels = pd.factorize(flat, sort=True)
    starts = np.cumsum(sizes) - sizes
    levels: _Levels = {}
    for k in np.unique(sizes).tolist():
        at = np.flatnonzero(sizes == k)
        codes = codes_flat[starts[at, None] + np.arange(k)]
        order = np.argsort(_row_keys(codes, len(labels)), kind="stable")
        levels[k] = (codes[order], counts[at[order]])
    return np.asarray(labels, dtype=object), levels


def _count_of(levels: _Levels, subsets: np.ndarray,
              whole: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The counts of *subsets* (rows of codes) among the itemsets; a missing one is an error
    (every subset of a frequent itemset is frequent)."""
    k = subsets.shape[1]
    if len(subsets) == 0:
        return np.zeros(0, dtype=np.int64)
    codes, counts = levels.get(k, (np.zeros((0, k), dtype=np.int64), np.zeros(0, np.int64)))
    known = _row_keys(codes, len(labels))
    want = _row_keys(subsets, len(labels))
    pos = np.minimum(np.searchsorted(known, want), max(len(known) - 1, 0))
    missing = np.flatnonzero(known[pos] != want) if len(known) else np.arange(len(want))
    if len(missing):
        i = int(missing[0])
        raise DataValidationError(f"itemset {tuple(labels[whole[i]].tolist())!r} is frequent "
                                  f"but its subset {tuple(labels[subsets[i]].tolist())!r} is "
                                  "missing")
    return counts[pos]


def _measures(blocks: Sequence[tuple[np.ndarray, ...]], labels: np.ndarray, n: float,
              min_lift: float) -> pd.DataFrame:
    """The rules' measures from their counts (``A + C``, ``A``, ``C``), highest lift first."""
    blocks = [b for b in blocks if len(b[0])]
    if not blocks:
        return pd.DataFrame({c: pd.Series(dtype=object if i < 2 else float)
                             for i, c in enumerate(RULE_COLUMNS)})
    n_all, n_a, n_c = (np.concatenate([b[i] for b in blocks]).astype(float) for i in (2, 3, 4))
    support, s_a, s_c = n_all / n, n_a / n, n_c / n
    conf = n_all / n_a
    lift = conf / s_c
    with np.errstate(divide="ignore"):
        conviction = np.where(conf >= 1.0, np.inf, (1.0 - s_c) / np.maximum(1.0 - conf, 1e-300))
    out = pd.DataFrame({
        "antecedents": [t for b in blocks for t in zip(*labels[b[0]].T, strict=True)],
        "consequents": [t for b in blocks for t in zip(*labels[b[1]].T, strict=True)],
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
