"""Frequent itemsets counted from ``(basket, item)`` integer codes: the engines behind
:mod:`outsidein.market.basket` (which re-exports them).

:func:`count_levels` (and :func:`itemset_levels`, the same in the items' own codes) counts
every size in memory, from co-occurrences; :func:`longer_itemsets` counts the itemsets of
three items or more once the warehouse has counted items and pairs, with one BLAS product
per first item and size.  Both are pure (no I/O) and exact; see
:mod:`outsidein.services.market.basket` for which one runs when.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np

__all__ = ["count_levels", "itemset_levels", "longer_itemsets"]

#: one size's itemsets: ``(codes, counts)``, codes an ``(m, k)`` array, rows ascending and
#: in lexicographic order
Level = tuple[np.ndarray, np.ndarray]


def itemset_levels(basket: np.ndarray, item: np.ndarray, *, min_count: int,
                   max_length: int) -> list[Level]:
    """Every frequent itemset of ``(basket, item)`` code rows, counted in memory, by size.

    Returns one ``(codes, counts)`` per size from 1: ``codes`` an ``(m, k)`` array of item
    codes, each row ascending and the rows in lexicographic order, ``counts`` the baskets
    holding each.  Duplicate rows count once.  :func:`count_levels` does the work (in its
    own item order, which the services keep).

    >>> levels = itemset_levels(np.array([0, 0, 0, 1, 1, 1, 2, 2]),
    ...                         np.array([0, 1, 2, 0, 1, 2, 0, 1]), min_count=2, max_length=4)
    >>> [(c.tolist(), n.tolist()) for c, n in levels][2]
    ([[0, 1, 2]], [2])
    """
    levels, item_of = count_levels(basket, item, min_count=min_count, max_length=max_length)
    return [_in_order(np.sort(item_of[codes], axis=1), counts) for codes, counts in levels]


def count_levels(basket: np.ndarray, item: np.ndarray, *, min_count: int,
                 max_length: int) -> tuple[list[Level], np.ndarray]:
    """:func:`itemset_levels` with the items coded rarest first; returns the levels and the
    item code of each of those codes.

    Level by level (Apriori: the candidates of size k join two frequent (k-1)-itemsets that
    share all but their last item), counted from co-occurrences rather than by looking each
    candidate up: the baskets of the frequent (k-1)-itemsets are kept as ``(prefix, basket,
    itemset)`` rows sorted by prefix and basket, so the itemsets sharing a prefix in one
    basket sit together, and every pair of them there is one basket of a candidate.  The
    work grows with the candidates' basket counts (about 150,000 a level on the
    grocery-like set), not with their parents' (1.2 million); the first level's rows are
    the baskets' own items.
    """
    basket = np.asarray(basket, dtype=np.int64)
    item = np.asarray(item, dtype=np.int64)
    if len(basket) == 0 or max_length < 1:
        return [], np.zeros(0, dtype=np.int64)
    min_count = max(int(min_count), 1)
    n_items = int(item.max()) + 1
    small = (int(basket.max()) + 1) * n_items < 2**31  # int32 keys sort 1.5x faster
    if small:
        basket, item = basket.astype(np.int32), item.astype(np.int32)
    key = np.sort(basket * n_items + item)
    key = key.take(np.flatnonzero(np.r_[True, key[1:] != key[:-1]]))  # distinct
    basket, item = key // n_items, key % n_items
    counts = np.bincount(item, minlength=n_items)
    freq = np.flatnonzero(counts >= min_count)
    item_of = freq.take(np.argsort(counts.take(freq), kind="stable"))
    levels: list[Level] = [(np.arange(len(item_of))[:, None], counts.take(item_of))]
    if max_length < 2 or len(item_of) < 2:
        return levels, item_of
    rank: np.ndarray = np.full(n_items, -1, dtype=np.int32 if small else np.int64)
    rank[item_of] = np.arange(len(item_of))
    r = rank.take(item)
    keep = np.flatnonzero(r >= 0)
    key = np.sort(basket.take(keep) * len(item_of) + r.take(keep))  # by basket, then rank
    idx = np.int32 if len(key) < 2**31 else np.int64
    # the rows of the 1-itemsets: a group is a basket (one prefix: the empty one)
    rows = ((key // len(item_of)).astype(np.int64), (key % len(item_of)).astype(idx))
    codes, ends = levels[0][0], np.full(len(item_of), len(item_of), dtype=np.int64)
    for k in range(2, max_length + 1):
        codes, n_k, ends, rows = _next_level(codes, ends, rows, min_count,
                                             last=k == max_length)
        if len(codes) == 0:
            break
        levels.append((codes, n_k))
    return levels, item_of


def _next_level(codes: np.ndarray, ends: np.ndarray, rows: tuple[np.ndarray, np.ndarray],
                min_count: int, last: bool = False
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """The frequent k-itemsets from the (k-1)-itemsets *codes* (*ends*: each one's end of
    the run of itemsets sharing its prefix) and their basket rows ``(group, itemset)``: the
    rows of one group (one basket's itemsets sharing a prefix) together, itemsets
    ascending.  Returns the new itemsets, their counts, their *ends* and their rows, the
    same way (none when *last*).

    The pairs of rows within a group are laid out per group size (the upper triangle of a
    size's index pairs, broadcast over its groups), with ``take`` throughout: numpy's
    boolean and fancy indexing cost 2-5x ``take`` here (counting the grocery-like set:
    34 -> 22 ms).
    """
    group, member = rows
    n, m = len(member), len(codes)
    # candidate ``(i, j)``, i < j sharing a prefix, is number offset[i] + j - i - 1
    partners = ends - np.arange(m) - 1
    n_cand = int(partners.sum())
    if n == 0 or n_cand == 0:
        return codes[:0], np.zeros(0, dtype=np.int64), ends[:0], rows
    offset = np.cumsum(partners) - partners
    idx = np.int32 if n < 2**31 else np.int64
    base = offset - np.arange(m) - 1                      # int64: what bincount takes
    start = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    size = np.diff(np.append(start, n))
    by = np.argsort(size.astype(np.int16) if size.max() < 2**15 else size, kind="stable")
    size = size.take(by)
    cuts = np.flatnonzero(np.r_[True, size[1:] != size[:-1], True]).tolist()
    cands, ones = [], []
    for lo, hi in itertools.pairwise(cuts):
        s = int(size[lo])
        if s < 2:
            continue
        ii, jj = _upper_pairs(s)
        first: np.ndarray = start.take(by[lo:hi]).astype(idx)
        at: np.ndarray = first[:, None] + np.arange(s, dtype=idx)
        mem = member.take(at)                             # itemsets ascend within a group
        cands.append((base.take(mem.take(ii, axis=1)) + mem.take(jj, axis=1)).ravel())
        if not last:
            ones.append(at.take(ii, axis=1).ravel())
    cand = np.concatenate(cands)
    counts = np.bincount(cand, minlength=n_cand)
    good = counts >= min_count
    found = np.flatnonzero(good)
    left = np.searchsorted(offset, found, side="right") - 1
    right = found - offset.take(left) + left + 1
    new = np.concatenate([codes.take(left, axis=0), codes.take(right, axis=0)[:, -1:]],
                         axis=1)
    new_ends = _run_end(left[1:] != left[:-1], len(left))  # same prefix: same lower parent
    if last or not (new_ends - np.arange(len(new)) > 1).any():
        return new, counts.take(found), new_ends, (group[:0], member[:0])
    # the new itemsets' rows: a new group is one row here (its lower parent in one basket)
    # extended by each later row of that basket's group; they come together, ascending
    hit = np.flatnonzero(good.take(cand))
    place = np.empty(n_cand, dtype=idx)
    place[found] = np.arange(len(found), dtype=idx)
    return new, counts.take(found), new_ends, (np.concatenate(ones).take(hit),
                                               place.take(cand.take(hit)))


@functools.lru_cache(maxsize=128)
def _upper_pairs(s: int) -> tuple[np.ndarray, np.ndarray]:
    """The index pairs ``i < j`` of *s* things, row by row."""
    return np.triu_indices(s, 1)


def _run_end(changed: np.ndarray, n: int) -> np.ndarray:
    """For each of *n* sorted things, the end of its run of equal ones; *changed* (``n - 1``
    long) says where each differs from the one before it."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    cut = np.append(np.flatnonzero(changed) + 1, n)
    return np.repeat(cut, np.diff(cut, prepend=0))


def _group_end(codes: np.ndarray) -> np.ndarray:
    """For each row of lexicographically sorted *codes*: the end of the run of rows sharing
    all but its last item."""
    if codes.shape[1] == 1:
        return np.full(len(codes), len(codes), dtype=np.int64)
    return _run_end((codes[1:, :-1] != codes[:-1, :-1]).any(axis=1), len(codes))


def longer_itemsets(basket: np.ndarray, item: np.ndarray, frequent_pairs: np.ndarray, *,
                    min_count: int, max_length: int) -> list[Level]:
    """Frequent itemsets of 3 to *max_length* items, from the frequent pairs, by size.

    *basket* and *item* are the integer codes of the distinct ``(basket, item)`` rows
    (codes from 0); *frequent_pairs* an ``(m, 2)`` array of the frequent pairs' codes.
    Returns one ``(codes, counts)`` per size from 3 (as :func:`itemset_levels`), up to the
    first size with none.  Items are coded rarest first; for each item ``a``, the baskets
    holding ``a`` are laid out as 0/1 rows of the items ``c`` with ``a + c`` frequent (read
    from bit sets), and one matrix product of those rows with themselves (BLAS) counts every
    ``a + c + d`` at once; then level by level under the same ``a``, the baskets of each
    frequent ``a + P`` (the product of its items' rows) times the rows count every
    ``a + P + c``.  Rarest first, so each ``a``'s baskets are few.

    >>> basket = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    >>> item = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    >>> [(c.tolist(), n.tolist()) for c, n in longer_itemsets(
    ...     basket, item, np.array([[0, 1], [0, 2], [1, 2]]), min_count=2, max_length=4)]
    [([[0, 1, 2]], [2])]
    """
    frequent_pairs = np.asarray(frequent_pairs, dtype=np.int64).reshape(-1, 2)
    if max_length < 3 or len(frequent_pairs) == 0 or len(basket) == 0:
        return []
    basket, item = np.asarray(basket), np.asarray(item)
    n_items = int(max(item.max(), frequent_pairs.max())) + 1
    counts = np.bincount(item, minlength=n_items)
    by_count = np.argsort(counts, kind="stable")
    rank = np.empty(n_items, dtype=np.int16 if n_items < 2**15 else np.int64)
    rank[by_count] = np.arange(n_items)
    order = np.argsort(rank[item], kind="stable")         # int16: a radix sort
    tids = basket[order]
    starts = np.r_[0, np.cumsum(counts[by_count])]
    pairs = np.sort(rank[frequent_pairs].astype(np.int64), axis=1)
    pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]
    grower = _Grower(_bit_rows(tids, starts, int(basket.max()) + 1), min_count, max_length)
    bounds = np.searchsorted(pairs[:, 0], np.arange(n_items + 1))
    for a in np.flatnonzero(np.diff(bounds) >= 2).tolist():
        grower.grow(a, tids[starts[a]:starts[a + 1]], pairs[bounds[a]:bounds[a + 1], 1])
    out = []
    for k in sorted(grower.found):
        codes = np.sort(by_count[np.concatenate(grower.found[k])], axis=1)
        out.append(_in_order(codes, np.concatenate(grower.counts[k])))
    return out


class _Grower:
    """The counting of :func:`longer_itemsets` under one first item, over item bit sets."""

    #: 0/1 cells laid out at once (float32: 64 MB); more baskets are summed by chunks, which
    #: also keeps every float32 sum exact (under 2**24)
    CELLS = 16_000_000

    def __init__(self, bits: np.ndarray, min_count: int, max_length: int) -> None:
        self.bits, self.min_count, self.max_length = bits, min_count, max_length
        self.found: dict[int, list[np.ndarray]] = {}
        self.counts: dict[int, list[np.ndarray]] = {}

    def rows(self, items: np.ndarray, baskets: np.ndarray) -> np.ndarray:
        """0/1 float32 rows: whether each basket holds each item."""
        byte, shift = baskets >> 3, (baskets & 7).astype(np.uint8)
        out = np.empty((len(items), len(baskets)), dtype=np.float32)
        for j, i in enumerate(items.tolist()):
            out[j] = (self.bits[i].take(byte) >> shift) & 1
        return out

    def grow(self, first: int, baskets: np.ndarray, lasts: np.ndarray) -> None:
        """Every frequent ``first + S`` with ``S`` two or more of *lasts* (each ``first + c``
        frequent), over *baskets* (those holding *first*), level by level: the baskets of
        each ``first + P`` (the product of its items' 0/1 rows) times the 0/1 rows of
        *lasts* count every ``first + P + c`` at once (one BLAS product per level)."""
        step = max(1, self.CELLS // len(lasts))
        chunks = [baskets[at:at + step] for at in range(0, len(baskets), step)]
        held = [self.rows(lasts, chunks[0])] if len(chunks) == 1 else None
        sets = np.arange(len(lasts))[:, None]             # P, as places in lasts
        for k in range(3, self.max_length + 1):
            left, right = _same_prefix_pairs(sets)
            if len(left) == 0:
                break
            parents, at = np.unique(left, return_inverse=True)
            both = np.zeros((len(parents), len(lasts)))
            for x in held or (self.rows(lasts, c) for c in chunks):
                if k == 3:                                # P is one item: x with itself
                    both += (x @ x.T)[parents]
                    continue
                for lo in range(0, len(parents), step):   # the parents' rows by blocks too
                    z = x[sets[parents[lo:lo + step], 0]]
                    for col in range(1, sets.shape[1]):
                        z *= x[sets[parents[lo:lo + step], col]]
                    both[lo:lo + step] += z @ x.T
            n = np.rint(both[at, sets[right, -1]]).astype(np.int64)
            good = n >= self.min_count
            if not good.any():
                break
            sets = np.column_stack([sets[left[good]], sets[right[good], -1]])
            self.found.setdefault(k, []).append(
                np.column_stack([np.full(len(sets), first), lasts[sets]]))
            self.counts.setdefault(k, []).append(n[good])


def _bit_rows(tids: np.ndarray, starts: np.ndarray, n_baskets: int) -> np.ndarray:
    """Row i: the bits of the baskets ``tids[starts[i]:starts[i + 1]]`` (little-endian bytes);
    one item at a time through a reused 0/1 buffer (5x faster than ``bitwise_or.at``)."""
    out = np.empty((len(starts) - 1, (n_baskets + 7) // 8), dtype=np.uint8)
    buf = np.zeros(out.shape[1] * 8, dtype=np.bool_)
    for i in range(len(out)):
        held = tids[starts[i]:starts[i + 1]]
        buf[held] = True
        out[i] = np.packbits(buf, bitorder="little")
        buf[held] = False
    return out


def _in_order(codes: np.ndarray, counts: np.ndarray) -> Level:
    """Rows (each ascending) in lexicographic order."""
    order = np.lexsort(codes.T[::-1])
    return codes[order], counts[order]


def _same_prefix_pairs(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row pairs ``i < j`` of lexicographically sorted *codes* sharing all but the last item."""
    rows = np.arange(len(codes))
    partners = _group_end(codes) - rows - 1
    left = np.repeat(rows, partners)
    offset = np.arange(len(left)) - np.repeat(np.cumsum(partners) - partners, partners)
    return left, left + 1 + offset
