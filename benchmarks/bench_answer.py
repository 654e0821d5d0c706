"""``outsidein answer`` on the 1,000,000-customer demo company (target <= 60 s, peak RSS <= 6 GB).

Set-up (not timed, reused when present in ``benchmarks/data/``): the demo
company (``generate_demo``, seed 1234) and its customer value
(``outsidein.services.value.fit.run``), as ``outsidein demo`` leaves them.  Timed:
the real command ``outsidein --workspace WS answer --json`` in a fresh
process, end to end (interpreter start, imports, the five answers, the
warehouse tables and ``results/five_questions.json``), with that process's
peak memory.  Afterwards (not timed) the answers are checked against the
planted truths: precision@k of the cost drainers, the strong advocates in
the top advocates, the lookalike prospects in the top decile, and the
conversion AUC against the true probabilities' AUC.

``--quick`` uses 20,000 customers.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import DATA, run_python, write_result  # noqa: E402

SEED = 1234

SETUP = """
import json, shutil, time
from pathlib import Path
from outsidein.workspace import Workspace
from outsidein.demo.company import generate_demo
from outsidein.services.value import run
root = Path({root!r})
t0 = time.perf_counter()
shutil.rmtree(root, ignore_errors=True)
ws = Workspace.init(root)
generate_demo(ws, customers={n}, seed={seed})
t1 = time.perf_counter()
run(ws)
t2 = time.perf_counter()
ws.close()
(root / "bench-ready").write_text("ok")
print(json.dumps({{"demo_seconds": t1 - t0, "value_seconds": t2 - t1}}))
"""

TIMED = """
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
proc = subprocess.run([sys.executable, "-m", "outsidein", "--workspace", {root!r}, "answer",
                       "--json"], capture_output=True, text=True)
seconds = time.perf_counter() - t0
if proc.returncode != 0:
    raise SystemExit(proc.stderr[-3000:])
doc = json.loads(proc.stdout)
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({{"seconds": seconds, "answer_peak_rss_mb": rss,
                   "service_seconds": doc["seconds"],
                   "headlines": {{k: a["headline"] for k, a in doc["answers"].items()}},
                   "auc": doc["answers"]["likely_converts"]["figures"].get("auc")}}))
"""

CHECK = """
import json
from sklearn.metrics import roc_auc_score
from outsidein.workspace import Workspace
ws = Workspace.open({root!r})
t = lambda name: ws.warehouse().table(name).to_pyarrow().to_pandas()
truth = t("truth_customers")
drain = set(truth.loc[truth.is_cost_drainer, "customer_id"])
cts = t("answer_cost_to_serve").sort_values("rank")
strong = set(truth.loc[truth.is_strong_advocate, "customer_id"])
adv = t("answer_advocates").sort_values("rank")
tp = t("truth_prospects")[["prospect_id", "p_convert", "is_lookalike"]]
ip = t("answer_ideal_prospects").merge(tp, on="prospect_id")
lc = t("answer_likely_converts").merge(tp, on="prospect_id")
te = lc[lc.split == "test"]
out = {{
    "cost_drainers_planted": len(drain),
    "cost_drainers_precision_at_k": len(set(cts.customer_id.head(len(drain))) & drain) / len(drain),
    "strong_advocates_planted": len(strong),
    "strong_advocates_in_top_k": len(set(adv.customer_id.head(len(strong))) & strong) / len(strong),
    "lookalikes_planted": int(ip.is_lookalike.sum()),
    "lookalikes_in_top_decile": float((ip[ip.is_lookalike].score_decile == 1).mean()),
    "held_out_prospects": len(te),
    "conversion_auc": roc_auc_score(te.converted, te.probability),
    "true_probability_auc": roc_auc_score(te.converted, te.p_convert),
}}
ws.close()
print(json.dumps(out))
"""


def generator_tag() -> str:
    """Short hash of the demo generator's source: a changed generator never reuses old data."""
    src = sorted((Path(__file__).resolve().parents[1] / "src" / "outsidein" / "demo")
                 .glob("*.py"))
    return hashlib.sha256(b"".join(p.read_bytes() for p in src)).hexdigest()[:8]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="20,000 customers instead of 1,000,000")
    ap.add_argument("--customers", type=int, default=None)
    args = ap.parse_args()
    n = args.customers or (20_000 if args.quick else 1_000_000)
    root = DATA / f"answer_ws_{n}_{SEED}_{generator_tag()}"
    setup: dict = {"reused": True}
    if not (root / "bench-ready").exists():
        DATA.mkdir(parents=True, exist_ok=True)
        print(f"setting up the {n:,}-customer demo company in {root} ...", flush=True)
        setup = run_python(SETUP.format(root=str(root), n=n, seed=SEED), timeout=7200)
        setup["reused"] = False
    timed = run_python(TIMED.format(root=str(root)), timeout=3600)
    checks = run_python(CHECK.format(root=str(root)), timeout=3600)
    checks.pop("peak_rss_mb", None)
    timed.pop("peak_rss_mb", None)
    result = {
        "customers": n,
        "seed": SEED,
        "seconds": timed["seconds"],
        "peak_rss_mb": timed["answer_peak_rss_mb"],
        "target_seconds": 60 if n >= 1_000_000 else None,
        "target_peak_rss_mb": 6144 if n >= 1_000_000 else None,
        "service_seconds": timed["service_seconds"],
        "setup": setup,
        "checks": checks,
        "headlines": timed["headlines"],
    }
    if n >= 1_000_000:
        result["meets_targets"] = bool(result["seconds"] <= 60 and result["peak_rss_mb"] <= 6144)
    write_result("answer" if not args.quick else "answer_quick", result)


if __name__ == "__main__":
    main()
