"""BTYD model fits: ours vs ``lifetimes`` 0.11.3 (peer venv), same data, medians.

Figures
- BG/NBD on the CDNOW sample (2,357 customers) and on 1,000,000 synthetic customers
  (times include our compression to distinct rows; lifetimes' default ``fit``).
  Target on 1M: <= 0.5 s and >= 25x faster than lifetimes.
- Pareto/NBD on 1,000,000 synthetic customers. Target: <= 2 s, >= 10x faster.

Synthetic customers follow each model's own story with the CDNOW parameters, a
12-week acquisition cohort observed for 39 weeks and times recorded to the day
(in weeks), as a transaction table would give them.  ``--quick`` uses 100,000
customers (20,000 for the Pareto/NBD peer, which is slow) and one peer run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from _common import DATA, median, peer_python, run_python, time_runs, write_result  # noqa: E402

from outsidein.value import BetaGeo, ParetoNBD, simulate_bgnbd, simulate_pareto  # noqa: E402  # noqa: E402

FULL = 1_000_000
#: lifetimes' Pareto/NBD on 1M takes minutes; beyond this the ratio is a lower bound
PEER_TIMEOUT_S = 900
BG_PARAMS = {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}
PARETO_PARAMS = {"r": 0.5534, "alpha": 10.5776, "s": 0.6061, "beta": 11.6650}

PEER_CODE = """
import json, time, warnings
warnings.simplefilter("ignore")
import numpy as np
from lifetimes import {cls}
d = np.load({path!r})
runs = []
for _ in range({repeat}):
    t0 = time.perf_counter()
    m = {cls}().fit(d["x"], d["tx"], d["T"])
    runs.append(time.perf_counter() - t0)
print(json.dumps({{"runs_s": runs, "params": {{k: float(v) for k, v in m.params_.items()}}}}))
"""


def cohort(n: int, seed: int) -> np.ndarray:
    """T in weeks: first purchase on one of 84 days, observed to day 273."""
    return (273 - np.random.default_rng(seed).integers(0, 84, n)) / 7.0


def to_days(tx: np.ndarray) -> np.ndarray:
    return np.round(tx * 7) / 7


def synthetic(kind: str, n: int) -> dict[str, np.ndarray]:
    big_t = cohort(n, seed=1)
    if kind == "bgnbd":
        x, tx, big_t = simulate_bgnbd(n, **BG_PARAMS, T=big_t, seed=2)
    else:
        x, tx, big_t = simulate_pareto(n, **PARETO_PARAMS, T=big_t, seed=2)
    return {"x": x, "tx": to_days(tx), "T": big_t}


def cdnow() -> dict[str, np.ndarray] | None:
    root = Path(os.environ.get("OUTSIDEIN_REFERENCE_DATA",
                               Path(__file__).resolve().parents[2] / "shared" / "data"))
    path = root / "cdnow" / "cdnow_customers_summary_with_transactions.csv"
    if not path.exists():
        print(f"skipping the CDNOW figure: {path} not found")
        return None
    import pandas as pd

    d = pd.read_csv(path)
    return {"x": d["x"].to_numpy(float), "tx": d["t_x"].to_numpy(float),
            "T": d["T"].to_numpy(float)}


def ours(cls: type, data: dict[str, np.ndarray], repeat: int) -> dict:
    model = cls()
    runs = time_runs(lambda: model.fit(data["x"], data["tx"], data["T"]), repeat=repeat,
                     warmup=1)
    return {"median_s": round(median(runs), 4), "runs_s": [round(r, 4) for r in runs],
            "params": model.params_, "log_likelihood": model.log_likelihood_,
            "distinct_rows": model.n_rows_}


def peer(cls: str, data: dict[str, np.ndarray], name: str, repeat: int) -> dict | None:
    python = peer_python()
    if python is None:
        print("no peer venv ($OUTSIDEIN_PEER_PYTHON): lifetimes figures skipped")
        return None
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"btyd_{name}.npz"
    np.savez(path, **data)
    t0 = time.perf_counter()
    try:
        out = run_python(PEER_CODE.format(cls=cls, path=str(path), repeat=repeat),
                         python=python, timeout=PEER_TIMEOUT_S)
    except subprocess.TimeoutExpired:  # slower than this is a result too: a lower bound
        return {"timed_out": True, "median_s": float(PEER_TIMEOUT_S) / repeat}
    except Exception as exc:  # the peer failing is a result too
        return {"error": str(exc)[-500:], "elapsed_s": round(time.perf_counter() - t0, 1)}
    out["median_s"] = round(median(out["runs_s"]), 4)
    return out


def figure(name: str, cls: type, peer_cls: str, data: dict[str, np.ndarray], *, repeat: int,
           peer_repeat: int, target_s: float | None, target_ratio: float | None) -> dict:
    print(f"{name}: {data['x'].size:,} customers", flush=True)
    mine = ours(cls, data, repeat)
    other = peer(peer_cls, data, name, peer_repeat)
    ratio = (other["median_s"] / mine["median_s"]) if other and "median_s" in other else None
    met = None
    if target_s is not None or target_ratio is not None:
        met = bool((target_s is None or mine["median_s"] <= target_s)
                   and (target_ratio is None or (ratio is not None and ratio >= target_ratio)))
    target = " and ".join(t for t in (f"<= {target_s} s" if target_s else "",
                                      f">= {target_ratio}x faster" if target_ratio else "")
                          if t)
    print(f"  ours {mine['median_s']:.3f} s, lifetimes "
          f"{other.get('median_s') if other else None} s, ratio {ratio}", flush=True)
    return {"figure": name, "customers": int(data["x"].size), "outsidein": mine,
            "peer": {"name": f"lifetimes 0.11.3 {peer_cls}().fit (default)", **(other or {})},
            "ratio": None if ratio is None else round(ratio, 1), "target": target or None,
            "met": met}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, one peer run")
    args = parser.parse_args()
    n = FULL // 10 if args.quick else FULL
    n_pareto_peer = 20_000 if args.quick else FULL
    peer_repeat = 1 if args.quick else 3
    figures = []
    sample = cdnow()
    if sample is not None:
        figures.append(figure("bgnbd_cdnow", BetaGeo, "BetaGeoFitter", sample, repeat=5,
                              peer_repeat=peer_repeat, target_s=None, target_ratio=None))
    figures.append(figure(f"bgnbd_{n}", BetaGeo, "BetaGeoFitter", synthetic("bgnbd", n),
                          repeat=3, peer_repeat=peer_repeat,
                          target_s=None if args.quick else 0.5,
                          target_ratio=None if args.quick else 25))
    pareto = synthetic("pareto", n)
    fig = figure(f"pareto_{n}", ParetoNBD, "ParetoNBDFitter",
                 {k: v[:n_pareto_peer] for k, v in pareto.items()} if args.quick else pareto,
                 repeat=3, peer_repeat=1, target_s=None if args.quick else 2.0,
                 target_ratio=None if args.quick else 10)
    if args.quick:  # our time on the full quick size too (the peer ran on a subset)
        fig["outsidein_all"] = ours(ParetoNBD, pareto, 3)
    figures.append(fig)
    met = [f["met"] for f in figures if f["met"] is not None]
    write_result("btyd" if not args.quick else "btyd_quick",
                 {"quick": args.quick, "figures": json.loads(json.dumps(figures, default=float)),
                  "meets_targets": bool(met) and all(met)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
