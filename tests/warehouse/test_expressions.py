"""Derived columns: ``--map target=expression`` over the file's columns, evaluated safely in SQL."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from outsidein.errors import DataValidationError
from outsidein.warehouse.engine import Warehouse
from outsidein.warehouse.load import load_file
from outsidein.warehouse.options import LoadOptions
from outsidein.warehouse.quality import resolve_columns
from outsidein.warehouse.schema import table_spec

HEADER = "basket,household,product,day,qty,sales_value,retail_disc"
KEYS = {"order_id": "basket", "customer_id": "household", "product_id": "product",
        "ts": "day", "quantity": "qty"}


@pytest.fixture
def wh() -> Warehouse:
    return Warehouse.open("duckdb", root=Path("."), path=Path(":memory:"))


def write(tmp_path: Path, lines: list[str], header: str = HEADER) -> Path:
    path = tmp_path / "t.csv"
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def load(wh: Warehouse, path: Path, mapping: dict[str, str], table: str = "order_lines"):
    return load_file(wh, table, path, options=LoadOptions(mapping=mapping))


def column(wh: Warehouse, name: str, table: str = "order_lines") -> list:
    return [v for (v,) in wh.duckdb.execute(
        f"SELECT {name} FROM {table} ORDER BY order_id").fetchall()]


def test_an_expression_computes_the_column(wh, tmp_path):
    path = write(tmp_path, ["b1,h1,p1,2024-01-01,1,10.5,-1.5", "b2,h1,p1,2024-01-02,2,4,0"])
    r = load(wh, path, {**KEYS, "revenue": "sales_value + retail_disc"})
    assert r.loaded == 2
    assert column(wh, "revenue") == [9.0, 4.0]
    assert not any("ignored column" in n for n in r.notes)  # the operands are used


def test_an_operand_that_is_not_a_number_quarantines_the_row_naming_expression_and_column(
        wh, tmp_path):
    path = write(tmp_path, ["b1,h1,p1,2024-01-01,1,10.5,-1.5", "b2,h1,p1,2024-01-02,1,4,abc",
                            "b3,h1,p1,2024-01-03,1,0x1A,0"])
    r = load(wh, path, {**KEYS, "revenue": "sales_value + retail_disc"})
    assert (r.loaded, r.quarantined) == (1, 2)
    rows = wh.duckdb.execute('SELECT "column", reason, raw FROM quarantine '
                             "ORDER BY row_number").fetchall()
    assert [(c, why) for c, why, _ in rows] == [
        ("revenue", "revenue = sales_value + retail_disc: column 'retail_disc' is not a number"),
        ("revenue", "revenue = sales_value + retail_disc: column 'sales_value' is not a number")]
    raw = json.loads(rows[0][2])  # the source row as it was
    assert raw == {"basket": "b2", "household": "h1", "product": "p1", "day": "2024-01-02",
                   "qty": "1", "sales_value": "4", "retail_disc": "abc"}


def test_an_empty_operand_of_a_required_column_is_named(wh, tmp_path):
    path = write(tmp_path, ["b1,h1,p1,2024-01-01,1,10,", "b2,h1,p1,2024-01-01,1,10,1"])
    r = load(wh, path, {**KEYS, "revenue": "sales_value + retail_disc"})
    assert r.reasons == {"revenue: revenue = sales_value + retail_disc: "
                         "column 'retail_disc' is empty": 1}
    path = write(tmp_path, ["b3,h1,p1,2024-01-01,1,10,"])
    r = load(wh, path, {**KEYS, "revenue": "sales_value + coalesce(retail_disc, 0)"})
    assert r.loaded == 1
    assert column(wh, "revenue") == [11.0, 10.0]


def test_constants_fill_a_column_the_file_does_not_have(wh, tmp_path):
    path = write(tmp_path, ["h1,2024-01-01", "h2,2024-01-02"], header="household,day")
    r = load(wh, path, {"customer_id": "household", "ts": "day", "channel": "'store'",
                        "type": "'visit'"}, table="interactions")
    assert r.loaded == 2
    assert wh.duckdb.execute("SELECT DISTINCT channel, type FROM interactions").fetchall() == [
        ("store", "visit")]
    path = write(tmp_path, ["b1,h1,p1,2024-01-01,3.5"], header="basket,household,product,day,amt")
    r = load(wh, path, {**{k: v for k, v in KEYS.items() if k != "quantity"},
                        "quantity": "1", "revenue": "amt"})
    assert r.loaded == 1
    assert column(wh, "quantity") == [1]


def test_columns_with_spaces_go_in_backticks_and_functions_work(wh, tmp_path):
    path = write(tmp_path, ["b1,H1,p1,2024-01-01,2,10.456,-1"],
                 header="basket,House Hold,product,day,qty,sales value,retail_disc")
    r = load(wh, path, {**KEYS, "customer_id": "lower(`House Hold`)",
                        "revenue": "round(`sales value` * 2, 1)",
                        "discount": "abs(retail_disc)"})
    assert r.loaded == 1, r.reasons
    assert wh.duckdb.execute("SELECT customer_id, revenue, discount FROM order_lines"
                             ).fetchall() == [("h1", 20.9, 1.0)]


def test_division_by_zero_is_quarantined(wh, tmp_path):
    path = write(tmp_path, ["b1,h1,p1,2024-01-01,2,10,0", "b2,h1,p1,2024-01-01,0,10,0"])
    r = load(wh, path, {**KEYS, "revenue": "sales_value / qty"})
    assert r.loaded == 1
    assert r.reasons == {"revenue: revenue = sales_value / qty: "
                         "no finite value (a division by zero?)": 1}


def test_typed_parquet_columns_are_numbers_in_expressions(wh, tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"basket": ["b1"], "household": ["h1"], "product": ["p1"],
                             "day": ["2024-01-01"], "qty": pa.array([2], pa.int64()),
                             "price": [2.5]}), path)
    r = load_file(wh, "order_lines", path,
                  options=LoadOptions(mapping={**KEYS, "revenue": "qty * price"}))
    assert r.loaded == 1
    assert column(wh, "revenue") == [5.0]


@pytest.mark.parametrize(("expression", "named"), [
    ("__import__('os').system('touch pwned')", "calling __import__('os').system"),
    ("open('pwned', 'w')", "the function open()"),
    ("sales_value.real", "attribute access (sales_value.real)"),
    ("sales_value[0]", "subscripts (sales_value[0])"),
    ("(lambda: 1)()", "calling lambda: 1"),
    ("sales_value > 1", "comparisons (sales_value > 1)"),
    ("sales_value ** 2", "the operator **"),
    ("sales_value if qty else 0", "if/else"),
    ("[sales_value]", "lists"),
    ("f'{sales_value}'", "f-strings"),
])
def test_anything_but_a_scalar_expression_is_refused_and_named(wh, tmp_path, expression, named,
                                                                monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, ["b1,h1,p1,2024-01-01,1,10,0"])
    with pytest.raises(DataValidationError) as err:
        load(wh, path, {**KEYS, "revenue": expression})
    msg = str(err.value)
    assert named in msg and "is not allowed" in msg
    assert "+ - * /" in msg  # what is allowed
    assert not (tmp_path / "pwned").exists()
    assert wh.duckdb.execute("SELECT count(*) FROM order_lines").fetchone()[0] == 0


def test_a_name_that_is_not_a_column_lists_the_columns(wh, tmp_path):
    path = write(tmp_path, ["b1,h1,p1,2024-01-01,1,10,0"])
    with pytest.raises(DataValidationError) as err:
        load(wh, path, {**KEYS, "revenue": "sales + retail_disc"})
    assert "column 'sales' is not in t.csv; columns found: basket, household" in str(err.value)
    with pytest.raises(DataValidationError, match="'x' is text; arithmetic needs numbers"):
        load(wh, path, {**KEYS, "revenue": "sales_value * 'x'"})
    with pytest.raises(DataValidationError, match="not a valid expression"):
        load(wh, path, {**KEYS, "revenue": "sales value"})


def test_resolve_columns_accepts_expressions_and_renames():
    spec = table_spec("order_lines")
    found = dict.fromkeys(HEADER.split(","), "VARCHAR")
    plans, extra = resolve_columns(spec, found, source="t.csv",
                                   mapping={**KEYS, "revenue": "sales_value - retail_disc"})
    by_name = {p.column.name: p for p in plans}
    assert by_name["customer_id"].source == "household"
    assert by_name["revenue"].derived is not None
    assert by_name["revenue"].derived.columns == ("sales_value", "retail_disc")
    assert extra == []


def test_a_feed_that_counts_days_and_splits_date_and_time(wh: Warehouse, tmp_path: Path) -> None:
    """A grocery feed writes DAY as a day number and TRANS_TIME as HHMM, with discounts < 0."""
    path = tmp_path / "transactions.csv"
    path.write_text("BASKET_ID,household_key,PRODUCT_ID,DAY,TRANS_TIME,QUANTITY,SALES_VALUE,"
                    "RETAIL_DISC\n"
                    "b1,h1,p1,1,0915,1,3.50,-0.50\n"
                    "b2,h1,p2,31,1730,2,4.00,0\n"
                    "b3,h2,p1,x,1200,1,1.00,0\n", encoding="utf-8")
    mapping = {"order_id": "BASKET_ID", "customer_id": "household_key",
               "product_id": "PRODUCT_ID", "quantity": "QUANTITY",
               "ts": "days_after('2017-01-01', DAY)",
               "revenue": "SALES_VALUE + RETAIL_DISC", "discount": "-RETAIL_DISC"}
    report = load(wh, path, mapping)
    assert (report.loaded, report.quarantined) == (2, 1)
    assert [str(t)[:10] for t in column(wh, "ts")] == ["2017-01-02", "2017-02-01"]
    assert column(wh, "revenue") == [3.0, 4.0]
    assert any("DAY" in r and "not a number" in r for r in report.reasons)


def test_concat_joins_a_date_and_a_time_column(wh: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("id,who,day,time\no1,c1,2024-05-31,14:30\n", encoding="utf-8")
    mapping = {"order_id": "id", "customer_id": "who", "ts": "concat(day, ' ', time)",
               "quantity": "1", "revenue": "10"}
    assert load(wh, path, mapping).loaded == 1
    assert str(column(wh, "ts")[0]) == "2024-05-31 14:30:00"


def test_days_after_needs_a_date_in_quotes(wh: Warehouse, tmp_path: Path) -> None:
    path = write(tmp_path, ["b1,h1,p1,1,1,2.0,0"])
    with pytest.raises(DataValidationError, match="days_after\\(\\)'s start must be a date"):
        load(wh, path, {**KEYS, "ts": "days_after(day, day)", "revenue": "sales_value"})


def test_canonical_names_are_found_in_any_case(wh: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("ORDER_ID,Customer_ID,TS,QUANTITY,Revenue\no1,c1,2024-05-31,2,9.5\n",
                    encoding="utf-8")
    report = load(wh, path, {})
    assert report.loaded == 1 and column(wh, "revenue") == [9.5]
    assert not any("ignored" in n for n in report.notes)
