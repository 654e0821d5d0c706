"""``outsidein init / load / status / quarantine`` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

OUTSIDEIN = Path(sys.executable).parent / "outsidein"


def run(*args: str, cwd: Path | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OUTSIDEIN_")}
    return subprocess.run([str(OUTSIDEIN), *args], capture_output=True, text=True, cwd=cwd,
                          env={**clean, "COLUMNS": "200", **(env or {})}, timeout=120)


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cli") / "acme"
    r = run("init", str(root))
    assert r.returncode == 0, r.stderr
    assert "workspace ready" in r.stdout
    return root


@pytest.fixture(scope="module")
def orders_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("files") / "orders.csv"
    path.write_text("OrderNo,customer_id,product_id,ts,quantity,revenue\n"
                    "o1,c1,p1,2024-01-05,2,10.5\n"
                    "o2,c2,p1,2024-01-06,1,abc\n"
                    "o3,c2,p1,2024-01-07,1,3\n"
                    "o3,c2,p1,2024-01-07,1,3\n")
    return path


def test_load_reports_reconciled_counts_as_json(ws, orders_csv):
    r = run("-w", str(ws), "load", "order_lines", str(orders_csv), "--map", "order_id=OrderNo",
            "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["rows_read"], doc["loaded"], doc["quarantined"], doc["duplicates"]) == (4, 2, 1, 1)
    assert doc["stubs_created"] == 2
    assert doc["reasons"] == {"revenue: expected a number": 1}


def test_status_shows_rows_and_quarantine(ws, orders_csv):
    r = run("-w", str(ws), "status", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["tables"]["order_lines"] == 2 and doc["tables"]["customers"] == 2
    assert doc["quarantine"] == {"order_lines": 1}
    assert doc["loads"][0]["file"] == str(orders_csv)
    text = run("-w", str(ws), "status").stdout
    assert "order_lines" in text and "last loads" in text


def test_quarantine_lists_reason_with_row_and_value(ws, orders_csv):
    r = run("-w", str(ws), "quarantine", "order_lines")
    assert r.returncode == 0, r.stderr
    assert "row 2 of orders.csv, column 'revenue': expected a number, got 'abc'" in r.stdout
    doc = json.loads(run("-w", str(ws), "quarantine", "order_lines", "--json").stdout)
    assert doc["total"] == 1 and doc["rows"][0]["row_number"] == 2


def test_second_load_of_same_file_adds_nothing(ws, orders_csv):
    r = run("-w", str(ws), "load", "order_lines", str(orders_csv), "--map", "order_id=OrderNo")
    assert r.returncode == 0
    assert "already loaded" in r.stdout


@pytest.mark.parametrize(("args", "message"), [
    (("load", "orders", "{csv}"), "unknown table 'orders'; expected one of customers"),
    (("load", "interactions", "{other}"), "needs column(s) channel, type, which are missing"),
    (("load", "order_lines", "missing.csv"), "does not exist"),
    (("load", "order_lines", "{csv}", "--map", "order_id"), "expected target=source"),
    (("init", "--backend", "oracle"), "--backend 'oracle': expected duckdb or pyspark"),
])
def test_user_errors_are_one_red_line_with_exit_code_2(ws, orders_csv, tmp_path, args, message):
    other = tmp_path / "other.csv"
    other.write_text(orders_csv.read_text().replace("o1,", "o9,"))
    r = run("-w", str(ws), *(a.format(csv=orders_csv, other=other) for a in args))
    assert r.returncode == 2
    assert message in r.stderr
    assert "Traceback" not in r.stderr
    assert r.stderr.strip().startswith("error:")


def test_commands_outside_a_workspace_say_how_to_create_one(tmp_path):
    r = run("-w", str(tmp_path / "nowhere"), "status")
    assert r.returncode == 2
    assert "outsidein init" in r.stderr


def test_quarantine_shows_an_unreadable_csv_line_as_text(tmp_path):
    root = tmp_path / "ragged"
    assert run("init", str(root)).returncode == 0
    path = tmp_path / "ragged.csv"
    path.write_text("order_id,customer_id,product_id,ts,quantity,revenue\n"
                    "o1,c1,p1,2024-01-05,2,10.5\n"
                    "o2,c1,p1,2024-01-05,1,3,surplus\n")
    r = run("-w", str(root), "load", "order_lines", str(path))
    assert r.returncode == 0, r.stderr
    assert "1 loaded, 1 quarantined" in r.stdout
    r = run("-w", str(root), "quarantine", "order_lines")
    assert ("row 2 of ragged.csv, column '(line)': unreadable CSV line: too many columns "
            "(Expected Number of Columns: 6 Found: 7), got 'o2,c1,p1,2024-01-05,1,3,surplus'"
            ) in r.stdout


def test_the_workspace_can_come_from_the_environment(ws):
    r = run("status", "--json", env={"OUTSIDEIN_WORKSPACE": str(ws)})
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["workspace"] == str(ws)


def test_a_bad_environment_variable_is_one_red_line(ws):
    r = run("-w", str(ws), "status", env={"OUTSIDEIN_SMTP_PORT": "abc"})
    assert r.returncode == 2
    assert r.stderr.strip().startswith("error: OUTSIDEIN_SMTP_PORT='abc': expected a port number")
    assert "Traceback" not in r.stderr
