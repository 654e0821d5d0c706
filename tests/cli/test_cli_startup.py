"""Start-up: `outsidein --help` and `outsidein status` load no heavy library (timings: benchmarks/).

Ibis, pandas, Arrow, SQLAlchemy, Alembic and the model and web stacks take from
a tenth to half a second each to import; the commands people run many times a
day must not pay for them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("ibis", "pandas", "pyarrow", "numpy", "scipy", "sklearn", "sqlalchemy", "alembic",
         "plotly", "fastapi", "lightgbm", "pyspark")

PROBE = """
import contextlib, io, json, sys
heavy = set(json.loads(sys.argv[2]))
sys.argv = ["outsidein", *json.loads(sys.argv[1])]
from outsidein.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    try:
        main()
    except SystemExit as exc:
        assert not exc.code, exc.code
print(json.dumps({"out": out.getvalue(), "heavy": sorted(set(sys.modules) & heavy)}))
"""


def imported_by(*args: str) -> dict:
    r = subprocess.run([sys.executable, "-c", PROBE, json.dumps(args), json.dumps(HEAVY)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp("startup") / "acme")
    imported_by("init", root)
    return root


def test_help_loads_no_heavy_library():
    got = imported_by("--help")
    assert "status" in got["out"] and got["heavy"] == []


def test_status_loads_no_heavy_library(ws):
    got = imported_by("--workspace", ws, "status", "--json")
    assert json.loads(got["out"])["tables"]["customers"] == 0
    assert got["heavy"] == []


def test_listing_the_loads_loads_no_heavy_library(ws):
    got = imported_by("--workspace", ws, "loads", "--json")
    assert json.loads(got["out"]) == []
    assert got["heavy"] == []


def test_help_paragraphs_run_on_at_80_columns() -> None:
    """A docstring's line breaks do not end lines in --help: no line of the text stops
    short while the next line's first word would have fitted on it."""
    out = subprocess.run([str(Path(sys.executable).parent / "outsidein"), "sense", "replay",
                          "--help"], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "COLUMNS": "80"}).stdout
    text = [line.strip() for line in out.split("Options")[0].splitlines()]
    for line, nxt in zip(text, text[1:], strict=False):
        if line and nxt and not nxt.startswith(("-", "Usage")):
            assert len(line) + 1 + len(nxt.split()[0]) > 76, (line, nxt)
