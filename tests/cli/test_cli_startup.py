"""Start-up: `outsidein --help` and `outsidein status` load no heavy library (timings: benchmarks/).

Ibis, pandas, Arrow, SQLAlchemy, Alembic and the model and web stacks take from
a tenth to half a second each to import; the commands people run many times a
day must not pay for them.
"""

from __future__ import annotations

import json
import subprocess
import sys

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
