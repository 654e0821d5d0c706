"""The loader: every validation rule with a bad file, reconciliation, duplicates, idempotency."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from outsidein.errors import DataValidationError
from outsidein.warehouse.load import LoadReport, load_file, load_frame

HEADER = "order_id,customer_id,product_id,ts,quantity,revenue"
GOOD = [
    "o1,c1,p1,2024-01-05,2,10.50",
    "o1,c1,p2,2024-01-05 10:00:00,1,3",
    "o2,c2,p1,2024-02-01T08:30:00,1,4.25",
]


def write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def rows(ws, sql: str) -> list[tuple]:
    return ws.warehouse().duckdb.execute(sql).fetchall()


def quarantined(ws) -> list[tuple]:
    return rows(ws, 'SELECT row_number, "column", reason, raw FROM quarantine ORDER BY row_number')


def reconciles(r: LoadReport) -> bool:
    return r.rows_read == r.loaded + r.quarantined + r.duplicates


def test_good_file_loads_every_row_with_types(workspace, tmp_path):
    r = load_file(workspace.warehouse(), "order_lines", write(tmp_path, "o.csv", [HEADER, *GOOD]))
    assert (r.rows_read, r.loaded, r.quarantined, r.duplicates) == (3, 3, 0, 0)
    got = rows(workspace, "SELECT order_id, ts, quantity, revenue, discount FROM order_lines "
                          "ORDER BY order_id, product_id")
    assert str(got[1][1]) == "2024-01-05 10:00:00"
    assert got[2][2:] == (1, 4.25, None)  # missing optional column filled with null
    assert rows(workspace, "SELECT count(*) FROM loads")[0][0] == 1


def test_missing_required_columns_is_one_clear_error(workspace, tmp_path):
    path = write(tmp_path, "o.csv", ["order_id,cust,product_id,quantity", "o1,c1,p1,1"])
    with pytest.raises(DataValidationError) as err:
        load_file(workspace.warehouse(), "order_lines", path)
    msg = str(err.value)
    assert "customer_id, ts, revenue" in msg and "columns found: order_id, cust" in msg
    assert "--map" in msg
    assert rows(workspace, "SELECT count(*) FROM loads")[0][0] == 0


def test_map_renames_columns_and_date_format_parses(workspace, tmp_path):
    path = write(tmp_path, "o.csv", ["OrderNo,Cust,product_id,Date,quantity,revenue",
                                     "o1,c1,p1,31/05/24,1,2.5"])
    r = load_file(workspace.warehouse(), "order_lines", path,
                  mapping={"order_id": "OrderNo", "customer_id": "Cust", "ts": "Date"},
                  date_format="%d/%m/%y")
    assert r.loaded == 1
    assert str(rows(workspace, "SELECT ts FROM order_lines")[0][0]) == "2024-05-31 00:00:00"


def test_map_to_a_missing_source_column_names_it(workspace, tmp_path):
    path = write(tmp_path, "o.csv", [HEADER, GOOD[0]])
    with pytest.raises(DataValidationError, match="column 'Cust' is not in o.csv"):
        load_file(workspace.warehouse(), "order_lines", path, mapping={"customer_id": "Cust"})


@pytest.mark.parametrize(("line", "column", "reason"), [
    ("o9,c1,p1,2024-01-05,two,1", "quantity", "expected a whole number"),
    ("o9,c1,p1,2024-01-05,1.5,1", "quantity", "expected a whole number"),
    ("o9,c1,p1,2024-01-05,1,abc", "revenue", "expected a number"),
    ("o9,c1,p1,2024-01-05,1,inf", "revenue", "expected a finite number"),
    ("o9,c1,p1,05/01/24,1,1", "ts", "expected a timestamp like 2024-05-31"),
    ("o9,c1,p1,2024-13-45,1,1", "ts", "expected a timestamp"),
    ("o9,,p1,2024-01-05,1,1", "customer_id", "missing required value"),
    ("o9,c1,p1,2024-01-05,-2,1", "quantity", "negative quantity on a line that is not a return"),
])
def test_bad_value_is_quarantined_with_row_column_and_reason(workspace, tmp_path, line,
                                                              column, reason):
    path = write(tmp_path, "o.csv", [HEADER, *GOOD, line])
    r = load_file(workspace.warehouse(), "order_lines", path)
    assert (r.rows_read, r.loaded, r.quarantined) == (4, 3, 1)
    assert reconciles(r)
    [(row, col, why, raw)] = quarantined(workspace)
    assert (row, col) == (4, column)
    assert reason in why
    assert json.loads(raw)["order_id"] == "o9"


def test_return_lines_may_have_negative_quantity(workspace, tmp_path):
    path = write(tmp_path, "o.csv", [HEADER + ",is_return,discount",
                                     "o1,c1,p1,2024-01-05,-1,-5,true,0",
                                     "o2,c1,p1,2024-01-05,1,5,false,-1",
                                     "o3,c1,p1,2024-01-05,1,5,maybe,0"])
    r = load_file(workspace.warehouse(), "order_lines", path)
    assert r.loaded == 1
    assert r.reasons == {"discount: below the minimum 0": 1,
                         "is_return: expected true or false": 1}


def test_allowed_values_are_enforced(workspace, tmp_path):
    path = write(tmp_path, "i.csv", ["customer_id,ts,channel,type",
                                     "c1,2024-01-01,web,visit",
                                     "c1,2024-01-02,fax,visit",
                                     "c1,2024-01-03,web,teleport"])
    r = load_file(workspace.warehouse(), "interactions", path)
    assert r.loaded == 1
    got = {(row, col) for row, col, *_ in quarantined(workspace)}
    assert got == {(2, "channel"), (3, "type")}
    assert "expected one of store, call_center, web" in quarantined(workspace)[0][2]


def test_unknown_customers_become_stubs_and_real_records_replace_them(workspace, tmp_path):
    load_frame(workspace.warehouse(), "customers",
               pd.DataFrame({"customer_id": ["c1"], "region": ["N"]}), source="crm")
    r = load_file(workspace.warehouse(), "order_lines", write(tmp_path, "o.csv", [HEADER, *GOOD]))
    assert r.stubs_created == 1
    assert any("1 unknown customer id" in n for n in r.notes)
    assert any("the products table is empty" in n for n in r.notes)
    assert rows(workspace, "SELECT customer_id, is_stub, first_seen FROM customers "
                           "WHERE is_stub")[0][:2] == ("c2", True)
    r2 = load_frame(workspace.warehouse(), "customers",
                    pd.DataFrame({"customer_id": ["c2", "c1"], "region": ["S", "X"]}),
                    source="crm2")
    assert (r2.loaded, r2.duplicates) == (1, 1)  # c2 replaces its stub, c1 already there
    assert rows(workspace, "SELECT customer_id, region, coalesce(is_stub, false) "
                           "FROM customers ORDER BY 1") == [("c1", "N", False), ("c2", "S", False)]


def test_duplicates_within_file_and_against_loaded_rows_are_skipped(workspace, tmp_path):
    load_file(workspace.warehouse(), "order_lines", write(tmp_path, "a.csv", [HEADER, GOOD[0]]))
    path = write(tmp_path, "b.csv", [HEADER, *GOOD, GOOD[2].replace("4.25", "9")])
    r = load_file(workspace.warehouse(), "order_lines", path)
    assert (r.rows_read, r.loaded, r.duplicates) == (4, 2, 2)
    assert rows(workspace, "SELECT revenue FROM order_lines WHERE order_id = 'o2'") == [(4.25,)]


def test_same_file_twice_adds_nothing(workspace, tmp_path):
    path = write(tmp_path, "o.csv", [HEADER, *GOOD, "o9,c1,p1,bad,1,1"])
    first = load_file(workspace.warehouse(), "order_lines", path)
    before = rows(workspace, "SELECT (SELECT count(*) FROM order_lines), "
                             "(SELECT count(*) FROM quarantine), (SELECT count(*) FROM loads)")
    second = load_file(workspace.warehouse(), "order_lines", path)
    assert second.skipped_same_file and second.load_id == first.load_id
    assert "already loaded" in second.summary()
    copy = tmp_path / "copy.csv"
    copy.write_text(path.read_text() + "o1,c1,p1,2024-01-05,2,10.50\n")
    third = load_file(workspace.warehouse(), "order_lines", copy)  # different bytes, same keys
    assert third.loaded == 0 and third.duplicates == 4
    after = rows(workspace, "SELECT (SELECT count(*) FROM order_lines), "
                            "(SELECT count(*) FROM quarantine), (SELECT count(*) FROM loads)")
    assert after[0][0] == before[0][0]


def test_parquet_with_bad_values(workspace, tmp_path):
    path = tmp_path / "o.parquet"
    pq.write_table(pa.table({
        "order_id": ["o1", "o2", "o3"], "customer_id": ["c1", "c2", None],
        "product_id": ["p1", "p1", "p1"],
        "ts": pa.array([pd.Timestamp("2024-01-01"), None, pd.Timestamp("2024-01-03")]),
        "quantity": pa.array([1.0, 2.0, 2.5]), "revenue": [1.0, 2.0, 3.0],
    }), path)
    r = load_file(workspace.warehouse(), "order_lines", path)
    assert (r.loaded, r.quarantined) == (1, 2)
    got = {(row, col, why) for row, col, why, _ in quarantined(workspace)}
    assert got == {(2, "ts", "missing required value"),
                   (3, "customer_id", "missing required value")}


def test_jsonl_with_bad_values(workspace, tmp_path):
    path = tmp_path / "s.jsonl"
    recs = [{"customer_id": "c1", "ts": "2024-01-01", "kind": "support", "amount": 12.5},
            {"customer_id": "c1", "ts": "2024-01-02", "kind": "bribe", "amount": 1},
            {"customer_id": "c2", "ts": "2024-01-03", "kind": "return", "amount": -4},
            {"customer_id": "c3", "ts": "2024-01-04", "kind": "other", "amount": "lots"}]
    path.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    r = load_file(workspace.warehouse(), "service_costs", path)
    assert (r.rows_read, r.loaded, r.quarantined, r.stubs_created) == (4, 1, 3, 1)
    got = {(row, col) for row, col, *_ in quarantined(workspace)}
    assert got == {(2, "kind"), (3, "amount"), (4, "amount")}


def test_unknown_extension_and_unknown_table_are_clear_errors(workspace, tmp_path):
    path = write(tmp_path, "o.numbers", [HEADER])  # (.xlsx is read since 2026-11-30)
    with pytest.raises(DataValidationError,
                       match=r"expected \.csv, \.parquet, \.jsonl or \.xlsx"):
        load_file(workspace.warehouse(), "order_lines", path)
    with pytest.raises(DataValidationError, match="unknown table 'orders'; expected one of"):
        load_file(workspace.warehouse(), "orders", path)


def test_extra_columns_are_kept_as_attributes_and_noted(workspace, tmp_path):
    path = write(tmp_path, "p.csv", ["product_id,name,colour", "p1,Tea,green"])
    r = load_file(workspace.warehouse(), "products", path)
    assert r.loaded == 1
    assert r.notes[0] == ("kept column(s) not in table 'products' as attributes "
                          "(table product_attributes): colour (text)")


def test_load_frame_reconciles_and_records_the_load(workspace):
    df = pd.DataFrame({"prospect_id": ["x1", "x2", "x2"],
                       "created": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-02"]),
                       "web_visits": [3, -1, 2]})
    r = load_frame(workspace.warehouse(), "prospects", df, source="demo:prospects")
    assert (r.rows_read, r.loaded, r.quarantined, r.duplicates) == (3, 2, 1, 0)
    assert r.to_dict()["reasons"] == {"web_visits: below the minimum 0": 1}
    assert rows(workspace, "SELECT file, rows_read FROM loads") == [("demo:prospects", 3)]


def test_ragged_csv_lines_are_quarantined_with_their_row_numbers(workspace, tmp_path):
    path = write(tmp_path, "r.csv", [
        HEADER,
        GOOD[0],                                  # row 1
        "o2,c1,p1,2024-01-01,1,2,extra,more",     # row 2: two fields too many
        "o3,c1,p1,2024-01-02,1",                  # row 3: one field short
        "o4,c2,p1,2024-01-03,1,5",                # row 4
        "o6,c2,p1,not-a-date,1,5",                # row 5: a rule fails, numbered after rejects
        "o7,c3,p1,2024-01-05,2,7.5",              # row 6
        'o5,c2,p1,2024-01-04,1,"oops',            # row 7: an unclosed quote ...
        "o8,c3,p1,2024-01-06,1,1",                # ... swallows the rest of the file
    ])
    r = load_file(workspace.warehouse(), "order_lines", path)
    assert (r.rows_read, r.loaded, r.quarantined, r.duplicates) == (7, 3, 4, 0)
    assert reconciles(r)
    q = quarantined(workspace)
    assert [row[0] for row in q] == [2, 3, 5, 7]
    assert "too many columns" in q[0][2] and "Found: 8" in q[0][2]
    assert json.loads(q[0][3]) == {"line": "o2,c1,p1,2024-01-01,1,2,extra,more"}
    assert "missing columns" in q[1][2]
    assert q[2][1] == "ts"
    assert "unterminated quote" in q[3][2] and "o8,c3" in json.loads(q[3][3])["line"]
    assert sorted(x[0] for x in rows(workspace, "SELECT order_id FROM order_lines")) == [
        "o1", "o4", "o7"]


def test_a_csv_with_no_readable_line_is_a_clear_error(workspace, tmp_path):
    path = write(tmp_path, "r.csv", [HEADER, "a;b;c", "d;e;f"])
    with pytest.raises(DataValidationError, match="r.csv: no line could be read as CSV"):
        load_file(workspace.warehouse(), "order_lines", path)
    assert rows(workspace, "SELECT count(*) FROM order_lines") == [(0,)]
    assert rows(workspace, "SELECT count(*) FROM quarantine") == [(0,)]


def test_malformed_jsonl_lines_are_quarantined_with_their_line_numbers(workspace, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"customer_id": "c1", "ts": "2024-01-01", "kind": "support", "amount": 3}\n'  # 1
        "\n"                                                                           # 2
        '{"customer_id": "c2", "ts": "2024-01-02", "kind": "sup\n'                      # 3
        '[1, 2]\n'                                                                      # 4
        '{"customer_id": "c3", "ts": "bad", "kind": "other", "amount": 1}\n'            # 5
        '{"customer_id": "c4", "ts": "2024-01-04", "kind": "other", "amount": 2}')       # 6
    r = load_file(workspace.warehouse(), "service_costs", path)
    assert (r.rows_read, r.loaded, r.quarantined, r.duplicates) == (5, 2, 3, 0)
    assert reconciles(r)
    q = quarantined(workspace)
    assert [(row, col) for row, col, *_ in q] == [(3, "(line)"), (4, "(line)"), (5, "ts")]
    assert q[0][2] == "not valid JSON" and "sup" in json.loads(q[0][3])["line"]
    assert q[1][2] == "not a JSON object but a JSON array"


def test_a_file_of_no_json_lines_is_a_clear_error(workspace, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('[{"customer_id": "c1",\n  "ts": "2024-01-01"}]\n')  # a JSON array file
    with pytest.raises(DataValidationError, match="bad.jsonl: no line could be read as JSON "
                                                  "Lines"):
        load_file(workspace.warehouse(), "service_costs", path)
    assert rows(workspace, "SELECT count(*) FROM quarantine") == [(0,)]


def test_unknown_products_are_kept_and_counted(workspace, tmp_path):
    load_frame(workspace.warehouse(), "products", pd.DataFrame({"product_id": ["p1"]}),
               source="erp")
    r = load_file(workspace.warehouse(), "order_lines", write(tmp_path, "o.csv", [HEADER, *GOOD]))
    assert r.loaded == 3
    assert "1 rows reference 1 product id(s) not in products (kept;" in " ".join(r.notes)


def test_a_line_longer_than_the_reader_takes_is_a_short_clear_error(workspace, tmp_path):
    path = tmp_path / "long.jsonl"
    path.write_text(json.dumps({"customer_id": "c1", "note": "x" * 9_000_000}) + "\n")
    with pytest.raises(DataValidationError) as err:
        load_file(workspace.warehouse(), "service_costs", path)
    msg = str(err.value)
    assert msg.startswith("long.jsonl: a line is too long to read as JSON Lines")
    assert "Maximum line size of 8388608 bytes exceeded" in msg and len(msg) < 600
