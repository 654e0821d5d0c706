"""Loads as a user fixes them: identity by file and options, undo, --replace, no traps.

Also order lines without order or product ids (CDNOW has neither).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from outsidein.errors import ConfigError, DataValidationError, NotFoundError
from outsidein.warehouse import rollup
from outsidein.warehouse.engine import Warehouse, ensure_schema
from outsidein.warehouse.load import load_file, load_frame
from outsidein.warehouse.options import LoadOptions
from outsidein.warehouse.undo import list_loads, undo_load

HEADER = "order_id,customer_id,product_id,ts,quantity,revenue"
CDNOW_MAP = {"ts": "date", "quantity": "number_of_cds", "revenue": "dollar_value"}


@pytest.fixture
def wh(tmp_path):
    w = Warehouse.open("duckdb", root=tmp_path, path=tmp_path / "w.duckdb")
    yield w
    w.close()


def write(folder: Path, name: str, lines: list[str]) -> Path:
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def one(wh, sql: str):
    return wh.duckdb.execute(sql).fetchall()


def counts(wh) -> dict[str, int]:
    return {t: one(wh, f"SELECT count(*) FROM {t}")[0][0]
            for t in ("order_lines", "customers", "quarantine", "loads", "purchase_days")}


# -- identity: the file and its options ---------------------------------------------------

def test_a_wrong_date_format_loads_nothing_and_the_fix_is_a_new_load(wh, tmp_path):
    path = write(tmp_path, "o.csv", [HEADER, "o1,c1,p1,31/05/2024,1,2.5",
                                     "o2,c2,p1,01/06/2024,1,4"])
    with pytest.raises(DataValidationError) as err:
        load_file(wh, "order_lines", path, options=LoadOptions(date_format="%Y-%m-%d"))
    msg = str(err.value)
    assert "all 2 rows were quarantined, so nothing was loaded" in msg
    assert "ts: expected a timestamp matching --date-format '%Y-%m-%d'" in msg
    assert "row 1: ts = '31/05/2024'" in msg and "--date-format '%d/%m/%Y'" in msg
    assert counts(wh) == {"order_lines": 0, "customers": 0, "quarantine": 0, "loads": 0,
                          "purchase_days": 0}
    fixed = load_file(wh, "order_lines", path, options=LoadOptions(date_format="%d/%m/%Y"))
    assert (fixed.loaded, fixed.skipped_same_file) == (2, False)


def test_same_file_same_options_is_skipped_other_options_is_a_new_load(wh, tmp_path):
    path = write(tmp_path, "o.csv", [HEADER, "o1,c1,p1,2024-01-05,1,2.5"])
    first = load_file(wh, "order_lines", path)
    again = load_file(wh, "order_lines", path)
    assert again.skipped_same_file and again.load_id == first.load_id
    other = load_file(wh, "order_lines", path, options=LoadOptions(allow_future=True))
    assert not other.skipped_same_file and (other.loaded, other.duplicates) == (0, 1)
    assert any("pass --replace" in w for w in other.warnings)
    loads = list_loads(wh)
    assert [r["load_id"] for r in loads][::-1] == [first.load_id, other.load_id]
    assert loads[0]["options"]["allow_future"] is True
    assert loads[1]["options_fingerprint"] == LoadOptions().fingerprint()


# -- undo ---------------------------------------------------------------------------------

def test_undo_removes_rows_quarantine_stubs_and_the_record_and_updates_the_rollup(wh,
                                                                                  tmp_path):
    a = load_file(wh, "order_lines", write(tmp_path, "a.csv", [
        HEADER, "o1,c1,p1,2024-01-05,1,10", "o2,c2,p1,2024-01-06,1,20"]))
    before = counts(wh)
    b = load_file(wh, "order_lines", write(tmp_path, "b.csv", [
        HEADER, "o3,c1,p1,2024-01-07,2,5", "o4,c3,p1,2024-01-07,1,7", "o5,c3,p1,bad,1,1"]))
    assert (b.loaded, b.quarantined, b.stubs_created) == (2, 1, 1)
    report = undo_load(wh, b.load_id)
    assert report.rows == {"customers": 1, "order_lines": 2} and report.quarantined == 1
    assert counts(wh) == before
    assert [r["load_id"] for r in list_loads(wh)] == [a.load_id]
    # the rollup moved with the lines: current, and equal to one rebuilt from them
    assert rollup.is_current(wh)
    kept = one(wh, "SELECT * FROM purchase_days ORDER BY ALL")
    rollup.rebuild(wh.duckdb)
    assert one(wh, "SELECT * FROM purchase_days ORDER BY ALL") == kept
    assert sorted(r[0] for r in kept) == ["c1", "c2"]


def test_a_stub_other_loads_reference_stays_until_they_go(wh, tmp_path):
    a = load_file(wh, "order_lines", write(tmp_path, "a.csv", [
        HEADER, "o1,c1,p1,2024-01-05,1,10"]))
    b = load_file(wh, "service_costs", write(tmp_path, "b.csv", [
        "customer_id,ts,kind,amount", "c1,2024-02-01,support,3"]))
    assert b.stubs_created == 0  # c1 is a stub of load a already
    report = undo_load(wh, a.load_id)
    assert report.kept_as_stubs == 1 and "customers" not in report.rows
    assert one(wh, "SELECT customer_id, is_stub, first_seen, load_id FROM customers") == [
        ("c1", True, pd.Timestamp("2024-02-01").to_pydatetime(), b.load_id)]
    undo_load(wh, b.load_id)
    assert counts(wh)["customers"] == 0


def test_undoing_a_customers_file_turns_its_referenced_customers_back_into_stubs(wh,
                                                                                 tmp_path):
    load_file(wh, "order_lines", write(tmp_path, "a.csv", [HEADER, "o1,c1,p1,2024-01-05,1,10"]))
    crm = load_frame(wh, "customers", pd.DataFrame({"customer_id": ["c1", "c9"],
                                                    "region": ["N", "S"]}), source="crm")
    assert one(wh, "SELECT count(*) FROM customers WHERE is_stub") == [(0,)]
    undo_load(wh, crm.load_id)
    assert one(wh, "SELECT customer_id, is_stub, region FROM customers") == [("c1", True, None)]


def test_undo_of_an_unknown_id_or_on_spark_is_a_clear_error(wh, tmp_path):
    load_file(wh, "customers", write(tmp_path, "c.csv", ["customer_id", "c1"]))
    with pytest.raises(NotFoundError, match="no load has the id 'nope'; list the loads"):
        undo_load(wh, "nope")
    spark = Warehouse(con=None, backend="pyspark", root=tmp_path)
    with pytest.raises(ConfigError, match="undoing a load needs a DuckDB warehouse"):
        undo_load(spark, "abcd")


def test_a_unique_prefix_of_the_id_is_enough(wh, tmp_path):
    r = load_file(wh, "customers", write(tmp_path, "c.csv", ["customer_id", "c1"]))
    assert undo_load(wh, r.load_id[:6]).load_ids == (r.load_id,)


# -- --replace ----------------------------------------------------------------------------

def test_replace_undoes_every_earlier_load_of_the_file_then_loads_it(wh, tmp_path):
    path = write(tmp_path, "o.csv", ["OrderNo,customer_id,product_id,ts,quantity,revenue",
                                     "o1,c1,p1,2024-01-05,1,10", "o2,c1,p2,2024-01-05,3,30"])
    wrong = load_file(wh, "order_lines", path)  # OrderNo ignored: ids made from customer@ts
    assert one(wh, "SELECT DISTINCT order_id FROM order_lines") == [("c1@2024-01-05T00:00:00",)]
    right = load_file(wh, "order_lines", path, options=LoadOptions(mapping={"order_id": "OrderNo"}),
                      replace=True)
    assert right.replaced == (wrong.load_id,) and right.loaded == 2
    assert sorted(one(wh, "SELECT order_id FROM order_lines")) == [("o1",), ("o2",)]
    assert [r["load_id"] for r in list_loads(wh)] == [right.load_id]
    assert rollup.is_current(wh)


def test_a_failed_replace_leaves_the_earlier_load_in_place(wh, tmp_path):
    path = write(tmp_path, "o.csv", [HEADER, "o1,c1,p1,2024-01-05,1,10", "o2,c1,p1,bad,1,1"])
    first = load_file(wh, "order_lines", path)
    before = counts(wh)
    with pytest.raises(DataValidationError, match="more than --max-bad-fraction 0.1 allows"):
        load_file(wh, "order_lines", path, replace=True, max_bad_fraction=0.1)
    assert counts(wh) == before
    assert [r["load_id"] for r in list_loads(wh)] == [first.load_id]


def test_an_older_load_cannot_be_undone_and_its_file_is_not_taken_as_loaded(tmp_path):
    """A warehouse written before loads kept their options and rows their load."""
    wh = Warehouse.open("duckdb", root=tmp_path, path=tmp_path / "old.duckdb")
    con = wh.duckdb
    con.execute("CREATE TABLE customers (customer_id VARCHAR, first_seen TIMESTAMP, "
                "is_stub BOOLEAN)")
    con.execute("INSERT INTO customers VALUES ('c1', NULL, false)")
    con.execute("CREATE TABLE loads (load_id VARCHAR, table_name VARCHAR, file VARCHAR, "
                "file_sha256 VARCHAR, started TIMESTAMP, finished TIMESTAMP, rows_read BIGINT, "
                "loaded BIGINT, quarantined BIGINT, duplicates BIGINT, stubs_created BIGINT)")
    path = write(tmp_path, "c.csv", ["customer_id", "c1"])
    from outsidein.warehouse._stage import sha256_file
    con.execute(f"INSERT INTO loads VALUES ('old1', 'customers', '{path}', "
                f"'{sha256_file(path)}', now(), now(), 1, 1, 0, 0, 0)")
    ensure_schema(wh)
    assert one(wh, "SELECT customer_id, load_id FROM customers") == [("c1", None)]
    with pytest.raises(DataValidationError, match="made by an older version"):
        undo_load(wh, "old1")
    again = load_file(wh, "customers", path)
    assert not again.skipped_same_file and again.duplicates == 1
    with pytest.raises(DataValidationError, match="cannot be undone or replaced"):
        load_file(wh, "customers", path, replace=True)
    wh.close()


# -- no traps -----------------------------------------------------------------------------

def test_more_than_5_percent_bad_rows_warns_with_the_reason_and_a_sample(wh, tmp_path):
    lines = [f"o{i},c{i % 7},p1,2024-01-05,1,{i}" for i in range(18)]
    lines += ["o90,c1,p1,2024-01-05,1,lots", "o91,c1,p1,2024-01-05,1,many"]
    r = load_file(wh, "order_lines", write(tmp_path, "o.csv", [HEADER, *lines]))
    assert (r.loaded, r.quarantined) == (18, 2)
    [warning] = r.warnings
    assert warning.startswith("10.0% of the 20 rows of o.csv were not loaded (2 quarantined, "
                              "0 duplicates)")
    assert "revenue: expected a number (2 rows), e.g. row 19: revenue = 'lots'" in warning
    one_bad = load_file(wh, "order_lines", write(tmp_path, "p.csv", [
        HEADER, *(f"x{i},c1,p1,2024-01-05,1,1" for i in range(20)), "x99,c1,p1,2024-01-05,1,?"]))
    assert one_bad.quarantined == 1 and one_bad.warnings == ()  # 1 in 21 is under 5%


def test_duplicates_dominating_a_load_warn_and_name_the_key(wh, tmp_path):
    swapped = write(tmp_path, "o.csv", [HEADER, *(f"o1,c{i},p1,2024-01-05,1,1" for i in range(10))])
    r = load_file(wh, "order_lines", swapped)
    assert (r.loaded, r.duplicates) == (1, 9)
    assert "duplicates of an earlier row or of a row already loaded (9 rows)" in r.warnings[0]
    assert "share the key order_id, product_id, line" in r.warnings[0]


def test_max_bad_fraction_fails_the_load_and_writes_nothing(wh, tmp_path):
    path = write(tmp_path, "o.csv", [HEADER, "o1,c1,p1,2024-01-05,1,1", "o2,c1,p1,2024-01-05,x,1"])
    with pytest.raises(DataValidationError) as err:
        load_file(wh, "order_lines", path, max_bad_fraction=0.2)
    assert "quantity: expected a whole number (1 rows), e.g. row 2: quantity = 'x'" in str(
        err.value)
    assert counts(wh) == {"order_lines": 0, "customers": 0, "quarantine": 0, "loads": 0,
                          "purchase_days": 0}
    assert load_file(wh, "order_lines", path, max_bad_fraction=0.5).loaded == 1


# -- order lines without order or product ids ----------------------------------------------

def test_cdnow_lines_without_order_or_product_ids_all_load(wh, cdnow_csv):
    r = load_file(wh, "order_lines", cdnow_csv,
                  options=LoadOptions(mapping=CDNOW_MAP, date_format="%Y%m%d"))
    assert (r.rows_read, r.loaded, r.quarantined, r.duplicates) == (2000, 2000, 0, 0)
    assert any("an order is taken to be a customer's purchases at one time stamp" in n
               for n in r.notes)
    # customer 00002 bought twice on 1997-01-12: one order of two numbered lines
    assert one(wh, "SELECT order_id, line, quantity, revenue FROM order_lines "
                   "WHERE customer_id = '00002' ORDER BY ts, line")[:2] == [
        ("00002@1997-01-12T00:00:00", 1, 1, 12.0), ("00002@1997-01-12T00:00:00", 2, 5, 77.0)]
    assert one(wh, "SELECT count(*) FROM order_lines WHERE product_id IS NOT NULL") == [(0,)]
    assert one(wh, "SELECT sum(revenue) FROM order_lines")[0][0] == pytest.approx(
        sum(float(line.split(",")[3]) for line in cdnow_csv.read_text().splitlines()[1:]))
    # the same content again (other bytes: Windows line ends) adds nothing
    copy = cdnow_csv.with_name("copy.csv")
    copy.write_bytes(cdnow_csv.read_bytes().replace(b"\n", b"\r\n"))
    again = load_file(wh, "order_lines", copy,
                      options=LoadOptions(mapping=CDNOW_MAP, date_format="%Y%m%d"))
    assert (again.loaded, again.duplicates) == (0, 2000)
