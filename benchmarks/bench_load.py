"""Load 10,000,000 order lines from CSV with validation (target <= 30 s, peak RSS <= 3 GB).

Compares :func:`outsidein.services.data.load_file` with the obvious pandas way
(``pd.read_csv``, per-column validation in pandas, de-duplication, write to
DuckDB) on the same file, each in a fresh process so that peak memory is the
process's own.  ``--quick`` divides the size by 100.

The generated file (git-ignored, in ``benchmarks/data/``) has 0.1 % bad
revenues, 0.05 % bad dates, 0.05 % negative quantities and 0.1 % duplicated
lines, 500,000 customers (one in ten unknown to the customers table) and
2,000 products.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import DATA, median, run_python, write_result  # noqa: E402

FULL_ROWS = 10_000_000


def generate(rows: int) -> Path:
    """Write the order-line CSV once (DuckDB COPY), reusing it when present."""
    import duckdb

    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"order_lines_{rows}.csv"
    if path.exists():
        return path
    tmp = path.with_suffix(".tmp")
    con = duckdb.connect()
    n_main = rows - rows // 1000
    customers = max(rows // 20, 10)
    con.execute(f"""
        COPY (
          WITH base AS (
            SELECT i,
                   'o' || (i // 3) AS order_id,
                   'c' || ((i * 7919) % {customers}) AS customer_id,
                   'p' || (i % 2000) AS product_id,
                   CASE WHEN i % 2000 = 3 THEN '31/12/2023'
                        ELSE strftime(TIMESTAMP '2022-01-01' + to_seconds((i * 61) % 63072000),
                                      '%Y-%m-%d %H:%M:%S') END AS ts,
                   CASE WHEN i % 2000 = 5 THEN -1 ELSE 1 + i % 3 END AS quantity,
                   CASE WHEN i % 1000 = 9 THEN 'n/a'
                        ELSE CAST(round(2 + (i % 997) * 0.37, 2) AS VARCHAR) END AS revenue,
                   CAST(round((i % 5) * 0.5, 2) AS VARCHAR) AS discount
            FROM range({n_main}) t(i))
          SELECT * EXCLUDE (i) FROM base
          UNION ALL  -- 0.1 % exact copies of earlier lines
          SELECT * EXCLUDE (i) FROM base WHERE i < {(rows // 1000) * 997} AND i % 997 = 1
        ) TO '{tmp}' (HEADER, DELIMITER ',', FORMAT csv)
    """)
    con.close()
    tmp.rename(path)
    return path


OURS = """
import json, shutil, sys, tempfile, time
from outsidein.services.data import load_file
from outsidein.workspace import Workspace
root = tempfile.mkdtemp(prefix="bench_load_")
ws = Workspace.init(root + "/ws")
t0 = time.perf_counter()
r = load_file(ws, "order_lines", {path!r})
seconds = time.perf_counter() - t0
ws.close()
shutil.rmtree(root)
import resource
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"seconds": seconds, "report": r.to_dict(), "peak_rss_mb": rss}}))
"""

PANDAS = """
import json, shutil, tempfile, time
import duckdb, numpy as np, pandas as pd
root = tempfile.mkdtemp(prefix="bench_load_pd_")
t0 = time.perf_counter()
df = pd.read_csv({path!r}, dtype=str, keep_default_na=False)
df.insert(0, "row_number", np.arange(1, len(df) + 1))
for col in ("order_id", "customer_id", "product_id", "ts", "quantity", "revenue"):
    if col not in df.columns:
        raise SystemExit("missing column " + col)
reason = pd.Series(None, index=df.index, dtype=object)
for col in ("order_id", "customer_id", "product_id", "ts", "quantity", "revenue"):
    reason = reason.where(reason.notna() | (df[col] != ""), col + ": missing required value")
ts = pd.to_datetime(df.ts, format="ISO8601", errors="coerce")
reason = reason.where(reason.notna() | ts.notna(), "ts: expected a timestamp")
qty = pd.to_numeric(df.quantity, errors="coerce")
reason = reason.where(reason.notna() | (qty.notna() & (qty == qty.round())),
                      "quantity: expected a whole number")
revenue = pd.to_numeric(df.revenue, errors="coerce")
reason = reason.where(reason.notna() | (revenue.notna() & np.isfinite(revenue)),
                      "revenue: expected a number")
discount = pd.to_numeric(df.discount.replace("", None), errors="coerce")
reason = reason.where(reason.notna() | ~(discount < 0), "discount: below the minimum 0")
reason = reason.where(reason.notna() | ~(qty < 0), "quantity: negative quantity")
bad = reason.notna()
quarantine = df.loc[bad, ["row_number"]].assign(reason=reason[bad],
                                              raw=df.loc[bad].drop(columns="row_number")
                                              .to_json(orient="records", lines=True)
                                              .splitlines())
good = pd.DataFrame({{"order_id": df.order_id, "customer_id": df.customer_id,
                     "product_id": df.product_id, "ts": ts, "quantity": qty.astype("Int64"),
                     "revenue": revenue, "discount": discount}})[~bad]
good = good.drop_duplicates(["order_id", "product_id"], keep="first")
con = duckdb.connect(root + "/warehouse.duckdb")
con.register("good", good)
con.register("quarantine_df", quarantine)
con.execute("CREATE TABLE order_lines AS SELECT * FROM good")
con.execute("CREATE TABLE quarantine AS SELECT * FROM quarantine_df")
con.execute("CREATE TABLE customers AS SELECT DISTINCT customer_id, true AS is_stub FROM good")
con.close()
seconds = time.perf_counter() - t0
shutil.rmtree(root)
import resource
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"seconds": seconds, "loaded": int(len(good)), "quarantined": int(bad.sum()),
                  "peak_rss_mb": rss}}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="sizes / 100")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pandas-repeat", type=int, default=None,
                    help="runs of the pandas peer (default: 1 at full size, 3 with --quick)")
    args = ap.parse_args()
    rows = FULL_ROWS // 100 if args.quick else FULL_ROWS
    path = generate(rows)
    size_mb = path.stat().st_size / 1e6
    print(f"input: {path} ({rows:,} rows, {size_mb:,.0f} MB)", flush=True)
    ours = [run_python(OURS.format(path=str(path))) for _ in range(args.repeat)]
    for o in ours:
        print(f"outsidein load_file: {o['seconds']:.2f} s, peak RSS {o['peak_rss_mb']:.0f} MB",
              flush=True)
    report = ours[0]["report"]
    assert report["rows_read"] == report["loaded"] + report["quarantined"] + report["duplicates"]
    p_repeat = args.pandas_repeat or (3 if args.quick else 1)
    peers = [run_python(PANDAS.format(path=str(path))) for _ in range(p_repeat)]
    for p in peers:
        print(f"pandas: {p['seconds']:.2f} s, peak RSS {p['peak_rss_mb']:.0f} MB", flush=True)
    ours_s = median([o["seconds"] for o in ours])
    peer_s = median([p["seconds"] for p in peers])
    ours_rss = max(o["peak_rss_mb"] for o in ours)
    write_result("load", {
        "quick": args.quick,
        "rows": rows,
        "file_mb": round(size_mb, 1),
        "outsidein": {"median_s": round(ours_s, 3), "runs_s": [round(o["seconds"], 3)
                                                             for o in ours],
                      "peak_rss_mb": round(ours_rss), "report": report},
        "pandas": {"median_s": round(peer_s, 3), "runs_s": [round(p["seconds"], 3)
                                                          for p in peers],
                   "peak_rss_mb": round(max(p["peak_rss_mb"] for p in peers)),
                   "loaded": peers[0]["loaded"], "quarantined": peers[0]["quarantined"]},
        "speedup_vs_pandas": round(peer_s / ours_s, 2),
        "targets": {"seconds": 30, "peak_rss_mb": 3072},
        "meets_targets": (not args.quick) and ours_s <= 30 and ours_rss <= 3072,
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())

