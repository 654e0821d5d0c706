"""BG/NBD fit on whole-day data: ours vs ``lifetimes`` 0.11.3 (peer venv), same data, medians.

Real transaction data has times in whole days, so a million customers give
hundreds of thousands of distinct (frequency, recency, T) rows, not the few
thousand of a coarse benchmark.  Here 1,000,000 customers follow BG/NBD with
the CDNOW parameters; each made a first purchase on one of 365 days and is
observed to day 546 (78 weeks), with recency and T in whole days expressed in
weeks (days / 7): 302,527 distinct rows.

Figure: ``BetaGeo().fit`` on the 1M customer rows (our time includes the
compression to distinct rows) against lifetimes' ``BetaGeoFitter().fit``
(default settings) on the same arrays, in the same run.  Target: <= 0.4 s,
>= 40x faster than lifetimes and the same parameters to 5e-3 (relative).
``--quick`` uses 100,000 customers and one peer run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from _common import median, time_runs, write_result  # noqa: E402
from bench_btyd import BG_PARAMS, peer  # noqa: E402

from outsidein.value import BetaGeo, simulate_bgnbd  # noqa: E402

FULL = 1_000_000
FIRST_DAYS = 365  # first purchases spread over a year ...
END_DAY = 546  # ... observed to day 546 (78 weeks)
TARGET_S, TARGET_RATIO, TARGET_PARAMS = 0.4, 40.0, 5e-3


def whole_days(n: int) -> dict[str, np.ndarray]:
    """*n* BG/NBD customers with recency and T in whole days, in weeks."""
    big_t = (END_DAY - np.random.default_rng(1).integers(0, FIRST_DAYS, n)) / 7.0
    x, tx, big_t = simulate_bgnbd(n, **BG_PARAMS, T=big_t, seed=2)
    return {"x": x, "tx": np.round(tx * 7) / 7, "T": big_t}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100,000 customers, one peer run")
    args = parser.parse_args()
    n = FULL // 10 if args.quick else FULL
    data = whole_days(n)
    distinct = int(np.unique(np.stack([data["x"], data["tx"], data["T"]]), axis=1).shape[1])
    print(f"bgnbd_days: {n:,} customers, {distinct:,} distinct (frequency, recency, T) rows",
          flush=True)
    model = BetaGeo()
    runs = time_runs(lambda: model.fit(data["x"], data["tx"], data["T"]), repeat=7, warmup=1)
    mine = {"median_s": round(median(runs), 4), "runs_s": [round(r, 4) for r in runs],
            "params": model.params_, "log_likelihood": model.log_likelihood_,
            "distinct_rows": model.n_rows_, "newton_steps": model.n_iter_}
    t0 = time.perf_counter()
    other = peer("BetaGeoFitter", data, "bgnbd_days", repeat=1 if args.quick else 3)
    peer_wall = time.perf_counter() - t0
    ratio = other["median_s"] / mine["median_s"] if other and "runs_s" in other else None
    gap = (max(abs(mine["params"][k] / other["params"][k] - 1) for k in BG_PARAMS)
           if other and "params" in other else None)
    met = None if args.quick else bool(
        mine["median_s"] <= TARGET_S and ratio is not None and ratio >= TARGET_RATIO
        and gap is not None and gap <= TARGET_PARAMS)
    print(f"  ours {mine['median_s']:.3f} s, lifetimes "
          f"{other.get('median_s') if other else None} s, ratio {ratio}, "
          f"largest relative parameter difference {gap}", flush=True)
    figure = {"figure": f"bgnbd_days_{n}", "customers": n, "distinct_rows": distinct,
              "outsidein": mine,
              "peer": {"name": "lifetimes 0.11.3 BetaGeoFitter().fit (default)",
                       "wall_s_all_runs": round(peer_wall, 1), **(other or {})},
              "ratio": None if ratio is None else round(ratio, 1),
              "largest_relative_parameter_difference": gap,
              "target": f"<= {TARGET_S} s and >= {TARGET_RATIO:g}x faster, parameters "
                        f"within {TARGET_PARAMS:g}", "met": met}
    write_result("bgnbd_days" if not args.quick else "bgnbd_days_quick",
                 {"quick": args.quick, "figures": json.loads(json.dumps([figure], default=float)),
                  "meets_targets": met})
    return 0


if __name__ == "__main__":
    sys.exit(main())
