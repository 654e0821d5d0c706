"""The rules' order: highest lift first, ties by confidence, then support, then as derived.

The order is taken by one sort of combined ranks (``_descending``) where the ranks fit in an
integer, and by ``np.lexsort`` where they do not; both must give lexsort's order, ties and
all.  Keys are drawn from few values (many ties, as on small baskets) and from many.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
import pytest

from outsidein.market.basket import AssociationRules, _descending


def _lexsorted(rows: np.ndarray, *keys: np.ndarray) -> np.ndarray:
    return rows[np.lexsort(tuple(-k[rows] for k in reversed(keys)))]


@pytest.mark.parametrize("distinct", [1, 3, 40, 100_000])
def test_the_order_is_lexsorts_with_ties_by_each_key_then_by_row(distinct: int) -> None:
    rng = np.random.default_rng(distinct)
    n = 30_000
    keys = [rng.integers(0, distinct, n) / 7.0 for _ in range(3)]
    rows = np.sort(rng.choice(n, 20_000, replace=False))
    assert np.array_equal(_descending(rows, *keys), _lexsorted(rows, *keys))


def test_keys_too_many_to_combine_fall_back_to_lexsort_with_the_same_order() -> None:
    rng = np.random.default_rng(3)
    n = 300_000  # 300,000^3 distinct ranks times the rows passes 2^62
    keys = [rng.random(n) for _ in range(3)]
    keys[0][::2] = 0.5  # ties on the first key, settled by the second
    rows = np.arange(n)
    assert np.array_equal(_descending(rows, *keys), _lexsorted(rows, *keys))


def test_rules_come_highest_lift_first_then_confidence_then_support() -> None:
    rng = np.random.default_rng(11)
    items = [f"i{k}" for k in range(6)]
    baskets = [sorted(set(rng.choice(items, rng.integers(1, 5)).tolist())) for _ in range(300)]
    counts: dict[tuple[str, ...], int] = {}
    for b in baskets:
        for size in (1, 2, 3):
            for c in combinations(b, size):
                counts[c] = counts.get(c, 0) + 1
    frame = pd.DataFrame({"items": list(counts), "count": list(counts.values())})
    rules = AssociationRules(min_confidence=0.0).fit(frame, len(baskets)).rules_
    assert len(rules) > 50
    key = list(zip(-rules.lift, -rules.confidence, -rules.support, strict=True))
    assert key == sorted(key)
