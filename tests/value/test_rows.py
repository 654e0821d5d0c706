"""Compression to distinct rows: the same rows and counts as a plain sort would find."""

from __future__ import annotations

import numpy as np
import pytest

from outsidein.value._rows import compress, factor, group


def reference(columns, weights=None):
    """Distinct rows (sorted) and their total weight, by numpy's unique on the stacked rows."""
    rows, inverse = np.unique(np.stack(columns, axis=1), axis=0, return_inverse=True)
    w = np.ones(len(columns[0])) if weights is None else weights
    return rows, np.bincount(inverse.ravel(), weights=w)


def as_sorted(columns, counts):
    rows = np.stack(columns, axis=1)
    order = np.lexsort(rows.T[::-1])
    return rows[order], counts[order]


rng = np.random.default_rng(7)
N = 20_000
DAYS = rng.integers(0, 400, N)
SHAPES = {
    "whole days in weeks": [rng.integers(0, 30, N).astype(float), np.minimum(DAYS, 300) / 7.0,
                            DAYS / 7.0],
    "whole days": [rng.integers(0, 30, N).astype(float), np.minimum(DAYS, 300).astype(float),
                   DAYS.astype(float)],
    "off the grid": [rng.integers(0, 3, N).astype(float), np.round(rng.random(N), 2) * 3.3,
                     rng.integers(0, 5, N) * 0.1],
    "huge values": [rng.integers(0, 3, N) * 1e12, rng.integers(0, 4, N).astype(float)],
}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_compress_finds_the_distinct_rows_and_their_counts(shape, weighted):
    columns = SHAPES[shape]
    weights = rng.integers(1, 5, N).astype(float) if weighted else None
    rows, counts = as_sorted(*compress(columns, weights))
    ref_rows, ref_counts = reference(columns, weights)
    assert np.array_equal(rows, ref_rows)  # bit for bit: the values are not recomputed
    assert np.array_equal(counts, ref_counts)


def test_group_codes_match_exactly_equal_rows():
    x = np.array([0.0, -0.0, 1.0, 1.0, 2 / 7, 2 / 7])
    t = np.array([1.0, 1.0, 2.0, 2.0, 3.0, 3.0 + 1e-12])
    codes, rep = group([x, t])
    assert codes[0] == codes[1] and codes[2] == codes[3] and codes[4] != codes[5]
    assert len(rep) == 4 and all(x[rep[codes[i]]] == x[i] for i in range(len(x)))
    idx, uniq = factor(np.array([3.0, 1.0, 3.0]))
    assert np.array_equal(uniq[idx], [3.0, 1.0, 3.0]) and len(uniq) == 2


@pytest.mark.parametrize("shape", SHAPES)
def test_compressed_rows_with_their_counts_compress_to_themselves(shape):
    # what a warehouse hands over: distinct rows, sorted, with counts
    rows, counts = compress(SHAPES[shape], None)
    again, again_counts = as_sorted(*compress(rows, counts))
    ref_rows, ref_counts = reference(SHAPES[shape])
    assert np.array_equal(again, ref_rows) and np.array_equal(again_counts, ref_counts)
