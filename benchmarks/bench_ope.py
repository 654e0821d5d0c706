"""Offline policy evaluation on the Open Bandit Dataset sample: ours vs a plain reference.

Figures (medians, the peer in the same run)
- ``ipw_obd``: :func:`outsidein.sense.ipw` with a 10,000-resample bootstrap interval
  (obp's default) of the Bernoulli TS policy on the 10,000-round random log.
- ``dr_obd``: :func:`outsidein.sense.dr`, same bootstrap, with a reward model of the
  click rate per (item, position) (shrunk towards the overall rate), shape (n, 80, 3).
- ``bts_action_dist``: the Bernoulli TS action distribution from 100,000 simulated
  impressions (:func:`outsidein.sense.bernoulli_ts_action_dist`).

The peer is obp 0.5.7 itself when ``$OUTSIDEIN_PEER_PYTHON`` can import it (obp needs
pandas < 3 and torch, so it never enters the product venv).  Otherwise it is a
straightforward pandas implementation (merge the target probabilities onto the log, a
Python loop of ``Series.sample`` resamples, as obp's own bootstrap loops) and a Python
loop of one Beta draw per impression (obp's algorithm); the JSON says which one ran.
Both sides give the same estimates, which the JSON records too.

    .venv/bin/python benchmarks/bench_ope.py            # 10,000 resamples
    .venv/bin/python benchmarks/bench_ope.py --quick    # 1,000 resamples, one peer run
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from _common import DATA, median, peer_python, run_python, time_runs, write_result  # noqa: E402

from outsidein.sense import bernoulli_ts_action_dist, dr, ipw  # noqa: E402
from outsidein.services.sense import ZOZOTOWN_BTS_PRIOR, read_obd  # noqa: E402

N_SIM = 100_000
SEED = 12345

OBP_CODE = """
import json, time, warnings
warnings.simplefilter("ignore")
import numpy as np
from obp.dataset import OpenBanditDataset
from obp.ope import DoublyRobust, InverseProbabilityWeighting
from obp.policy import BernoulliTS
ds = OpenBanditDataset(behavior_policy="random", campaign="all")  # obp's copy of the sample
bf = ds.obtain_batch_bandit_feedback()
q = np.load({q_path!r})["q"]
out = {{"sim_s": [], "ipw_s": [], "dr_s": []}}
for _ in range({repeat}):
    pol = BernoulliTS(n_actions=ds.n_actions, len_list=ds.len_list, is_zozotown_prior=True,
                      campaign="all", random_state={seed})
    t0 = time.perf_counter()
    dist = pol.compute_batch_action_dist(n_sim={n_sim}, n_rounds=bf["n_rounds"])
    out["sim_s"].append(time.perf_counter() - t0)
    kw = dict(reward=bf["reward"], action=bf["action"], position=bf["position"],
              pscore=bf["pscore"], action_dist=dist)
    t0 = time.perf_counter()
    ci = InverseProbabilityWeighting().estimate_interval(
        **kw, alpha=0.05, n_bootstrap_samples={n_boot}, random_state=0)
    out["ipw_s"].append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    DoublyRobust().estimate_interval(**kw, estimated_rewards_by_reg_model=q, alpha=0.05,
                                     n_bootstrap_samples={n_boot}, random_state=0)
    out["dr_s"].append(time.perf_counter() - t0)
out["ipw"] = float(InverseProbabilityWeighting().estimate_policy_value(**kw))
out["relative"] = out["ipw"] / float(bf["reward"].mean())
print(json.dumps(out))
"""


def obd_folder() -> Path | None:
    root = Path(os.environ.get("OUTSIDEIN_REFERENCE_DATA",
                               Path(__file__).resolve().parents[2] / "shared" / "data"))
    path = root / "obd"
    if not (path / "random").is_dir():
        print(f"skipping: the Open Bandit Dataset sample is not in {path}")
        return None
    return path


def reward_model(log_df: pd.DataFrame, n_actions: int, len_list: int) -> np.ndarray:
    """Click rate per (item, position), shrunk towards the overall rate: (n, items, slots)."""
    overall = log_df["click"].mean()
    grouped = log_df.groupby(["item_id", "position"])["click"].agg(["sum", "count"])
    rate = (grouped["sum"] + 10 * overall) / (grouped["count"] + 10)
    table = np.full((n_actions, len_list), overall)
    for (item, pos), value in rate.items():
        table[int(item), int(pos)] = value
    return np.broadcast_to(table, (len(log_df), n_actions, len_list))


# --------------------------------------------------------------- the pandas reference

def pandas_ipw(df: pd.DataFrame, dist: np.ndarray, n_boot: int) -> tuple[float, float, float]:
    probs = pd.DataFrame([(a, k, dist[0, a, k]) for a in range(dist.shape[1])
                          for k in range(dist.shape[2])], columns=["item_id", "position", "p"])
    merged = df.merge(probs, on=["item_id", "position"], how="left")
    contrib = merged["click"] * merged["p"] / merged["propensity_score"]
    rng = np.random.default_rng(0)
    boots = [contrib.sample(frac=1.0, replace=True, random_state=rng).mean()
             for _ in range(n_boot)]
    return float(contrib.mean()), *np.quantile(boots, [0.025, 0.975])


def pandas_dr(df: pd.DataFrame, dist: np.ndarray, q: np.ndarray,
              n_boot: int) -> tuple[float, float, float]:
    long = pd.DataFrame([(a, k, dist[0, a, k], q[0, a, k]) for a in range(dist.shape[1])
                         for k in range(dist.shape[2])],
                        columns=["item_id", "position", "p", "q"])
    direct = (long.assign(pq=long["p"] * long["q"]).groupby("position")["pq"].sum()
              .rename("direct"))
    merged = df.merge(long, on=["item_id", "position"], how="left").merge(
        direct, left_on="position", right_index=True, how="left")
    contrib = merged["direct"] + merged["p"] / merged["propensity_score"] * (
        merged["click"] - merged["q"])
    rng = np.random.default_rng(0)
    boots = [contrib.sample(frac=1.0, replace=True, random_state=rng).mean()
             for _ in range(n_boot)]
    return float(contrib.mean()), *np.quantile(boots, [0.025, 0.975])


def loop_bts(alpha: np.ndarray, beta: np.ndarray, len_list: int, n_sim: int) -> np.ndarray:
    rng = np.random.RandomState(SEED)
    counts = np.zeros((alpha.size, len_list))
    for _ in range(n_sim):
        top = rng.beta(alpha, beta).argsort()[::-1][:len_list]
        for k in range(len_list):
            counts[top[k], k] += 1
    return counts / n_sim


def obp_peer(q: np.ndarray, n_boot: int, repeat: int) -> dict | None:
    python = peer_python()
    if python is None:
        return None
    check = subprocess.run([python, "-c", "import obp"], capture_output=True)
    if check.returncode != 0:
        print("the peer venv has no obp: comparing with a plain pandas implementation")
        return None
    DATA.mkdir(parents=True, exist_ok=True)
    q_path = DATA / "ope_q.npz"
    np.savez(q_path, q=np.ascontiguousarray(q))
    try:
        return run_python(OBP_CODE.format(q_path=str(q_path), repeat=repeat, seed=SEED,
                                          n_sim=N_SIM, n_boot=n_boot), python=python)
    except Exception as exc:  # the peer failing is a result too
        return {"error": str(exc)[-500:]}


def figure(name: str, mine: list[float], peer: list[float], peer_name: str,
           extra: dict) -> dict:
    ours_s, peer_s = median(mine), median(peer)
    print(f"{name}: ours {ours_s:.4f} s, {peer_name} {peer_s:.4f} s, "
          f"ratio {peer_s / ours_s:.1f}x", flush=True)
    return {"figure": name, "outsidein": {"median_s": round(ours_s, 5),
                                          "runs_s": [round(r, 5) for r in mine]},
            "peer": {"name": peer_name, "median_s": round(peer_s, 5),
                     "runs_s": [round(r, 5) for r in peer]},
            "ratio": round(peer_s / ours_s, 1), **extra}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1,000 resamples, one peer run")
    args = parser.parse_args()
    folder = obd_folder()
    if folder is None:
        return 0
    n_boot = 1_000 if args.quick else 10_000
    repeat, peer_repeat = (3, 1) if args.quick else (5, 3)
    log = read_obd(folder, "random")
    df = pd.DataFrame({"item_id": log.action, "position": log.position, "click": log.reward,
                       "propensity_score": log.pscore})
    a, b = (np.asarray(v, dtype=float) for v in ZOZOTOWN_BTS_PRIOR["all"])
    dist = bernoulli_ts_action_dist(a, b, len_list=log.len_list, n_sim=N_SIM,
                                    n_rounds=log.n_rounds, random_state=SEED)
    q = reward_model(df, log.n_actions, log.len_list)
    common = {"reward": log.reward, "action": log.action, "position": log.position,
              "pscore": log.pscore, "action_dist": dist, "n_bootstrap": n_boot,
              "random_state": 0}
    ours_ipw = ipw(**common)
    ours_dr = dr(**common, estimated_rewards_by_reg_model=q)
    runs = {
        "sim": time_runs(lambda: bernoulli_ts_action_dist(
            a, b, len_list=log.len_list, n_sim=N_SIM, n_rounds=log.n_rounds,
            random_state=SEED), repeat=repeat),
        "ipw": time_runs(lambda: ipw(**common), repeat=repeat, warmup=1),
        "dr": time_runs(lambda: dr(**common, estimated_rewards_by_reg_model=q),
                        repeat=repeat, warmup=1),
    }
    estimates = {"ipw": ours_ipw.to_dict(), "dr": ours_dr.to_dict(),
                 "ipw_relative": ours_ipw.estimate / log.click_rate}
    obp = obp_peer(q, n_boot, peer_repeat)
    if obp is not None and "error" not in obp:
        peer_name = "obp 0.5.7 (peer venv)"
        peer_runs = {"sim": obp["sim_s"], "ipw": obp["ipw_s"], "dr": obp["dr_s"]}
        peer_estimates = {"ipw": obp["ipw"], "ipw_relative": obp["relative"]}
    else:
        peer_name = "plain pandas reference (obp not installed in the peer venv)"
        box: dict[str, tuple[float, ...]] = {}
        peer_runs = {
            "sim": time_runs(lambda: loop_bts(a, b, log.len_list, N_SIM), repeat=peer_repeat),
            "ipw": time_runs(lambda: box.__setitem__("ipw", pandas_ipw(df, dist, n_boot)),
                             repeat=peer_repeat),
            "dr": time_runs(lambda: box.__setitem__("dr", pandas_dr(df, dist, q, n_boot)),
                            repeat=peer_repeat),
        }
        loop_dist = loop_bts(a, b, log.len_list, N_SIM)
        peer_estimates = {"ipw": box["ipw"][0], "ipw_ci": box["ipw"][1:], "dr": box["dr"][0],
                          "dr_ci": box["dr"][1:],
                          "bts_dist_identical": bool(np.array_equal(loop_dist, dist[0]))}
        if obp is not None:
            peer_estimates["obp_error"] = obp["error"]
    figures = [
        figure("ipw_obd", runs["ipw"], peer_runs["ipw"], peer_name,
               {"n_bootstrap": n_boot, "rounds": log.n_rounds}),
        figure("dr_obd", runs["dr"], peer_runs["dr"], peer_name,
               {"n_bootstrap": n_boot, "rounds": log.n_rounds}),
        figure("bts_action_dist", runs["sim"], peer_runs["sim"],
               peer_name if obp is not None and "error" not in obp
               else "Python loop, one Beta draw per impression (obp's algorithm)",
               {"n_sim": N_SIM}),
    ]
    write_result("ope" if not args.quick else "ope_quick",
                 {"quick": args.quick, "peer": peer_name, "figures": figures,
                  "estimates": {"outsidein": estimates, "peer": peer_estimates},
                  "published_relative_ipw": 1.198126})
    print(json.dumps({"ipw_relative": estimates["ipw_relative"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
