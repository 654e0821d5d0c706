"""``outsidein load`` never traps the user: as a user runs it, with real CDNOW lines.

All rows quarantined, reload after a fix, warnings, --max-bad-fraction, ``loads`` and
``loads undo``, --replace, named mappings, reader options, and Rich markup in the data.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

OUTSIDEIN = Path(sys.executable).parent / "outsidein"

CDNOW_MAP = ("--map", "ts=date", "--map", "quantity=number_of_cds", "--map",
             "revenue=dollar_value")
CDNOW_ROWS = 69_659


def run(*args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OUTSIDEIN_")}
    return subprocess.run([str(OUTSIDEIN), *args], capture_output=True, text=True,
                          env={**clean, "COLUMNS": "200"}, timeout=120)


@pytest.fixture(scope="module")
def empty_ws(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("template") / "acme"
    r = run("init", str(root))
    assert r.returncode == 0, r.stderr
    return root


@pytest.fixture
def ws(empty_ws, tmp_path) -> Path:
    """A fresh workspace: a copy of one made by ``outsidein init`` (quicker than another)."""
    return Path(shutil.copytree(empty_ws, tmp_path / "acme"))


def status(ws: Path) -> dict:
    r = run("-w", str(ws), "status", "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_all_rows_quarantined_loads_nothing_then_the_fix_loads(ws, cdnow_csv):
    r = run("-w", str(ws), "load", "order_lines", str(cdnow_csv), *CDNOW_MAP,
            "--date-format", "%Y-%m-%d")
    assert r.returncode == 2
    err = " ".join(r.stderr.split())
    assert err.startswith("error: cdnow_2000.csv: all 2,000 rows were quarantined, so nothing was "
                          "loaded")
    assert "ts: expected a timestamp matching --date-format '%Y-%m-%d'" in err
    assert "row 1: ts = '19970101'" in err
    assert "fix: pass --date-format '%Y%m%d'" in err
    st = status(ws)
    assert st["loads"] == [] and st["quarantine"] == {} and st["tables"]["order_lines"] == 0
    r = run("-w", str(ws), "load", "order_lines", str(cdnow_csv), *CDNOW_MAP,
            "--date-format", "%Y%m%d", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["loaded"], doc["skipped_same_file"], doc["warnings"]) == (2000, False, [])


def test_a_bad_share_warns_in_yellow_and_json_and_max_bad_fraction_fails(ws, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("customer_id,ts,quantity,revenue\n"
                    + "".join(f"c{i},2024-01-{1 + i:02d},1,{i}\n" for i in range(9))
                    + "c9,2024-01-10,1,ten\n")
    strict = run("-w", str(ws), "load", "order_lines", str(path), "--max-bad-fraction", "0.05")
    assert strict.returncode == 2
    assert "that is more than --max-bad-fraction 0.05 allows, so nothing was loaded" in " ".join(
        strict.stderr.split())
    assert status(ws)["loads"] == []
    r = run("-w", str(ws), "load", "order_lines", str(path))
    assert r.returncode == 0, r.stderr
    out = " ".join(r.stdout.split())
    assert "warning: 10.0% of the 10 rows of orders.csv were not loaded" in out
    assert "revenue: expected a number (1 rows), e.g. row 10: revenue = 'ten'" in out
    copy = tmp_path / "again.csv"
    copy.write_text(path.read_text().replace("ten", "10"))
    doc = json.loads(run("-w", str(ws), "load", "order_lines", str(copy), "--json").stdout)
    assert doc["duplicates"] == 9 and "duplicates" in doc["warnings"][0]


def test_loads_lists_and_undo_removes_a_load_and_its_quarantine(ws, tmp_path):
    good = tmp_path / "a.csv"
    good.write_text("customer_id,ts,quantity,revenue\nc1,2024-01-05,1,10\n")
    bad = tmp_path / "b.csv"
    bad.write_text("customer_id,ts,quantity,revenue\nc2,2024-01-06,1,20\nc3,2024-01-07,1,x\n")
    assert run("-w", str(ws), "load", "order_lines", str(good)).returncode == 0
    r = run("-w", str(ws), "load", "order_lines", str(bad), "--json")
    second = json.loads(r.stdout)["load_id"]
    assert status(ws)["quarantine"] == {"order_lines": 1}
    listed = json.loads(run("-w", str(ws), "loads", "--json").stdout)
    assert [(x["load_id"], Path(x["file"]).name, x["rows_read"], x["quarantined"])
            for x in listed][0] == (second, "b.csv", 2, 1)
    r = run("-w", str(ws), "loads", "undo", second)
    assert r.returncode == 0, r.stderr
    assert f"undid load {second}" in r.stdout
    st = status(ws)
    assert st["quarantine"] == {} and st["tables"]["order_lines"] == 1
    assert st["tables"]["customers"] == 1 and len(st["loads"]) == 1
    r = run("-w", str(ws), "loads", "undo", second)
    assert r.returncode == 2 and "no load has the id" in r.stderr and "Traceback" not in r.stderr


def test_replace_reloads_a_file_with_new_options_in_place_of_the_old_load(ws, tmp_path):
    path = tmp_path / "o.csv"
    path.write_text("customer_id,day,quantity,revenue\nc1,05/01/2024,1,10\nc2,06/01/2024,2,4\n")
    first = run("-w", str(ws), "load", "order_lines", str(path), "--map", "ts=day",
                "--date-format", "%m/%d/%Y", "--json")
    assert first.returncode == 0, first.stderr
    r = run("-w", str(ws), "load", "order_lines", str(path), "--map", "ts=day",
            "--date-format", "%d/%m/%Y", "--replace", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["replaced"] == [json.loads(first.stdout)["load_id"]] and doc["loaded"] == 2
    st = status(ws)
    assert st["tables"]["order_lines"] == 2 and len(st["loads"]) == 1


def test_named_mappings_are_saved_reused_and_overridden(ws, tmp_path):
    jan = tmp_path / "jan.csv"
    jan.write_text("Cust;Day;Qty;Amount\nc1;31.01.2024;1;10\n")
    jan_options = ("--delimiter", ";", "--map", "customer_id=Cust", "--map", "ts=Day", "--map",
                   "quantity=Qty", "--map", "revenue=Amount", "--date-format", "%d.%m.%Y")
    r = run("-w", str(ws), "load", "order_lines", str(jan), *jan_options,
            "--save-mapping", "my pos")
    assert r.returncode == 2 and "mapping name 'my pos'" in r.stderr  # checked before loading
    r = run("-w", str(ws), "load", "order_lines", str(jan), *jan_options, "--save-mapping", "pos")
    assert r.returncode == 0, r.stderr
    assert "1 loaded" in r.stdout and "saved mapping 'pos'" in r.stdout
    toml = (ws / "outsidein.toml").read_text()
    assert "[mappings.pos]" in toml and 'delimiter = ";"' in toml
    feb = tmp_path / "feb.csv"
    feb.write_text("Cust;Day;Qty;Amount;Net\nc2;01.02.2024;2;20;18\n")
    r = run("-w", str(ws), "load", "order_lines", str(feb), "--mapping", "pos",
            "--map", "revenue=Net", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["loaded"] == 1 and doc["options"]["mapping"]["revenue"] == "Net"
    assert doc["options"]["date_format"] == "%d.%m.%Y"
    r = run("-w", str(ws), "load", "order_lines", str(feb), "--mapping", "erp")
    assert r.returncode == 2
    assert "no mapping 'erp' in outsidein.toml; the mappings are: pos" in r.stderr


def test_a_file_without_header_loads_with_columns(ws, tmp_path):
    path = tmp_path / "raw.csv"
    path.write_text("c1|2024-03-01|2|9.5\nc2|2024-03-02|1|3\n")
    r = run("-w", str(ws), "load", "order_lines", str(path), "--no-header", "--columns",
            "customer_id,ts,quantity,revenue", "--delimiter", "|", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["rows_read"], doc["loaded"]) == (2, 2)
    assert doc["options"]["header"] is False


def test_rich_markup_in_headers_and_values_is_printed_as_text(ws, tmp_path):
    path = tmp_path / "[bold]odd.csv"
    path.write_text("customer_id,ts,quantity,revenue,[/]\n"
                    "c1,2024-01-05,1,10,x\n"
                    "[bold]c2,2024-01-06,1,[/],y\n")
    r = run("-w", str(ws), "load", "order_lines", str(path))
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr and "error" not in r.stderr
    out = " ".join(r.stdout.split())
    assert "[bold]odd.csv" in out and ": [/]" in out  # file name, ignored column
    q = run("-w", str(ws), "quarantine", "order_lines")
    assert q.returncode == 0, q.stderr
    assert "got '[/]'" in q.stdout and "[bold]odd.csv" in q.stdout
    for args in (("status",), ("loads",)):
        r = run("-w", str(ws), *args)
        assert r.returncode == 0 and "[bold]odd" in r.stdout.replace("\n", ""), r.stderr


def test_cdnow_master_loads_as_it_is_and_reconciles(ws, reference_data):
    """The issue's check: one command, mapping and date format only, no conversion."""
    r = run("-w", str(ws), "load", "order_lines",
            str(reference_data / "cdnow" / "CDNOW_master.txt"), *CDNOW_MAP,
            "--date-format", "%Y%m%d", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["rows_read"] == doc["loaded"] + doc["quarantined"] + doc["duplicates"]
    assert (doc["rows_read"], doc["loaded"]) == (CDNOW_ROWS, CDNOW_ROWS)
    assert doc["stubs_created"] == 23_570 and doc["warnings"] == []


def test_a_european_export_loads_with_a_decimal_comma_after_the_hint_names_it(ws, tmp_path):
    # semicolons, decimal commas, thousands dots, a euro sign, day.month.year, a BOM and CRLF
    eu = tmp_path / "umsatz.csv"
    eu.write_bytes("\ufeffKunde;Datum;Anzahl;Umsatz\r\n"
                   "k1;31.01.2024;1;11,77\r\nk2;01.02.2024;2;1.234,50 €\r\n"
                   "k3;02.02.2024;1;12.50\r\n".encode())
    maps = ("--map", "customer_id=Kunde", "--map", "ts=Datum", "--map", "quantity=Anzahl",
            "--map", "revenue=Umsatz")
    r = run("-w", str(ws), "load", "order_lines", str(eu), *maps)
    assert r.returncode == 0, r.stderr  # 12.50 loads; the warning says what to do
    said = " ".join((r.stdout + r.stderr).split())
    assert "1 loaded, 2 quarantined" in said
    assert "fix: values like '11,77' have a decimal comma: pass --decimal ," in said
    # the mistake corrected in place: the first load is undone in the same transaction
    r = run("-w", str(ws), "load", "order_lines", str(eu), *maps, "--decimal", ",", "--replace",
            "--json", "--save-mapping", "kasse")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    # 12.50 is no number with a decimal comma: quarantined, never read as 1,250 or 12.5
    assert (doc["loaded"], doc["quarantined"]) == (2, 1)
    assert 'decimal = ","' in (ws / "outsidein.toml").read_text()
    assert revenue(ws) == pytest.approx(11.77 + 1234.50)
    # the saved mapping reads the next file the same way
    feb = tmp_path / "feb.csv"
    feb.write_text("Kunde;Datum;Anzahl;Umsatz\nk4;03.02.2024;1;2,25\n", encoding="utf-8")
    r = run("-w", str(ws), "load", "order_lines", str(feb), "--mapping", "kasse", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["loaded"] == 1
    r = run("-w", str(ws), "load", "order_lines", str(feb), "--decimal", ",", "--delimiter", ",")
    assert r.returncode == 2 and "--decimal , needs a delimiter other than ','" in r.stderr


def test_money_with_a_currency_sign_and_thousands_separators_loads_exactly(ws, tmp_path):
    xl = tmp_path / "export.csv"
    xl.write_text('Customer ID,Order Date,Qty,Amount\n'
                  'c1,01/31/2024,1,"$1,177.00"\nc2,02/01/2024,2,"-$5.25"\n'
                  'c3,02/02/2024,1,"1,234,567.5"\nc4,02/03/2024,1,"12,5"\n'
                  ',,,\nTotal,,4,"$1,234,567.00"\n', encoding="utf-8")
    r = run("-w", str(ws), "load", "order_lines", str(xl), "--map", "customer_id=Customer ID",
            "--map", "ts=Order Date", "--map", "quantity=Qty", "--map", "revenue=Amount",
            "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    # "12,5" is no thousands grouping: quarantined (a decimal comma is --decimal ,), as are
    # the empty line and the totals line
    assert (doc["loaded"], doc["quarantined"]) == (3, 3)
    r = run("-w", str(ws), "quarantine", "order_lines", "--json")
    assert r.returncode == 0, r.stderr
    assert "12,5" in r.stdout and "Total" in r.stdout
    assert revenue(ws) == pytest.approx(1177.00 - 5.25 + 1_234_567.5)


def revenue(ws: Path) -> float:
    """The revenue loaded, read from the warehouse file itself."""
    con = duckdb.connect(str(ws / "warehouse.duckdb"), read_only=True)
    try:
        return float(con.execute("SELECT sum(revenue) FROM order_lines").fetchone()[0])
    finally:
        con.close()
