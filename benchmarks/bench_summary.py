"""Per-customer summary (frequency, recency, T, monetary value) over 100,000,000 order lines.

Targets: <= 10 s for 100M lines in Parquet, materialised into a warehouse table;
>= 20x faster than ``lifetimes.utils.summary_data_from_transaction_data`` on
10M lines (run in the peer venv ``$OUTSIDEIN_PEER_PYTHON``, with the pins
lifetimes needs).  Both sides compute the same figures; the peer's result is
checked against ours on the 10M lines.  ``--quick`` divides sizes by 100.

Three figures per size, all on the same Parquet file (``order_lines`` is a
view over it, so nothing is copied first):

* ``warehouse``: the summary as the product computes it
  (``rollup.purchase_summary``), from the ``purchase_days`` rollup that the
  loader keeps for the lines; this is the figure held against the targets;
* ``rollup_build``: building that rollup from the raw lines
  (``rollup.rebuild``), i.e. the work a load adds, paid once per load;
* ``cold``: the line-level Ibis expression straight over the raw Parquet
  (``customer_summary``), for a table the loader never saw.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import DATA, median, peer_python, run_python, write_result  # noqa: E402

FULL_ROWS = 100_000_000
PEER_ROWS = 10_000_000
OBS_END = "2023-12-31"


def generate(rows: int) -> Path:
    """Order lines as Parquet (written once by DuckDB): rows / 20 customers over two years.

    Lines come in orders of three (same customer and time stamp), as order lines do.
    """
    import duckdb

    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"summary_lines3_{rows}.parquet"
    if path.exists():
        return path
    customers = max(rows // 20, 10)
    tmp = path.with_suffix(".tmp")
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    con.execute(f"""
        COPY (SELECT 'c' || (((i // 3) * 2654435761) % {customers}) AS customer_id,
                     TIMESTAMP '2022-01-01' + to_seconds(((i // 3) * 7919) % 63072000) AS ts,
                     round(5 + ((i * 31) % 9973) / 100.0, 2) AS revenue
              FROM range({rows}) t(i))
        TO '{tmp}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)
    """)
    con.close()
    tmp.rename(path)
    return path


OURS = """
import json, shutil, tempfile, time
from outsidein.workspace import Workspace
from outsidein.warehouse import rollup
from outsidein.warehouse.summary import customer_summary
root = tempfile.mkdtemp(prefix="bench_summary_")
ws = Workspace.init(root + "/ws")
wh = ws.warehouse()
con = wh.con
raw = wh.duckdb
raw.execute("SET preserve_insertion_order = false")
raw.execute("DROP TABLE order_lines")
raw.execute("CREATE VIEW order_lines AS SELECT NULL::VARCHAR AS order_id, customer_id, "
            "'p'::VARCHAR AS product_id, ts, 1::BIGINT AS quantity, revenue, "
            "NULL::DOUBLE AS discount, false AS is_return FROM read_parquet({path!r})")
def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0
def build():
    raw.execute("BEGIN TRANSACTION")
    rollup.rebuild(raw)
    raw.execute("COMMIT")
def warm():
    assert rollup.is_current(wh)
    expr = rollup.purchase_summary(wh, observation_end={end!r}, time_unit="days")
    con.create_table("customer_summary", expr, overwrite=True)
def cold():
    lines = con.read_parquet({path!r})
    expr = customer_summary(lines, observation_end={end!r}, time_unit="days")
    con.create_table("customer_summary_cold", expr, overwrite=True)
runs = {{"rollup_build": [], "warehouse": [], "cold": []}}
for i in range({repeat}):
    runs["rollup_build"].append(timed(build))
    runs["warehouse"].append(timed(warm))
    runs["cold"].append(timed(cold))
n = con.table("customer_summary").count().execute()
days = con.table("purchase_days").count().execute()
same = con.sql("SELECT count(*) FROM (SELECT * FROM customer_summary EXCEPT "
               "SELECT * FROM customer_summary_cold)").execute().iloc[0, 0]
if {dump!r}:
    con.table("customer_summary").to_parquet({dump!r})
ws.close()
shutil.rmtree(root)
import resource
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"runs": runs, "customers": int(n), "purchase_days": int(days),
                  "rows_differing_warm_vs_cold": int(same), "peak_rss_mb": rss}}))
"""

PEER = """
import json, time
import pandas as pd
from lifetimes.utils import summary_data_from_transaction_data
df = pd.read_parquet({path!r})
t0 = time.perf_counter()
s = summary_data_from_transaction_data(df, "customer_id", "ts", monetary_value_col="revenue",
                                       observation_period_end={end!r}, freq="D")
seconds = time.perf_counter() - t0
s.reset_index().to_parquet({dump!r})
import resource
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"seconds": seconds, "customers": int(len(s)), "peak_rss_mb": rss}}))
"""


def compare(ours: Path, peer: Path) -> dict[str, float]:
    """Largest differences between our summary and lifetimes' (days; money in cents)."""
    import pandas as pd

    a = pd.read_parquet(ours).set_index("customer_id").sort_index()
    b = pd.read_parquet(peer).set_index("customer_id").sort_index()
    b = b.loc[a.index]
    return {
        "frequency": float((a.frequency - b.frequency).abs().max()),
        "recency": float((a.recency - b.recency).abs().max()),
        "T": float((a["T"] - b["T"]).abs().max()),
        "monetary_cents": float(((a.monetary_value - b.monetary_value) * 100).abs().max()),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="sizes / 100")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    scale = 100 if args.quick else 1
    big_rows, small_rows = FULL_ROWS // scale, PEER_ROWS // scale
    big_path, small_path = generate(big_rows), generate(small_rows)
    print(f"inputs: {big_path.name}, {small_path.name}", flush=True)
    result: dict = {"quick": args.quick, "rows": big_rows, "peer_rows": small_rows}

    def figures(run: dict) -> dict:
        return {k: {"median_s": round(median(v), 3), "runs_s": [round(x, 3) for x in v]}
                for k, v in run["runs"].items()}

    ours = run_python(OURS.format(path=str(big_path), end=OBS_END, repeat=args.repeat, dump=""))
    big = figures(ours)
    big_s = big["warehouse"]["median_s"]
    print(f"{big_rows:,} lines ({ours['customers']:,} customers, {ours['purchase_days']:,} "
          f"purchase days): warehouse summary median {big_s:.2f} s; rollup build "
          f"{big['rollup_build']['median_s']:.2f} s; cold from raw Parquet "
          f"{big['cold']['median_s']:.2f} s; peak RSS {ours['peak_rss_mb']:.0f} MB", flush=True)
    result["outsidein_big"] = {**big, "customers": ours["customers"],
                               "purchase_days": ours["purchase_days"],
                               "rows_differing_warm_vs_cold": ours["rows_differing_warm_vs_cold"],
                               "peak_rss_mb": round(ours["peak_rss_mb"])}

    ours_dump = DATA / "summary_ours.parquet"
    small_run = run_python(OURS.format(path=str(small_path), end=OBS_END, repeat=args.repeat,
                                       dump=str(ours_dump)))
    small = figures(small_run)
    small_s = small["warehouse"]["median_s"]
    print(f"{small_rows:,} lines: warehouse summary median {small_s:.3f} s; rollup build "
          f"{small['rollup_build']['median_s']:.2f} s; cold {small['cold']['median_s']:.2f} s",
          flush=True)
    result["outsidein_peer_size"] = {
        **small, "rows_differing_warm_vs_cold": small_run["rows_differing_warm_vs_cold"]}

    peer = peer_python()
    if peer is None:
        print("peer venv not set ($OUTSIDEIN_PEER_PYTHON): lifetimes comparison skipped")
        result["lifetimes"] = None
    else:
        peer_dump = DATA / "summary_lifetimes.parquet"
        p = run_python(PEER.format(path=str(small_path), end=OBS_END, dump=str(peer_dump)),
                       python=peer)
        diffs = compare(ours_dump, peer_dump)
        secs = p["seconds"]
        cold_s = small["cold"]["median_s"]
        build_s = small["rollup_build"]["median_s"]
        print(f"lifetimes summary_data_from_transaction_data, {small_rows:,} lines: "
              f"{secs:.2f} s; ratio {secs / small_s:.1f}x against the warehouse summary, "
              f"{secs / cold_s:.1f}x against the cold summary, {secs / (build_s + small_s):.1f}x "
              f"against rollup build + summary; max differences {diffs}", flush=True)
        result["lifetimes"] = {"seconds": round(secs, 3), "customers": p["customers"],
                               "speedup": round(secs / small_s, 2),
                               "speedup_cold": round(secs / cold_s, 2),
                               "speedup_build_plus_summary": round(secs / (build_s + small_s), 2),
                               "max_differences": diffs}
    result["targets"] = {"big_seconds": 10, "speedup_vs_lifetimes": 20}
    result["meets_targets"] = (not args.quick) and big_s <= 10 and bool(
        result["lifetimes"] and result["lifetimes"]["speedup"] >= 20)
    write_result("summary", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
