"""Distinct rows: grouping equal rows of a few numeric columns, and compressing them to counts.

BTYD likelihoods depend on a customer only through a few numbers, so fits run
on the distinct rows with their counts.  The columns are packed into one
integer key per row: a column of values on a time grid (whole numbers, whole
days, days as sevenths of a week) is coded by its grid steps in a few
vectorised passes, any other column by hashing.  Keys are then grouped by
counting (small ranges), sorting (compression without weights) or hashing.

>>> cols, counts = compress([np.array([1.0, 1.0, 0.0]), np.array([2 / 7, 2 / 7, 0.0])], None)
>>> [c.tolist() for c in cols], counts.tolist()
([[0.0, 1.0], [0.0, 0.2857142857142857]], [1.0, 2.0])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

#: a time grid (whole days, or days as sevenths of a week) turns values into codes without hashing
_GRID_SCALES = (1.0, 7.0)
#: packed keys up to this range are grouped by counting rather than by sorting or hashing
_DENSE_KEYS = 1 << 22
_HEAD = 4096  # rows checked first, so a column off the grid is told cheaply


def _column_codes(col: np.ndarray) -> tuple[np.ndarray, int, Callable[[np.ndarray], np.ndarray]]:
    """Codes 0..k-1 equal exactly where the values are equal, k, and codes -> values.

    Frequencies are whole numbers and times from a transaction table are whole
    days (in days, or in weeks as sevenths), so most columns are values on a
    grid: their codes are the grid steps, found in a few vectorised passes.
    Anything else is hashed (``pandas.factorize``).
    """
    lo, hi = (float(col.min()), float(col.max())) if col.size else (0.0, 0.0)
    for scale in _GRID_SCALES if lo >= 0 and hi * max(_GRID_SCALES) < 2**31 else ():
        head = col[:_HEAD]  # most columns that are off the grid show it in their first rows
        if not np.array_equal((head * scale + 0.5).astype(np.int64) / scale, head):
            continue
        steps = (col * scale + 0.5).astype(np.int64)  # rounded (the values are >= 0)
        if np.array_equal(steps / scale, col):
            first = int(steps.min())
            return (steps - first, int(steps.max()) - first + 1,
                    lambda c, first=first, s=scale: (c + first) / s)
    codes, uniques = pd.factorize(col, sort=False)
    values = np.asarray(uniques, dtype=float)
    return codes.astype(np.int64), len(values), lambda c, v=values: v[c]


def _packed(columns: Sequence[np.ndarray]
            ) -> tuple[np.ndarray, int, Callable[[np.ndarray], list[np.ndarray]]] | None:
    """One int64 key per row, equal exactly where all *columns* are, its range, key -> rows.

    None when the codes do not fit in 62 bits together.
    """
    key = np.zeros(columns[0].size, dtype=np.int64)
    size = 1
    parts = []
    for col in columns:
        codes, k, decode = _column_codes(col)
        if size * k >= 2**62:
            return None
        key = key * k + codes
        size *= k
        parts.append((k, decode))

    def rows(keys: np.ndarray) -> list[np.ndarray]:
        out = []
        for k, decode in reversed(parts):
            keys, codes = np.divmod(keys, k)
            out.append(decode(codes))
        return out[::-1]

    return key, size, rows


def group(columns: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Group equal rows of the stacked *columns*: (group code per row, one row index per group).

    Linear in the number of rows: the columns are packed into one integer key,
    grouped by counting when its range is small, else by hashing.
    """
    n = columns[0].size
    packed = _packed(columns) if n else None
    if packed is not None:
        return _group_keys(packed[0], packed[1])
    key = np.zeros(n, dtype=np.int64)
    for col in columns:
        c, uniques = pd.factorize(col, sort=False)
        key = key * np.int64(len(uniques)) + c
    return _group_keys(key, None)


def _group_keys(key: np.ndarray, size: int | None) -> tuple[np.ndarray, np.ndarray]:
    n = key.size
    if size is not None and size <= max(_DENSE_KEYS, 4 * n):
        present = np.zeros(size, dtype=bool)
        present[key] = True
        codes = (np.cumsum(present) - 1)[key]
        n_groups = int(present.sum())
    else:
        codes, uniques = pd.factorize(key, sort=False)
        n_groups = len(uniques)
    # any row of a group will do: every row with the same code holds the same values
    rep = np.empty(n_groups, dtype=np.int64)
    rep[codes] = np.arange(n, dtype=np.int64)
    return codes, rep


def compress(columns: Sequence[np.ndarray], weights: np.ndarray | None
             ) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows of the stacked *columns* and their total weight (counts if no weights).

    Without weights the packed keys are sorted (a plain integer sort, several
    times quicker than hashing 1M keys with 300k distinct values) and counted
    between the boundaries of equal runs; the rows come out in key order.
    Weighted rows that are already distinct and in that order (the
    warehouse's compression sorts them so) are kept as they are.
    """
    packed = _packed(columns) if columns[0].size else None
    if packed is not None and weights is None:
        key, _, rows = packed
        key = np.sort(key)
        starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
        counts = np.diff(np.append(starts, key.size)).astype(float)
        return rows(key[starts]), counts
    if packed is not None and weights is not None and np.all(packed[0][1:] > packed[0][:-1]):
        keep = weights > 0
        return [col[keep] for col in columns], weights[keep].astype(float)
    codes, rep = group(columns) if packed is None else _group_keys(packed[0], packed[1])
    counts = np.bincount(codes, weights=weights, minlength=rep.size).astype(float)
    keep = counts > 0
    return [col[rep][keep] for col in columns], counts[keep]


def factor(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(inverse index, unique values) so per-value work is done once per distinct value."""
    codes, rep = group([values])
    return codes, values[rep].astype(float)
