"""``outsidein market basket``: association rules over the warehouse's orders.

Every count is an Ibis expression, so it runs where the data lives (DuckDB, or Spark
unchanged): a basket is an order (``order_id``, else the customer's lines at one time
stamp), an item a product id as loaded (or its product type with ``by="product_type"``);
returns are no purchase (:func:`outsidein.domain.purchases`).  The frequent itemsets are
counted level by level (Apriori).  Up to :data:`IN_MEMORY_ROWS` distinct ``(basket, item)``
rows, one query pulls them and the engine's :func:`~outsidein.market.basket.count_levels`
counts every level in numpy (on small inputs the fixed cost of one warehouse query per
level, and its query compilation, was most of the time: 0.43 s against pyfim's 0.03 s on
10,000 baskets).  Above that, single items are counted by a group-by and pairs by a
self-join of the baskets' items, in the warehouse (so they scale on Spark); longer itemsets
by :func:`~outsidein.market.basket.longer_itemsets` from the rows of the items in frequent
pairs, pulled once with the items as integer codes (about 8 bytes a row).  Both paths give
the same itemsets (tested against a brute-force count), as
:class:`~outsidein.market.basket.FrequentItemsets` (integer codes; the ids are looked up
only for the rules kept), which :class:`~outsidein.market.basket.AssociationRules` turns
into rules.

Why counting in the warehouse and not mlxtend, pyfim or efficient-apriori (measured here,
``benchmarks/bench_market_rules.py``): all four give identical itemsets and rules, but
mlxtend one-hot encodes every basket in pandas (0.4-0.6 s on 10,000 baskets, tens of seconds
on 1,000,000), efficient-apriori is pure Python (0.7 s on 10,000 and 142 s on 1,000,000
baskets), and pyfim (C, the fastest: 2.2 s on 1,000,000) is unmaintained since 2020 and
compiles from source on install (77 s, a C compiler).  None of them runs on Spark, and each
needs every basket pulled out of the warehouse first.

>>> result = basket_rules(ws, min_support=0.01)          # doctest: +SKIP
>>> result.to_dict()["n_rules"]                           # doctest: +SKIP
12
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from outsidein.domain import purchases
from outsidein.errors import DataValidationError, MissingDataError
from outsidein.market.basket import (
    AssociationRules,
    FrequentItemsets,
    count_levels,
    longer_itemsets,
    rules_to_records,
)

if TYPE_CHECKING:
    from outsidein.workspace import Workspace

__all__ = ["BY_CHOICES", "IN_MEMORY_ROWS", "BasketResult", "basket_items", "basket_rules",
           "check_options", "frequent_itemsets", "min_count_for"]

#: what an item is: a product as loaded, or its product type
BY_CHOICES = ("product", "product_type")
#: up to this many ``(basket, item)`` rows, one query pulls them and numpy counts every
#: itemset (no per-level round trips: 0.08 s against 0.16 s on 9,835 grocery-like baskets,
#: rules included); about where the two paths cross (100,000 baskets, 600,000 rows: 0.30 s
#: in memory, 0.32 s in the warehouse, medians of 5); above it, items and pairs are counted
#: in the warehouse (DuckDB, or Spark for data that outgrows one machine)
IN_MEMORY_ROWS = 500_000
_NO_BASKETS = ("no purchase lines with a product id to make baskets of; "
               "load order_lines (and products for --by product_type)")


@dataclass(frozen=True)
class BasketResult:
    """The rules and the figures behind them."""

    n_baskets: int
    n_itemsets: int
    rules: pd.DataFrame
    by: str = "product"
    min_support: float = 0.01
    min_confidence: float = 0.5

    @property
    def n_rules(self) -> int:
        return len(self.rules)

    def to_dict(self, limit: int | None = None) -> dict[str, Any]:
        """``{"n_baskets", "n_itemsets", "n_rules", "rules": [...]}`` (the CLI's ``--json``)."""
        rules = self.rules if limit is None else self.rules.head(limit)
        return {"n_baskets": self.n_baskets, "n_itemsets": self.n_itemsets,
                "n_rules": self.n_rules, "rules": rules_to_records(rules)}


def basket_items(lines: ir.Table, products: ir.Table | None = None,
                 by: str = "product") -> ir.Table:
    """Distinct ``(basket, item)`` of the purchase lines: the input of every count.

    >>> import pandas as pd
    >>> t = ibis.memtable(pd.DataFrame({
    ...     "order_id": ["o1", "o1", "o2"], "customer_id": ["c", "c", "d"],
    ...     "product_id": ["p1", "p2", "p1"], "ts": pd.to_datetime(["2024-01-01"] * 3),
    ...     "quantity": [1, 1, 1], "is_return": [False, False, False]}))
    >>> basket_items(t).count().execute()
    3
    """
    if by not in BY_CHOICES:
        raise DataValidationError(f"--by must be one of {', '.join(BY_CHOICES)}, got {by!r}")
    p = purchases(lines).filter(lambda t: t.product_id.notnull())
    basket = p.order_id.fill_null(p.customer_id.concat("@", p.ts.cast("string")))
    rows = p.select(basket=basket, product_id=p.product_id)
    if by == "product_type":
        if products is None:
            raise DataValidationError("--by product_type needs the products table")
        types = products.select(pid=products.product_id, item=products.product_type)
        rows = rows.join(types, rows.product_id == types.pid).select("basket", "item")
        rows = rows.filter(rows.item.notnull())
    else:
        rows = rows.select("basket", item=rows.product_id)
    return rows.distinct()


def min_count_for(min_support: float, n_baskets: int) -> int:
    """Smallest basket count whose support reaches *min_support* (float-safe).

    >>> min_count_for(0.001, 9835)
    10
    """
    return max(1, math.ceil(min_support * n_baskets - 1e-9))


def frequent_itemsets(items: ir.Table, *, min_support: float, max_length: int = 4,
                      in_memory_rows: int | None = None) -> tuple[FrequentItemsets, int]:
    """The frequent itemsets of ``(basket, item)`` rows and the number of baskets.

    Returns :class:`~outsidein.market.basket.FrequentItemsets` (integer codes by size; its
    ``to_pandas()`` gives ``items``, sorted tuples of item ids, and ``count``).  Up to
    *in_memory_rows* rows (default :data:`IN_MEMORY_ROWS`) are pulled in one query and
    counted in memory (:func:`~outsidein.market.basket.count_levels`); above that, single
    items and pairs are counted in the warehouse and longer itemsets from the rows of the
    items in frequent pairs (pulled once, as integer codes) by
    :func:`~outsidein.market.basket.longer_itemsets`.  Both give the same itemsets.
    """
    if not 0.0 < min_support <= 1.0:
        raise DataValidationError(f"--min-support must lie in (0, 1], got {min_support}")
    if max_length < 1:
        raise DataValidationError(f"--max-length must be at least 1, got {max_length}")
    limit = IN_MEMORY_ROWS if in_memory_rows is None else in_memory_rows
    rows = _all_rows(items, limit) if limit > 0 else None
    if rows is not None:
        return _in_memory(rows, min_support, max_length)
    n = int(items.basket.nunique().to_pyarrow().as_py() or 0)
    if n == 0:
        raise MissingDataError(_NO_BASKETS)
    need = min_count_for(min_support, n)
    singles = (items.group_by("item").aggregate(n=ibis._.count())
               .filter(ibis._.n >= need).to_pandas().sort_values("item"))
    frequent = singles["item"].tolist()
    levels = [(np.arange(len(frequent))[:, None], singles["n"].to_numpy(dtype=np.int64))]
    if max_length >= 2 and len(frequent) >= 2:
        pairs, counts = _frequent_pairs(items, frequent, need)
        if len(pairs):
            levels.append((pairs, counts))
        if max_length >= 3 and len(pairs):
            levels += _longer(items, frequent, pairs, need, max_length)
    labels = np.empty(len(frequent), dtype=object)
    labels[:] = frequent
    return FrequentItemsets(labels, tuple(levels), n), n


def _all_rows(items: ir.Table, limit: int) -> pa.Table | None:
    """The ``(basket, item)`` rows if there are at most *limit*, else None: one streamed
    query, stopped once past the limit (a count first was a second round trip, a third of
    the query time on 10,000 baskets)."""
    batches, n = [], 0
    with items.select("basket", "item").to_pyarrow_batches(chunk_size=limit + 1) as reader:
        for batch in reader:
            n += batch.num_rows
            if n > limit:
                return None
            batches.append(batch)
    return pa.Table.from_batches(batches, schema=reader.schema)


def _in_memory(rows: pa.Table, min_support: float,
               max_length: int) -> tuple[FrequentItemsets, int]:
    """:func:`frequent_itemsets` of rows already pulled: codes, then counted in numpy."""
    basket = pc.dictionary_encode(rows.column("basket").combine_chunks())
    n = len(basket.dictionary)
    if n == 0:
        raise MissingDataError(_NO_BASKETS)
    item = pc.dictionary_encode(rows.column("item").combine_chunks())
    valid = (pc.is_valid(basket.indices).to_numpy(zero_copy_only=False)
             & pc.is_valid(item.indices).to_numpy(zero_copy_only=False))
    # items coded in their ids' order, so that ties (in counts, then in the rules' measures)
    # fall the same way whatever order the warehouse returned the rows in
    order = pc.array_sort_indices(item.dictionary).to_numpy()
    place = np.empty(len(order), dtype=np.int64)
    place[order] = np.arange(len(order))
    b = basket.indices.to_numpy(zero_copy_only=False)[valid]
    i = place[item.indices.to_numpy(zero_copy_only=False)[valid]]
    levels, item_of = count_levels(b, i, min_count=min_count_for(min_support, n),
                                   max_length=max_length)
    labels = np.empty(len(item_of), dtype=object)
    labels[:] = item.dictionary.take(pa.array(order[item_of], type=pa.int64())).to_pylist()
    return FrequentItemsets(labels, tuple(levels), n), n


def _codes_table(values: list[Any], codes: np.ndarray) -> ir.Table:
    """A little table of item ids and their integer codes, to join on."""
    frame = pd.DataFrame({"ci": values, "code": codes.astype(np.int32)})
    if not pd.api.types.is_numeric_dtype(frame["ci"]):
        # text as Python objects: Spark's Arrow path refuses pandas' chunked Arrow strings
        frame["ci"] = np.asarray([str(v) for v in values], dtype=object)
    return ibis.memtable(frame)


def _frequent_pairs(items: ir.Table, frequent: list[Any],
                    need: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``c0 < c1`` of frequent items' codes (their places in *frequent*) in at least
    *need* baskets (one self-join), in lexicographic order, and their counts.

    The items are joined on as small integer codes first (a little table of the frequent
    items): the self-join and its group-by on integers took half the time of the same on
    the ids as strings (1,000,000 baskets: 0.95 s against 1.9 s in DuckDB).
    """
    code = _codes_table(frequent, np.arange(len(frequent)))
    kept = items.join(code, items.item == code.ci).select(b=items.basket, c=code.code)
    left = kept.select(b0=kept.b, c0=kept.c)
    right = kept.select(b1=kept.b, c1=kept.c)
    pairs = (left.join(right, [left.b0 == right.b1, left.c0 < right.c1])
             .group_by(["c0", "c1"]).aggregate(n=ibis._.count()).filter(ibis._.n >= need)
             .to_pyarrow())
    codes = np.column_stack([pairs.column("c0").to_numpy(), pairs.column("c1").to_numpy()])
    codes = codes.astype(np.int64).reshape(-1, 2)
    order = np.lexsort((codes[:, 1], codes[:, 0]))
    return codes[order], pairs.column("n").to_numpy().astype(np.int64)[order]


def _longer(items: ir.Table, frequent: list[Any], pairs: np.ndarray, need: int,
            max_length: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Itemsets of 3+ items, from the rows of the items in frequent pairs (pulled once, with
    the items as their integer codes: no text to encode in Python)."""
    used = np.unique(pairs)
    code = _codes_table([frequent[c] for c in used.tolist()], used)
    rows = (items.join(code, items.item == code.ci).select(b=items.basket, c=code.code)
            .to_pyarrow())
    basket = pc.dictionary_encode(rows.column("b").combine_chunks()).indices
    return longer_itemsets(basket.to_numpy(zero_copy_only=False),
                           rows.column("c").to_numpy(), pairs,
                           min_count=need, max_length=max_length)


def check_options(*, min_support: float, min_confidence: float, max_length: int,
                  by: str) -> None:
    """Raise :class:`DataValidationError` for an option out of range (before any query).

    >>> check_options(min_support=0.01, min_confidence=0.5, max_length=4, by="product")
    """
    if not 0.0 < min_support <= 1.0:
        raise DataValidationError(f"--min-support must lie in (0, 1], got {min_support}")
    if not 0.0 <= min_confidence <= 1.0:
        raise DataValidationError(f"--min-confidence must lie in [0, 1], got {min_confidence}")
    if max_length < 1:
        raise DataValidationError(f"--max-length must be at least 1, got {max_length}")
    if by not in BY_CHOICES:
        raise DataValidationError(f"--by must be one of {', '.join(BY_CHOICES)}, got {by!r}")


def basket_rules(ws: Workspace, *, min_support: float = 0.01, min_confidence: float = 0.5,
                 min_lift: float = 0.0, max_length: int = 4,
                 by: str = "product") -> BasketResult:
    """The association rules of the workspace's orders (see the module doc).

    Raises
    ------
    MissingDataError
        No order lines with products (or no products for ``by="product_type"``).
    DataValidationError
        A threshold out of range or an unknown *by*.
    """
    check_options(min_support=min_support, min_confidence=min_confidence,
                  max_length=max_length, by=by)
    with ws.reader() as con:
        products = con.table("products") if by == "product_type" else None
        # counted three or four times: kept as a (temporary) table while used
        with basket_items(con.table("order_lines"), products, by).cache() as items:
            itemsets, n = frequent_itemsets(items, min_support=min_support,
                                            max_length=max_length)
    model = AssociationRules(min_confidence=min_confidence, min_lift=min_lift)
    model.fit(itemsets, n_baskets=n)
    return BasketResult(n_baskets=n, n_itemsets=len(itemsets), rules=model.rules_, by=by,
                        min_support=min_support, min_confidence=min_confidence)
