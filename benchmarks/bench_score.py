"""Score CLV and P(alive) for 10,000,000 customers inside the warehouse (target <= 15 s).

The summary rows (customer_id, frequency, recency, T, monetary_value) are
generated synthetically with DuckDB SQL: two years of history, first
purchases spread over every day, about 40% one-time buyers and a long tail of
frequent buyers, so the distinct (frequency, recency, T) rows number in the
millions, as they would for a real company of that size.  The timed step is
:func:`outsidein.services.value.score_summary` with BG/NBD and Gamma-Gamma:
distinct rows to NumPy, model maths, scores back to DuckDB, the join to
every customer, CLV deciles and the plain-words reasons, written to
``customer_value``.  Median of 3 runs; also timed without the reason column
(``numbers_only_*``: CLV, P(alive), expected purchases and spend, deciles).

    .venv/bin/python benchmarks/bench_score.py            # 10M customers
    .venv/bin/python benchmarks/bench_score.py --quick    # 100k customers
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import DATA, median, write_result  # noqa: E402

FULL = 10_000_000
TARGET_S = 15.0

SUMMARY_SQL = """
CREATE OR REPLACE TABLE bench_summary AS
WITH base AS (
    SELECT i,
           1 + floor(random() * 730)::BIGINT AS t_days,
           random() AS u_once, random() AS u_rate, random() AS u_rec, random() AS u_spend
    FROM range({n}) AS r(i)
), freq AS (
    SELECT *, CASE WHEN u_once < 0.4 THEN 0
                   ELSE floor(pow(u_rate, 3) * t_days / 10)::BIGINT END AS x
    FROM base
)
SELECT 'c' || i::VARCHAR AS customer_id,
       x AS frequency,
       CASE WHEN x = 0 THEN 0.0
            ELSE greatest(x, floor(u_rec * t_days))::DOUBLE / 7 END AS recency,
       t_days::DOUBLE / 7 AS "T",
       CASE WHEN x = 0 THEN 0.0 ELSE round(15 + 250 * pow(u_spend, 2), 2) END AS monetary_value
FROM freq
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="100x fewer customers")
    ap.add_argument("--customers", type=int, default=None, help="override the customer count")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n = args.customers or (FULL // 100 if args.quick else FULL)

    from outsidein.services.value import score_summary
    from outsidein.value import model_from_params
    from outsidein.workspace import Workspace

    folder = DATA / f"score_{n}"
    shutil.rmtree(folder, ignore_errors=True)
    ws = Workspace.init(folder)
    wh = ws.warehouse()
    t0 = time.perf_counter()
    wh.duckdb.execute("SELECT setseed(0.42)")
    wh.duckdb.execute(SUMMARY_SQL.format(n=n))
    gen_s = time.perf_counter() - t0
    summary = wh.table("bench_summary")
    distinct = int(summary.select("frequency", "recency", "T").distinct().count().execute())
    print(f"{n:,} customers, {distinct:,} distinct (frequency, recency, T) rows, "
          f"generated in {gen_s:.1f} s", flush=True)

    bg = model_from_params("BetaGeo", {"r": 0.8, "alpha": 6.0, "a": 0.6, "b": 3.0})
    gg = model_from_params("GammaGamma", {"p": 6.0, "q": 4.0, "gamma": 40.0})
    def timed(reasons: bool) -> tuple[list[float], list[float]]:
        runs, cpu = [], []
        for k in range(args.repeat):
            t, c = time.perf_counter(), time.process_time()
            score_summary(wh, summary, bg, gg, margin=0.4, horizon_weeks=52,
                          discount_rate=0.01, reasons=reasons)
            runs.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
            print(f"{'with' if reasons else 'without'} reasons, run {k + 1}: {runs[-1]:.2f} s "
                  f"wall, {cpu[-1]:.2f} s CPU", flush=True)
        return runs, cpu

    bare_runs, bare_cpu = timed(False)
    runs, cpu = timed(True)
    scored = int(wh.table("customer_value").count().execute())
    assert scored == n, f"customer_value has {scored:,} rows, expected {n:,}"
    seconds = median(runs)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ws.close()
    shutil.rmtree(folder, ignore_errors=True)
    write_result("score", {
        "what": "score CLV, P(alive), expected purchases/spend, deciles and reasons into "
                "customer_value (DuckDB, BG/NBD + Gamma-Gamma, 52 weeks, weekly discounting)",
        "customers": n, "distinct_rows": distinct, "quick": bool(args.quick),
        "seconds_median": round(seconds, 3), "seconds_runs": [round(s, 3) for s in runs],
        "cpu_seconds_runs": [round(s, 3) for s in cpu],
        "numbers_only_seconds_median": round(median(bare_runs), 3),
        "numbers_only_seconds_runs": [round(s, 3) for s in bare_runs],
        "numbers_only_cpu_seconds_runs": [round(s, 3) for s in bare_cpu],
        "load_average_1m": round(os.getloadavg()[0], 2),
        "customers_per_second": round(n / seconds), "peak_rss_mb": round(peak_mb),
        "target_seconds": TARGET_S if n == FULL else None,
        "meets_target": (seconds <= TARGET_S) if n == FULL else None,
        "numbers_only_meets_target": (median(bare_runs) <= TARGET_S) if n == FULL else None,
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
