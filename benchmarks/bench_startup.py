"""Start-up of the command line: ``outsidein --help`` and ``outsidein status``, wall clock.

A tool people run many times a day should start in well under a second.  Each
command runs in a fresh process (medians of ``--repeat`` runs); the peers, measured
in the same run, are the floor any Python CLI pays: the bare interpreter, the
interpreter importing Typer and Rich (what the command line is built on), and a
one-command Typer app run with one option (Typer coerces every parameter through
Pydantic when a command runs, which costs a tenth of a second of imports).
``status`` runs on a fresh workspace (``outsidein init``: start-up and opening the
warehouse) and on a demo-size one (``outsidein demo``: 20,000 customers, about
2.3M rows; ``--workspace DIR`` reuses one, ``--quick`` skips it).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import median, write_result

OUTSIDEIN = str(Path(sys.executable).with_name("outsidein"))


def timed(cmd: list[str], repeat: int) -> list[float]:
    """Wall-clock seconds of *repeat* runs of *cmd* in fresh processes (one warm-up)."""
    subprocess.run(cmd, check=True, capture_output=True)
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        runs.append(time.perf_counter() - t0)
    return runs


PEER_APP = """
from pathlib import Path
from typing import Annotated
import typer
app = typer.Typer()
@app.callback()
def root(workspace: Annotated[Path | None, typer.Option("--workspace")] = None) -> None:
    pass
@app.command()
def status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    print("ok")
@app.command()
def other() -> None:
    pass
app()
"""


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="3 runs each, no demo workspace")
    parser.add_argument("--workspace", help="a demo-size workspace to reuse (else built)")
    args = parser.parse_args()
    repeat = 3 if args.quick else args.repeat
    with tempfile.TemporaryDirectory() as tmp:
        ws = str(Path(tmp) / "ws")
        subprocess.run([OUTSIDEIN, "init", ws], check=True, capture_output=True)
        demo = args.workspace
        if demo is None and not args.quick:
            demo = str(Path(tmp) / "demo")
            print("building a demo workspace (outsidein demo) ...", flush=True)
            subprocess.run([OUTSIDEIN, "--workspace", demo, "demo"], check=True,
                           capture_output=True)
        runs = {
            "outsidein --help": timed([OUTSIDEIN, "--help"], repeat),
            "outsidein status": timed([OUTSIDEIN, "--workspace", ws, "status"], repeat),
        }
        if demo is not None:
            runs["outsidein status (demo workspace)"] = timed(
                [OUTSIDEIN, "--workspace", demo, "status"], repeat)
            runs["outsidein loads (demo workspace)"] = timed(
                [OUTSIDEIN, "--workspace", demo, "loads"], repeat)
        runs.update({
            "peer: python -c pass": timed([sys.executable, "-c", "pass"], repeat),
            "peer: python -c 'import typer, rich'": timed(
                [sys.executable, "-c", "import typer, rich.console"], repeat),
            "peer: one-command Typer app": timed(
                [sys.executable, "-c", PEER_APP, "--workspace", ws, "status"], repeat),
        })
    medians = {k: median(v) for k, v in runs.items()}
    floor = medians["peer: python -c 'import typer, rich'"]
    app_floor = medians["peer: one-command Typer app"]
    figures = {
        "help_s": medians["outsidein --help"], "status_s": medians["outsidein status"],
        "status_demo_s": medians.get("outsidein status (demo workspace)"),
        "loads_demo_s": medians.get("outsidein loads (demo workspace)"),
        "peer_typer_rich_s": floor, "peer_typer_app_s": app_floor,
        "peer_bare_python_s": medians["peer: python -c pass"],
        "help_ratio_to_peer": medians["outsidein --help"] / floor,
        "status_ratio_to_peer": medians["outsidein status"] / floor,
        "status_ratio_to_typer_app": medians["outsidein status"] / app_floor,
    }
    for name, secs in medians.items():
        print(f"{name:40s} {secs:6.3f} s (median of {repeat})")
    write_result("startup" if not args.quick else "startup_quick",
                 {"repeat": repeat, "figures": figures, "runs_s": runs,
                  "target": "well under 1 s"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
