"""Columns of customers, prospects and products files beyond the model are kept, typed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from outsidein.errors import DataValidationError
from outsidein.warehouse.attribute_inventory import attribute_inventory
from outsidein.warehouse.attributes import attribute_types, read_attributes
from outsidein.warehouse.engine import Warehouse
from outsidein.warehouse.load import load_file, load_frame
from outsidein.warehouse.undo import undo_load


@pytest.fixture()
def wh(tmp_path: Path):
    w = Warehouse.open("duckdb", root=tmp_path, path=tmp_path / "wh.duckdb")
    yield w
    w.close()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def by_id(wh: Warehouse, table: str = "customers") -> pd.DataFrame:
    df = read_attributes(wh, table)
    return df.set_index(df.columns[0])


def test_each_extra_column_gets_the_type_all_its_values_have(wh, tmp_path) -> None:
    path = write(tmp_path, "customers.csv",
                 "customer_id,region,income,home_owner,signup,code,count,answer,notes\n"
                 "c1,north,52000,true,2024-05-31,0x1F,1_000,yes,\n"
                 "c2,south,61000.5,FALSE,2024-06-01T10:00:00+02:00,0x20,12,no,\n"
                 "c3,north,,True,2024-06-02 08:30:00,7,3,yes,\n")
    report = load_file(wh, "customers", path)
    assert report.loaded == 3
    assert report.notes[0] == (
        "kept column(s) not in table 'customers' as attributes (table customer_attributes): "
        "income (number), home_owner (boolean), signup (timestamp), code (text), count (text), "
        "answer (text); not kept (no value): notes")
    df = by_id(wh)
    assert df.loc["c2", "income"] == 61000.5 and pd.isna(df.loc["c3", "income"])
    assert df["home_owner"].tolist() == [True, False, True]
    # the offset is converted to UTC, not dropped
    assert df.loc["c2", "signup"] == pd.Timestamp("2024-06-01 08:00:00")
    # hexadecimal, underscores and yes/no are text, as written
    assert df.loc["c1", "code"] == "0x1F" and df.loc["c1", "count"] == "1_000"
    assert df.loc["c1", "answer"] == "yes"
    assert "notes" not in df.columns


def test_a_type_guessed_from_the_first_rows_is_checked_on_every_row(wh, tmp_path) -> None:
    n = 10_050
    rows = [f"c{i},{i * 1.5},{i}" for i in range(n)]
    rows[-1] = f"c{n - 1},unknown,1e400"  # past the first 10,000: not a (finite) number
    path = write(tmp_path, "customers.csv", "customer_id,score,visits\n" + "\n".join(rows))
    load_file(wh, "customers", path)
    assert attribute_types(wh, "customers") == {"score": "text", "visits": "text"}
    df = by_id(wh)
    assert df.loc["c3", "score"] == "4.5" and df.loc[f"c{n - 1}", "score"] == "unknown"


def test_only_valid_rows_and_the_first_of_each_key_bring_attributes(wh, tmp_path) -> None:
    path = write(tmp_path, "customers.csv",
                 "customer_id,nps,income\n"
                 "c1,9,100\n"
                 "c2,-3,200\n"   # quarantined: nps below 0
                 "c1,8,999\n"    # a duplicate of c1: skipped, like its canonical row
                 "c3,7,300\n")
    report = load_file(wh, "customers", path)
    assert (report.loaded, report.quarantined, report.duplicates) == (2, 1, 1)
    assert by_id(wh)["income"].to_dict() == {"c1": 100.0, "c3": 300.0}


def test_a_later_load_wins_and_undoing_it_brings_the_earlier_values_back(wh, tmp_path) -> None:
    first = load_file(wh, "customers", write(tmp_path, "a.csv",
                                             "customer_id,income\nc1,100\nc2,200\n"))
    # known customers enriched: their canonical rows are duplicates, their attributes new
    second = load_file(wh, "customers", write(
        tmp_path, "b.csv", "customer_id,income,segment\nc1,150,gold\nc2,,silver\nc3,300,\n"))
    assert second.duplicates == 2 and second.notes[0].startswith("kept column(s)")
    df = by_id(wh)
    assert df["income"].to_dict() == {"c1": 150.0, "c2": 200.0, "c3": 300.0}  # empty: unknown
    assert df["segment"].to_dict() == {"c1": "gold", "c2": "silver", "c3": None}
    undo_load(wh, second.load_id)
    df = by_id(wh)
    assert df["income"].to_dict() == {"c1": 100.0, "c2": 200.0}
    assert "segment" not in df.columns  # no value left
    assert first.load_id != second.load_id


def test_a_column_whose_loads_disagree_on_the_type_becomes_text(wh, tmp_path) -> None:
    load_file(wh, "customers", write(tmp_path, "a.csv", "customer_id,income\nc1,100\n"))
    load_file(wh, "customers", write(tmp_path, "b.csv", "customer_id,INCOME\nc2,n/a\n"))
    assert attribute_types(wh, "customers") == {"income": "text"}  # names ignore case
    assert by_id(wh)["income"].to_dict() == {"c1": "100.0", "c2": "n/a"}


def test_frames_and_parquet_keep_their_own_types(wh) -> None:
    df = pd.DataFrame({
        "prospect_id": ["p1", "p2", "p3"], "created": pd.to_datetime(["2024-01-01"] * 3),
        "employees": [10, 250, 40], "budget": [1.5e5, np.nan, 2e4],
        "is_partner": [True, False, True],
        "founded": pd.to_datetime(["1999-03-01", "2010-07-15", "2020-01-01"]),
        "sector": ["retail", "energy", None]})
    load_frame(wh, "prospects", df, source="crm")
    assert attribute_types(wh, "prospects") == {
        "employees": "number", "budget": "number", "is_partner": "boolean",
        "founded": "timestamp", "sector": "text"}
    got = by_id(wh, "prospects")
    assert got.loc["p2", "employees"] == 250 and pd.isna(got.loc["p2", "budget"])
    assert got.loc["p3", "founded"] == pd.Timestamp("2020-01-01")


def test_products_keep_attributes_other_tables_ignore_extra_columns(wh, tmp_path) -> None:
    r = load_file(wh, "products", write(tmp_path, "p.csv", "product_id,colour\np1,green\n"))
    assert r.notes[0].endswith("(table product_attributes): colour (text)")
    assert by_id(wh, "products")["colour"].to_dict() == {"p1": "green"}
    r = load_file(wh, "service_costs", write(
        tmp_path, "s.csv", "customer_id,ts,kind,amount,agent\nc1,2024-01-02,support,5,ann\n"))
    assert "ignored column(s) not in table 'service_costs': agent" in r.notes
    with pytest.raises(DataValidationError, match="keeps no attributes"):
        read_attributes(wh, "service_costs")


def test_a_reserved_name_is_not_kept_and_the_report_says_so(wh, tmp_path) -> None:
    r = load_file(wh, "customers", write(tmp_path, "c.csv",
                                         "customer_id,loaded_at,tier\nc1,yesterday,2\n"))
    assert r.notes[0].endswith("tier (number); not kept (reserved name): loaded_at")


def test_status_inventory_counts_customers_with_a_value(wh, tmp_path) -> None:
    load_file(wh, "customers", write(tmp_path, "a.csv", "customer_id,income\nc1,1\nc2,2\n"))
    load_file(wh, "customers", write(tmp_path, "b.csv", "customer_id,income\nc1,3\nc3,\n"))
    assert attribute_inventory(wh.duckdb) == [
        {"table": "customers", "attribute_table": "customer_attributes", "name": "income",
         "type": "number", "entities": 2}]
