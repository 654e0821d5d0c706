"""Numbers and booleans: read strictly (no hexadecimal, underscores or yes/T), and money too big
to sum in cents quarantined instead of aborting the load."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from outsidein.warehouse.engine import Warehouse
from outsidein.warehouse.load import load_file

HEADER = "order_id,customer_id,product_id,ts,quantity,revenue,discount,is_return"
GOOD = "o1,c1,p1,2024-01-05,2,10.50,0,false"


@pytest.fixture
def wh() -> Warehouse:
    return Warehouse.open("duckdb", root=Path("."), path=Path(":memory:"))


def load_lines(wh: Warehouse, tmp_path: Path, lines: list[str], table: str = "order_lines",
               header: str = HEADER):
    path = tmp_path / "f.csv"
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return load_file(wh, table, path)


def quarantined(wh: Warehouse) -> list[tuple[str, str, dict]]:
    return [(c, why, json.loads(raw)) for c, why, raw in wh.duckdb.execute(
        'SELECT "column", reason, raw FROM quarantine ORDER BY row_number').fetchall()]


@pytest.mark.parametrize("revenue", ["1e17", "-1e17", "100000000000000000", "1000000000000.5"])
def test_money_too_big_for_cents_is_quarantined_and_the_rest_loads(wh, tmp_path, revenue):
    r = load_lines(wh, tmp_path, [GOOD, f"o2,c1,p2,2024-01-06,1,{revenue},0,false"])
    assert (r.loaded, r.quarantined) == (1, 1)
    [(col, why, raw)] = quarantined(wh)
    assert col == "revenue" and raw["revenue"] == revenue
    assert "too big for a money amount" in why and "1,000,000,000,000" in why
    # the purchase_days rollup (integer cents) holds the good line
    assert wh.duckdb.execute("SELECT sum(value_cents) FROM purchase_days").fetchone()[0] == 1050


def test_the_largest_money_amount_still_loads(wh, tmp_path):
    r = load_lines(wh, tmp_path, ["o1,c1,p1,2024-01-05,1,999999999999.99,0,false"])
    assert r.loaded == 1
    cents = wh.duckdb.execute("SELECT sum(value_cents) FROM purchase_days").fetchone()[0]
    assert cents == 99999999999999


@pytest.mark.parametrize(("table", "header", "lines", "column"), [
    ("products", "product_id,unit_cost", ["p1,2e12", "p2,3"], "unit_cost"),
    ("service_costs", "customer_id,ts,kind,amount",
     ["c1,2024-01-01,support,5e15", "c1,2024-01-02,support,5"], "amount"),
    ("order_lines", HEADER, ["o9,c1,p1,2024-01-05,1,5,3e13,false", GOOD], "discount"),
])
def test_every_money_column_has_the_bound(wh, tmp_path, table, header, lines, column):
    r = load_lines(wh, tmp_path, lines, table=table, header=header)
    assert (r.loaded, r.quarantined) == (1, 1)
    assert quarantined(wh)[0][0] == column


@pytest.mark.parametrize(("quantity", "revenue", "column", "reason"), [
    ("0x1A", "5", "quantity", "expected a whole number"),
    ("0b101", "5", "quantity", "expected a whole number"),
    ("1_000", "5", "quantity", "expected a whole number"),
    ("1", "0x1A", "revenue", "expected a number"),
    ("1", "1_000.50", "revenue", "expected a number"),
    ("1", "1e1_0", "revenue", "expected a number"),
])
def test_hexadecimal_and_underscores_are_quarantined_not_coerced(wh, tmp_path, quantity, revenue,
                                                                 column, reason):
    r = load_lines(wh, tmp_path, [GOOD, f"o2,c1,p2,2024-01-06,{quantity},{revenue},0,false"])
    assert (r.loaded, r.quarantined) == (1, 1)
    [(col, why, raw)] = quarantined(wh)
    assert (col, why) == (column, reason)
    assert raw["quantity"] == quantity and raw["revenue"] == revenue


def test_plain_numbers_still_read(wh, tmp_path):
    r = load_lines(wh, tmp_path, ["o1,c1,p1,2024-01-05, 3 ,+2.5,0,false",
                                  "o2,c1,p1,2024-01-05,4.0,1e3,.5,false",
                                  "o3,c1,p1,2024-01-05,-1,-7.25,0,true"])
    assert r.loaded == 3, r.reasons
    got = wh.duckdb.execute("SELECT quantity, revenue, discount FROM order_lines "
                            "ORDER BY order_id").fetchall()
    assert got == [(3, 2.5, 0.0), (4, 1000.0, 0.5), (-1, -7.25, 0.0)]


@pytest.mark.parametrize("value", ["yes", "no", "T", "F", "y", "n", "on", "off", "2"])
def test_booleans_other_than_true_false_1_0_are_quarantined(wh, tmp_path, value):
    r = load_lines(wh, tmp_path, [GOOD, f"o2,c1,p2,2024-01-06,1,5,0,{value}"])
    assert (r.loaded, r.quarantined) == (1, 1)
    assert quarantined(wh)[0][:2] == ("is_return", "expected true or false")


def test_true_false_1_0_in_any_case_are_booleans(wh, tmp_path):
    values = ["TRUE", "False", "1", "0", " true "]
    lines = [f"o{i},c1,p{i},2024-01-06,-1,5,0,{v}" if v.strip().lower() in ("true", "1")
             else f"o{i},c1,p{i},2024-01-06,1,5,0,{v}" for i, v in enumerate(values)]
    r = load_lines(wh, tmp_path, lines)
    assert r.loaded == 5, r.reasons
    got = [b for (b,) in wh.duckdb.execute(
        "SELECT is_return FROM order_lines ORDER BY order_id").fetchall()]
    assert got == [True, False, True, False, True]


def test_typed_parquet_columns_keep_working(wh, tmp_path):
    path = tmp_path / "o.parquet"
    pq.write_table(pa.table({
        "order_id": ["o1", "o2", "o3"], "customer_id": ["c1", "c1", "c1"],
        "product_id": ["p1", "p1", "p1"], "ts": ["2024-01-01", "2024-01-02", "2024-01-03"],
        "quantity": pa.array([1, 26, 2], pa.int32()), "revenue": [1.5, 2.0, 1e17],
        "is_return": [False, True, False]}), path)
    r = load_file(wh, "order_lines", path)
    assert (r.loaded, r.quarantined) == (2, 1)
    assert "too big for a money amount" in quarantined(wh)[0][1]
    got = wh.duckdb.execute("SELECT quantity, revenue, is_return FROM order_lines "
                            "ORDER BY order_id").fetchall()
    assert got == [(1, 1.5, False), (26, 2.0, True)]


def test_a_load_made_before_the_decimal_option_keeps_its_identity() -> None:
    # the options as every load before 2026-11-30 recorded them: the same file with the same
    # options is still "already loaded", not loaded twice
    import hashlib  # only here: the old fingerprint worked out by hand

    from outsidein.warehouse.options import LoadOptions
    old = {"mapping": {"ts": "date"}, "date_format": None, "delimiter": None, "header": True,
           "columns": None, "encoding": None, "allow_future": False}
    text = json.dumps(old, sort_keys=True, separators=(",", ":"))
    assert LoadOptions(mapping={"ts": "date"}).fingerprint() == \
        hashlib.sha256(text.encode()).hexdigest()[:16]
    assert LoadOptions(mapping={"ts": "date"}, decimal=",").fingerprint() != \
        LoadOptions(mapping={"ts": "date"}).fingerprint()
