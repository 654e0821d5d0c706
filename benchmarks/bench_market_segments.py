"""``outsidein market segments`` on the demo company, and a pandas RFM peer in the same run.

Target (issue 13): segments on the 1,000,000-customer demo in <= 60 s.  The full run is at
that size (``--customers`` changes it; ``--quick`` uses 20,000).  The demo company comes from
the cache of :mod:`_demo` (generated once, about 3 minutes at 1M customers; each run works
on a fresh copy of it).

    flock /tmp/oi-heavy.lock .venv/bin/python benchmarks/bench_market_segments.py
    flock /tmp/oi-heavy.lock .venv/bin/python benchmarks/bench_market_segments.py --quick

Figures (medians of ``--repeat`` runs, in one interpreter, on the same workspace):

* ``segments``: :func:`outsidein.services.market.segments.run_segments`, everything: orders
  with stock-out flags, RFM, clusters (sample fit and warehouse assignment),
  ``customer_segments``, the matrix and the availability effects;
* ``rfm_warehouse``: the RFM steps alone (orders, the per-customer type sums and RFM
  materialised as tables: what the peer computes, from the order lines);
* ``rfm_pandas`` (the peer): the same RFM from the order lines with pandas ``groupby``
  (``order_lines`` read from a Parquet export, the read not timed), the scores with the
  same tie rule, the named segments from the same grid; its segments are compared with
  ours (``segments_differing`` must be 0).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import median, run_python, write_result  # noqa: E402
from _demo import cached_demo, fresh_copy  # noqa: E402

FULL_CUSTOMERS = 1_000_000
QUICK_CUSTOMERS = 20_000

CODE = """
import json, shutil, time
from pathlib import Path
import numpy as np, pandas as pd
from outsidein.workspace import Workspace
from outsidein.market.rfm import quintile_scores, rfm_segment
from outsidein.services.market import segments_data as sd
from outsidein.services.market.segments import run_segments
ws_path = Path({ws!r})
root = str(ws_path.parent)
ws = Workspace.open(ws_path)
wh = ws.warehouse()
lines_path = root + "/lines.parquet"
wh.duckdb.execute(f"COPY (SELECT customer_id, order_id, ts, quantity, revenue, is_return "
                  f"FROM order_lines) TO '{{lines_path}}' (FORMAT parquet)")
runs = {{"segments": [], "rfm_warehouse": [], "rfm_pandas": []}}
for _ in range({repeat}):
    t0 = time.perf_counter()
    res = run_segments(ws)
    runs["segments"].append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    o = wh.write_table("_b_orders", sd.orders(wh.table("order_lines"), wh.table("customers"),
                                               None, slow_days=7.0), scratch=True)
    ct = wh.write_table("_b_types", sd.type_sums(wh.table("order_lines"), None), scratch=True)
    wh.write_table("_b_rfm", sd.rfm(o, ct, sd.data_end(o)))
    runs["rfm_warehouse"].append(time.perf_counter() - t0)
    df = pd.read_parquet(lines_path)
    t0 = time.perf_counter()
    ret = df.is_return.fillna(False) | (df.quantity < 0)
    buy = df[~ret & (df.quantity > 0)]
    end = buy.ts.max()
    per = buy.groupby("customer_id").agg(last=("ts", "max"), orders=("order_id", "nunique"))
    cents = np.where(ret, -1.0, 1.0) * np.round(df.revenue.abs().to_numpy() * 100)
    net = pd.Series(cents, index=df.index).groupby(df.customer_id).sum()
    rec = ((end - per["last"]).dt.total_seconds() // 86400).to_numpy()
    mon = net.reindex(per.index).fillna(0.0).to_numpy()
    seg = rfm_segment(quintile_scores(-rec), quintile_scores(per.orders.to_numpy()),
                      quintile_scores(mon))
    runs["rfm_pandas"].append(time.perf_counter() - t0)
ours = wh.table("customer_segments").select("customer_id", "segment").to_pandas()
peer = pd.Series(seg, index=per.index)
differ = int((ours.set_index("customer_id").segment.loc[peer.index] != peer).sum())
out = {{"runs": runs, "customers": int(res.customers),
       "order_lines": int(len(df)), "k": res.k_choice["k"], "segments_differing": differ}}
ws.close()
shutil.rmtree(root)
print(json.dumps(out))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=None,
                    help=f"demo size (default {FULL_CUSTOMERS:,}; --quick: {QUICK_CUSTOMERS:,})")
    ap.add_argument("--quick", action="store_true", help=f"{QUICK_CUSTOMERS:,} customers")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    n = args.customers or (QUICK_CUSTOMERS if args.quick else FULL_CUSTOMERS)
    demo, gen_s, reused = cached_demo(n, args.seed)
    ws = fresh_copy(demo)
    try:
        r = run_python(CODE.format(ws=str(ws), repeat=args.repeat), timeout=7200)
    finally:
        shutil.rmtree(ws.parent, ignore_errors=True)
    fig = {k: {"median_s": round(median(v), 3), "runs_s": [round(x, 3) for x in v]}
           for k, v in r["runs"].items()}
    ours, peer = fig["rfm_warehouse"]["median_s"], fig["rfm_pandas"]["median_s"]
    seg_s = fig["segments"]["median_s"]
    print(f"{r['customers']:,} customers, {r['order_lines']:,} order lines (demo generated in "
          f"{gen_s:.1f} s{', cached' if reused else ''}): segments median {seg_s:.2f} s "
          f"(k = {r['k']}); RFM in the warehouse {ours:.2f} s against pandas groupby "
          f"{peer:.2f} s; {r['segments_differing']} segments differ; peak RSS "
          f"{r['peak_rss_mb']:.0f} MB", flush=True)
    write_result("market_segments_quick" if args.quick else "market_segments", {
        "customers": r["customers"], "order_lines": r["order_lines"], "quick": args.quick,
        "seed": args.seed,
        "figure": {"name": "segments_s", "median_s": seg_s},
        "target": {"customers": FULL_CUSTOMERS, "max_s": 60.0,
                   "note": "the target size; this run is at 'customers'"},
        "meets_target": (seg_s <= 60.0) if r["customers"] >= FULL_CUSTOMERS else None,
        "peer": {"name": "pandas groupby RFM (same scores and grid)", "median_s": peer},
        "ratio_rfm_peer_over_ours": round(peer / ours, 2) if ours else None,
        "runs": fig, "segments_differing": r["segments_differing"],
        "generate_s": round(gen_s, 2), "demo_cached": reused,
        "load_average_1m": round(os.getloadavg()[0], 2),
        "peak_rss_mb": round(r["peak_rss_mb"])})
    return 0 if r["segments_differing"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
