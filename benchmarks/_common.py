"""Benchmark plumbing: timing with medians, peak memory, the peer venv, JSON results.

Every ``benchmarks/bench_*.py`` script prints its figures and writes
``benchmarks/results/<name>.json`` via :func:`write_result`.  Peers that need
old pins (lifetimes) run in the separate venv named by
``$OUTSIDEIN_PEER_PYTHON`` (``make bench`` builds ``.venv-bench-peers``).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
DATA = ROOT / "data"  # generated inputs (git-ignored)


def time_runs(fn: Callable[[], Any], repeat: int = 3, warmup: int = 0) -> list[float]:
    """Wall-clock seconds of *repeat* calls of *fn* (after *warmup* untimed calls)."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def median(xs: list[float]) -> float:
    return float(statistics.median(xs))


def run_python(code: str, *, python: str | None = None, timeout: float = 3600) -> dict[str, Any]:
    """Run *code* in a fresh interpreter; it must print one JSON object as its last line.

    Returns that object plus ``peak_rss_mb`` of the child (ru_maxrss).
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run(
        [python or sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark child failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result.setdefault("peak_rss_mb", max(after, before) / 1024)
    return result


def peer_python() -> str | None:
    """The peer venv's python (``$OUTSIDEIN_PEER_PYTHON``) or None when not set up."""
    path = os.environ.get("OUTSIDEIN_PEER_PYTHON")
    return path if path and Path(path).exists() else None


def machine_speed() -> float:
    """Seconds for a plain Python loop of 10,000,000 additions (median of 3), written with
    every result: absolute figures from two machines (or one machine on two days, with a
    busy neighbour) compare only through it; the ratios to peers measured in the same run
    do not need it."""
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        s = 0
        for i in range(10_000_000):
            s += i
        runs.append(time.perf_counter() - t0)
    return round(median(runs), 3)


def write_result(name: str, payload: dict[str, Any]) -> Path:
    """Write ``results/<name>.json`` (adds machine facts and a time stamp) and print it."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": name,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(),
                    "python_loop_1e7_s": machine_speed()},
        **payload,
    }
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2))
    print(json.dumps(payload, indent=2))
    return path
