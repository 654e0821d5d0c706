"""Run every ``benchmarks/bench_*.py`` in turn (``make bench``); extra args go to each script.

``BENCH_ONLY=load,summary make bench`` runs a subset.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    only = {s for s in os.environ.get("BENCH_ONLY", "").split(",") if s}
    failed = []
    for script in sorted(HERE.glob("bench_*.py")):
        name = script.stem.removeprefix("bench_")
        if only and name not in only:
            continue
        print(f"\n=== {script.name} ===", flush=True)
        rc = subprocess.call([sys.executable, str(script), *sys.argv[1:]])
        if rc != 0:
            failed.append(script.name)
    if failed:
        print(f"\nbenchmarks failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
