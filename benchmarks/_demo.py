"""A cached demo company for the benchmarks that time commands on it (market segments, watch).

Generating the demo (:func:`outsidein.demo.company.generate_demo`, the same generator and
model as ``outsidein demo``) costs about 2 minutes and 4 GB of memory at 1,000,000 customers
here, so it is done once per (customers, seed, generator source) and kept in
``benchmarks/data/demo_ws_<customers>_<seed>_<tag>/`` (git-ignored); the tag is a hash of
``src/outsidein/demo/*.py``, so a changed generator never reuses an old company.  A run gets
a fresh copy of that folder (:func:`fresh_copy`): what one command writes to the warehouse
(``customer_segments``, for instance, which the watch reads) never leaks into another run.

    .venv/bin/python benchmarks/_demo.py 1000000 11     # build the cache ahead of a run
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import DATA, run_python  # noqa: E402

SETUP = """
import json, shutil, time
from pathlib import Path
from outsidein.workspace import Workspace
from outsidein.demo.company import generate_demo
root = Path({root!r})
shutil.rmtree(root, ignore_errors=True)
t0 = time.perf_counter()
ws = Workspace.init(root)
generate_demo(ws, customers={n}, seed={seed})
ws.close()
seconds = time.perf_counter() - t0
(root / "bench-ready").write_text(json.dumps({{"generate_s": seconds}}))
print(json.dumps({{"generate_s": seconds}}))
"""


def generator_tag() -> str:
    """Short hash of the demo generator's source: a changed generator never reuses old data."""
    src = sorted((Path(__file__).resolve().parents[1] / "src" / "outsidein" / "demo")
                 .glob("*.py"))
    return hashlib.sha256(b"".join(p.read_bytes() for p in src)).hexdigest()[:8]


def cached_demo(customers: int, seed: int) -> tuple[Path, float, bool]:
    """The cached demo workspace folder, its generation seconds and whether it was reused."""
    import json

    root = DATA / f"demo_ws_{customers}_{seed}_{generator_tag()}"
    ready = root / "bench-ready"
    if ready.exists():
        return root, float(json.loads(ready.read_text())["generate_s"]), True
    DATA.mkdir(parents=True, exist_ok=True)
    print(f"generating the {customers:,}-customer demo company (seed {seed}) in {root} ...",
          flush=True)
    out = run_python(SETUP.format(root=str(root), n=customers, seed=seed), timeout=7200)
    return root, float(out["generate_s"]), False


def fresh_copy(root: Path) -> Path:
    """A copy of the cached workspace in a new temporary folder (the caller removes it)."""
    tmp = Path(tempfile.mkdtemp(prefix="bench_demo_", dir=DATA))
    dst = tmp / "ws"
    shutil.copytree(root, dst, ignore=shutil.ignore_patterns("bench-ready"))
    return dst


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 11
    path, seconds, reused = cached_demo(n, seed)
    print(f"{path}: generated in {seconds:.1f} s{' (reused)' if reused else ''}")
