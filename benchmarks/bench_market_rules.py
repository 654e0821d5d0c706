"""Basket rules against mlxtend (fpgrowth + association_rules) and pyfim, identical rules.

Targets (issue 13): at least 15x faster than mlxtend and within 2x of pyfim's C code, on
1,000,000 synthetic baskets and on a 10,000-basket grocery-like set (169 items, Zipf-like
popularity, about 4.4 items a basket, with co-bought themes).  Support 0.001, confidence
0.5, single-item consequents, itemsets up to 10 items.

Ours is the product's path: the ``(basket, item)`` rows in Parquet, read by DuckDB through
Ibis (:func:`outsidein.services.market.basket.frequent_itemsets`: items and pairs counted
in the warehouse, longer itemsets from the rows of the items in frequent pairs), then
:class:`outsidein.market.basket.AssociationRules`.  The peers get the baskets as Python
lists (their input) and run in ``$OUTSIDEIN_BASKET_PEER_PYTHON`` (``make bench`` builds
``.venv-bench-basket``); mlxtend is timed on its one-hot encoding + fpgrowth +
association_rules.  Every run checks that the rule sets (antecedent, consequent) and their
support and confidence are identical.  ``--quick`` uses 100,000 instead of 1,000,000.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import DATA, median, run_python, write_result  # noqa: E402

SUPPORT, CONFIDENCE, MAX_LEN = 0.001, 0.5, 10


def generate(n_baskets: int, seed: int = 3, n_items: int = 169) -> Path:
    """``(basket, item)`` rows as Parquet: Zipf-like items plus co-bought themes."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"baskets_{n_baskets}_{seed}.parquet"
    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    pop = 1.0 / np.arange(1, n_items + 1) ** 0.9
    pop /= pop.sum()
    themes = np.stack([rng.choice(n_items, 6, replace=False) for _ in range(25)])
    sizes = np.minimum(1 + rng.poisson(2.6, n_baskets), 20)
    draws = rng.choice(n_items, (n_baskets, int(sizes.max())), p=pop)
    keep = np.arange(draws.shape[1])[None, :] < sizes[:, None]
    th = themes[rng.integers(25, size=n_baskets)]
    tkeep = rng.random((n_baskets, 6)) < 0.45
    ids = np.arange(n_baskets)[:, None]
    b = np.concatenate([np.broadcast_to(ids, draws.shape)[keep],
                        np.broadcast_to(ids, th.shape)[tkeep]])
    i = np.concatenate([draws[keep], th[tkeep]])
    key = np.unique(b.astype(np.int64) * n_items + i)
    names = np.array([f"item{x:03d}" for x in range(n_items)], dtype=object)
    pq.write_table(pa.table({"basket": key // n_items, "item": names[key % n_items]}), path)
    return path


OURS = r"""
import json, time
import duckdb, ibis
from outsidein.services.market.basket import frequent_itemsets
from outsidein.market.basket import AssociationRules
con = duckdb.connect()
con.execute("CREATE VIEW bi AS SELECT * FROM read_parquet('{path}')")
items = ibis.duckdb.from_connection(con).table("bi")
runs = []
for _ in range({repeat}):
    t0 = time.perf_counter()
    itemsets, n = frequent_itemsets(items, min_support={supp}, max_length={maxlen})
    rules = AssociationRules(min_confidence={conf}).fit(itemsets, n).rules_
    runs.append(time.perf_counter() - t0)
out = sorted([sorted(a), c[0], round(s, 9), round(f, 9)] for a, c, s, f in
             zip(rules.antecedents, rules.consequents, rules.support, rules.confidence))
print(json.dumps({{"runs": runs, "n": n, "itemsets": len(itemsets), "rules": out}}))
"""

PEER = r"""
import json, time
import pyarrow.parquet as pq
t = pq.read_table('{path}').to_pandas()
tx = t.groupby("basket")["item"].apply(list).tolist()
which = '{which}'
t0 = time.perf_counter()
if which == "pyfim":
    import fim
    res = fim.arules(tx, supp={supp} * 100, conf={conf} * 100, zmax={maxlen}, report="sc",
                     mode="o")
    n = len(tx)
    out = sorted([sorted(a), c, round(s, 9), round(f, 9)] for c, a, s, f in res)
    itemsets = len(fim.fpgrowth(tx, supp={supp} * 100, zmax={maxlen}, report="a"))
else:
    import pandas as pd
    from mlxtend.frequent_patterns import association_rules, fpgrowth
    from mlxtend.preprocessing import TransactionEncoder
    te = TransactionEncoder()
    df = pd.DataFrame(te.fit(tx).transform(tx), columns=te.columns_)
    f = fpgrowth(df, min_support={supp}, use_colnames=True, max_len={maxlen})
    r = association_rules(f, num_itemsets=len(df), metric="confidence", min_threshold={conf})
    r = r[r["consequents"].map(len) == 1]
    itemsets = len(f)
    out = sorted([sorted(a), next(iter(c)), round(s, 9), round(x, 9)] for a, c, s, x in
                 zip(r["antecedents"], r["consequents"], r["support"], r["confidence"]))
secs = time.perf_counter() - t0
print(json.dumps({{"seconds": secs, "itemsets": itemsets, "rules": out}}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="100,000 baskets instead of 1,000,000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sizes", default="", help="comma-separated basket counts (overrides)")
    args = ap.parse_args()
    sizes = ([int(s) for s in args.sizes.split(",") if s] if args.sizes
             else [10_000, 100_000 if args.quick else 1_000_000])
    peer = os.environ.get("OUTSIDEIN_BASKET_PEER_PYTHON")
    peer = peer if peer and Path(peer).exists() else None
    result: dict = {"quick": args.quick, "support": SUPPORT, "confidence": CONFIDENCE,
                    "sizes": {}}
    for n in sizes:
        path = generate(n)
        ours = run_python(OURS.format(path=path, repeat=args.repeat, supp=SUPPORT,
                                      conf=CONFIDENCE, maxlen=MAX_LEN))
        ours_s = median(ours["runs"])
        row: dict = {"baskets": ours["n"], "itemsets": ours["itemsets"],
                     "rules": len(ours["rules"]), "ours_median_s": round(ours_s, 3),
                     "ours_runs_s": [round(x, 3) for x in ours["runs"]]}
        print(f"{n:,} baskets: {ours['itemsets']:,} itemsets, {len(ours['rules']):,} rules; "
              f"ours {ours_s:.3f} s (median of {args.repeat})", flush=True)
        for which in ("pyfim", "mlxtend"):
            if peer is None:
                row[which] = None
                continue
            p = run_python(PEER.format(path=path, which=which, supp=SUPPORT, conf=CONFIDENCE,
                                       maxlen=MAX_LEN), python=peer)
            same = p["rules"] == ours["rules"] and p["itemsets"] == ours["itemsets"]
            row[which] = {"seconds": round(p["seconds"], 3), "identical_rules": same,
                          "ratio_peer_over_ours": round(p["seconds"] / ours_s, 2)}
            print(f"  {which}: {p['seconds']:.3f} s, {p['seconds'] / ours_s:.2f}x ours; "
                  f"identical rules and itemset count: {same}", flush=True)
        result["sizes"][str(n)] = row
    if peer is None:
        print("basket peer venv not set ($OUTSIDEIN_BASKET_PEER_PYTHON): peers skipped")
    result["targets"] = {"speedup_vs_mlxtend": 15, "max_slowdown_vs_pyfim": 2}
    rows = [r for r in result["sizes"].values() if r.get("mlxtend") and r.get("pyfim")]
    result["meets_targets"] = bool(rows) and not args.quick and all(
        r["mlxtend"]["ratio_peer_over_ours"] >= 15 and r["pyfim"]["ratio_peer_over_ours"] >= 0.5
        and r["mlxtend"]["identical_rules"] and r["pyfim"]["identical_rules"] for r in rows)
    write_result("market_rules", result)
    print(json.dumps({"meets_targets": result["meets_targets"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
