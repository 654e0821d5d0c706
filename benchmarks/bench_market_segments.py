"""``outsidein market segments`` on the demo company, and a pandas RFM peer in the same run.

Target (issue 13): segments on the 1,000,000-customer demo in <= 60 s.  The default size
is small (20,000 customers; ``--customers`` changes it, ``--quick`` divides it by 10):
generating a 1M-customer demo takes many minutes and about 10 GB on this machine.

Figures (medians of ``--repeat`` runs, each in a fresh interpreter's workspace):

* ``segments``: :func:`outsidein.services.market.segments.run_segments`, everything: orders
  with stock-out flags, RFM, clusters (sample fit and warehouse assignment),
  ``customer_segments``, the matrix and the availability effects;
* ``rfm_warehouse``: the RFM step alone (the Ibis expression materialised as a table);
* ``rfm_pandas`` (the peer): the same RFM from the order lines with pandas ``groupby``
  (``order_lines`` read from a Parquet export, the read not timed), the scores with the
  same tie rule, the named segments from the same grid; its segments are compared with
  ours (``segments_differing`` must be 0).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import median, run_python, write_result  # noqa: E402

DEFAULT_CUSTOMERS = 20_000

CODE = """
import json, shutil, tempfile, time
import numpy as np, pandas as pd
from outsidein.workspace import Workspace
from outsidein.demo.company import generate_demo
from outsidein.market.rfm import quintile_scores, rfm_segment
from outsidein.services.market import segments_data as sd
from outsidein.services.market.segments import run_segments
root = tempfile.mkdtemp(prefix="bench_segments_")
ws = Workspace.init(root + "/ws")
t0 = time.perf_counter()
generate_demo(ws, customers={customers}, seed=11)
gen = time.perf_counter() - t0
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
    wh.write_table("_b_rfm", sd.rfm(o, wh.table("order_lines"), sd.data_end(o)))
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
out = {{"runs": runs, "generate_s": gen, "customers": int(res.customers),
       "order_lines": int(len(df)), "k": res.k_choice["k"], "segments_differing": differ}}
ws.close()
shutil.rmtree(root)
print(json.dumps(out))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=DEFAULT_CUSTOMERS)
    ap.add_argument("--quick", action="store_true", help="customers / 10")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n = max(args.customers // (10 if args.quick else 1), 500)
    r = run_python(CODE.format(customers=n, repeat=args.repeat))
    fig = {k: {"median_s": round(median(v), 3), "runs_s": [round(x, 3) for x in v]}
           for k, v in r["runs"].items()}
    ours, peer = fig["rfm_warehouse"]["median_s"], fig["rfm_pandas"]["median_s"]
    seg_s = fig["segments"]["median_s"]
    print(f"{r['customers']:,} customers, {r['order_lines']:,} order lines (demo generated in "
          f"{r['generate_s']:.1f} s): segments median {seg_s:.2f} s (k = {r['k']}); RFM in the "
          f"warehouse {ours:.2f} s against pandas groupby {peer:.2f} s; "
          f"{r['segments_differing']} segments differ; peak RSS {r['peak_rss_mb']:.0f} MB",
          flush=True)
    write_result("market_segments", {
        "customers": r["customers"], "order_lines": r["order_lines"], "quick": args.quick,
        "figure": {"name": "segments_s", "median_s": seg_s},
        "target": {"customers": 1_000_000, "max_s": 60.0,
                   "note": "the target size; this run is at 'customers'"},
        "peer": {"name": "pandas groupby RFM (same scores and grid)", "median_s": peer},
        "ratio_rfm_peer_over_ours": round(peer / ours, 2) if ours else None,
        "runs": fig, "segments_differing": r["segments_differing"],
        "generate_s": round(r["generate_s"], 2), "peak_rss_mb": round(r["peak_rss_mb"])})
    return 0 if r["segments_differing"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
