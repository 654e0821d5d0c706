"""Dates: the common format inferred, ambiguous formats stopped, offsets converted, implausible
dates quarantined."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from outsidein.errors import DataValidationError
from outsidein.warehouse.engine import Warehouse
from outsidein.warehouse.load import load_file
from outsidein.warehouse.options import LoadOptions

HEADER = "order_id,customer_id,product_id,ts,quantity,revenue"


@pytest.fixture
def wh() -> Warehouse:
    return Warehouse.open("duckdb", root=Path("."), path=Path(":memory:"))


def write(tmp_path: Path, stamps: list[str], name: str = "o.csv") -> Path:
    """An order-line file with one line per time stamp (quoted, so that spaces stay)."""
    lines = [HEADER] + [f'o{i},c1,p1,"{ts}",1,10' for i, ts in enumerate(stamps)]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def stamps(wh: Warehouse) -> list[str]:
    return [str(ts) for (ts,) in wh.duckdb.execute(
        "SELECT ts FROM order_lines ORDER BY CAST(substr(order_id, 2) AS INT)").fetchall()]


def quarantine(wh: Warehouse) -> list[tuple[int, str, str, dict]]:
    rows = wh.duckdb.execute('SELECT row_number, "column", reason, raw FROM quarantine '
                             "ORDER BY row_number").fetchall()
    return [(r, c, why, json.loads(raw)) for r, c, why, raw in rows]


@pytest.mark.parametrize(("values", "fmt", "expected"), [
    (["19970101", "19970312", "19980630"], "%Y%m%d",
     ["1997-01-01 00:00:00", "1997-03-12 00:00:00", "1998-06-30 00:00:00"]),
    (["05/03/2024", "13/03/2024", "1/2/2024"], "%d/%m/%Y",
     ["2024-03-05 00:00:00", "2024-03-13 00:00:00", "2024-02-01 00:00:00"]),
    (["05/03/2024", "03/13/2024"], "%m/%d/%Y", ["2024-05-03 00:00:00", "2024-03-13 00:00:00"]),
    (["31.05.2024", "01.06.2024"], "%d.%m.%Y", ["2024-05-31 00:00:00", "2024-06-01 00:00:00"]),
    # month names, as spreadsheets and databases export them (any case)
    (["31-Jan-2024", "1-FEB-2024"], "%d-%b-%Y", ["2024-01-31 00:00:00", "2024-02-01 00:00:00"]),
    (["31-Jan-24", "01-feb-24"], "%d-%b-%y", ["2024-01-31 00:00:00", "2024-02-01 00:00:00"]),
    (["31 Jan 2024", "1 Sep 2024"], "%d %b %Y", ["2024-01-31 00:00:00", "2024-09-01 00:00:00"]),
    (["31 January 2024", "1 September 2024"], "%d %B %Y",
     ["2024-01-31 00:00:00", "2024-09-01 00:00:00"]),
    (["Jan 31, 2024", "Sep 1, 2024"], "%b %d, %Y", ["2024-01-31 00:00:00", "2024-09-01 00:00:00"]),
    (["January 31, 2024", "September 1, 2024"], "%B %d, %Y",
     ["2024-01-31 00:00:00", "2024-09-01 00:00:00"]),
    # with a time of day, as point-of-sale exports write it
    (["1/31/2024 2:30 PM", "2/1/2024 12:05 AM"], "%m/%d/%Y %I:%M %p",
     ["2024-01-31 14:30:00", "2024-02-01 00:05:00"]),
    (["31/01/2024 14:30", "13/02/2024 09:05"], "%d/%m/%Y %H:%M",
     ["2024-01-31 14:30:00", "2024-02-13 09:05:00"]),
    (["31.01.2024 14:30:15", "01.02.2024 09:05:00"], "%d.%m.%Y %H:%M:%S",
     ["2024-01-31 14:30:15", "2024-02-01 09:05:00"]),
    # May is its own short name: both readings agree, so this is no ambiguity
    (["1 May 2024", "15 May 2024"], "%d %b %Y", ["2024-05-01 00:00:00", "2024-05-15 00:00:00"]),
])
def test_the_one_common_format_every_value_fits_is_used_and_reported(wh, tmp_path, values, fmt,
                                                                    expected):
    r = load_file(wh, "order_lines", write(tmp_path, values))
    assert (r.loaded, r.quarantined) == (len(values), 0)
    assert stamps(wh) == expected
    assert any(n.startswith(f"ts read as {fmt} (the only common format every value")
               for n in r.notes), r.notes


def test_iso_needs_no_note(wh, tmp_path):
    r = load_file(wh, "order_lines", write(tmp_path, ["2024-05-31", "2024-06-01 10:00:00"]))
    assert r.loaded == 2
    assert not any("read as" in n for n in r.notes)


def test_dates_that_fit_day_first_and_month_first_stop_the_load(wh, tmp_path):
    path = write(tmp_path, ["01/02/2024", "03/04/2024", "12/11/2024"])
    with pytest.raises(DataValidationError) as err:
        load_file(wh, "order_lines", path)
    msg = str(err.value)
    assert "%d/%m/%Y" in msg and "%m/%d/%Y" in msg
    assert "--date-format" in msg
    assert any(v in msg for v in ("'01/02/2024'", "'03/04/2024'", "'12/11/2024'"))
    assert wh.duckdb.execute("SELECT count(*) FROM order_lines").fetchone()[0] == 0
    # the fix the message names works
    r = load_file(wh, "order_lines", path, options=LoadOptions(date_format="%m/%d/%Y"))
    assert stamps(wh)[0] == "2024-01-02 00:00:00" and r.loaded == 3


def test_time_stamps_that_fit_day_first_and_month_first_stop_the_load_too(wh, tmp_path):
    path = write(tmp_path, ["01/02/2024 2:30 PM", "03/04/2024 9:05 AM"])
    with pytest.raises(DataValidationError) as err:
        load_file(wh, "order_lines", path)
    msg = str(err.value)
    assert "%d/%m/%Y %I:%M %p" in msg and "%m/%d/%Y %I:%M %p" in msg


def test_values_that_fit_no_common_format_are_quarantined_with_the_format_most_fit(wh, tmp_path):
    r = load_file(wh, "order_lines", write(tmp_path, ["20240101", "20240102", "2024/01/03",
                                                      "20240104"]))
    assert (r.loaded, r.quarantined) == (3, 1)
    [(row, col, why, raw)] = quarantine(wh)
    assert (row, col, raw["ts"]) == (3, "ts", "2024/01/03")
    assert "20240531" in why and "%Y%m%d" in why and "--date-format" in why
    note = next(n for n in r.notes if n.startswith("ts read as %Y%m%d"))
    assert "3 of 4" in note and "2024/01/03" in note


def test_a_column_of_two_formats_is_read_in_one_and_the_others_are_quarantined(wh, tmp_path):
    r = load_file(wh, "order_lines", write(tmp_path, ["2024-05-31", "31/05/2024"]))
    assert (r.loaded, r.quarantined) == (1, 1)
    assert [raw["ts"] for *_, raw in quarantine(wh)] == ["31/05/2024"]
    assert any("ts read as ISO 8601" in n and "1 of 2" in n for n in r.notes)


def test_a_wrong_explicit_format_says_which_format_it_expected(wh, tmp_path):
    r = load_file(wh, "order_lines", write(tmp_path, ["02/01/1997", "19970102"]),
                  options=LoadOptions(date_format="%d/%m/%Y"))
    assert (r.loaded, r.quarantined) == (1, 1)
    assert r.reasons == {"ts: expected a timestamp matching --date-format '%d/%m/%Y'": 1}


@pytest.mark.parametrize(("value", "utc"), [
    ("2024-05-31T10:00:00+02:00", "2024-05-31 08:00:00"),
    ("2024-05-31 10:00:00-05:30", "2024-05-31 15:30:00"),
    ("2024-05-31T10:00:00.250+0200", "2024-05-31 08:00:00.250000"),
    ("2024-05-31T00:30:00+02", "2024-05-30 22:30:00"),
    ("2024-05-31T10:00:00Z", "2024-05-31 10:00:00"),
    ("2024-05-31T10:00:00", "2024-05-31 10:00:00"),
    ("2024-05-31 10:00:00.5", "2024-05-31 10:00:00.500000"),
    (" 2024-05-31 ", "2024-05-31 00:00:00"),
])
def test_utc_offsets_are_converted_to_naive_utc(wh, tmp_path, value, utc):
    r = load_file(wh, "order_lines", write(tmp_path, [value]))
    assert r.loaded == 1, r.reasons
    assert stamps(wh) == [utc]


def test_an_explicit_format_with_an_offset_converts_it(wh, tmp_path):
    path = write(tmp_path, ["31/05/2024 10:00 +0200", "31/05/2024 10:00 -0100"])
    r = load_file(wh, "order_lines", path,
                  options=LoadOptions(date_format="%d/%m/%Y %H:%M %z"))
    assert r.loaded == 2
    assert stamps(wh) == ["2024-05-31 08:00:00", "2024-05-31 11:00:00"]


def test_implausible_dates_are_quarantined_with_the_rule_and_the_fix(wh, tmp_path):
    soon = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%d")
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    path = write(tmp_path, ["2024-05-31", "9999-12-31", "1899-12-31", soon, today])
    r = load_file(wh, "order_lines", path)
    assert (r.loaded, r.quarantined) == (2, 3)
    got = {raw["ts"]: why for _, col, why, raw in quarantine(wh)}
    assert got["9999-12-31"] == got[soon] == (
        "date after the load time plus one day (pass --allow-future to keep future dates)")
    assert "before 1900-01-01" in got["1899-12-31"]
    # the period ends with the real data, not in 9999
    assert wh.duckdb.execute("SELECT max(ts) FROM order_lines").fetchone()[0].year < 9999


def test_allow_future_keeps_future_dates(wh, tmp_path):
    soon = (datetime.now(UTC) + timedelta(days=40)).strftime("%Y-%m-%d")
    r = load_file(wh, "order_lines", write(tmp_path, [soon, "1850-01-01"]),
                  options=LoadOptions(allow_future=True))
    assert (r.loaded, r.quarantined) == (1, 1)
    assert stamps(wh) == [f"{soon} 00:00:00"]


def test_a_calendar_of_events_may_hold_future_dates(wh, tmp_path):
    nxt = datetime.now(UTC).year + 1
    path = tmp_path / "events.csv"
    path.write_text(f"kind,region,start,end\nholiday,north,{nxt}-12-24,{nxt}-12-27\n")
    assert load_file(wh, "context_events", path).loaded == 1


def test_typed_parquet_time_stamps_with_a_zone_become_utc_and_are_checked(wh, tmp_path):
    path = tmp_path / "o.parquet"
    ts = pa.array([datetime(2024, 5, 31, 10, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=UTC)],
                  pa.timestamp("us", tz="Europe/Paris"))
    pq.write_table(pa.table({"order_id": ["o0", "o1"], "customer_id": ["c1", "c1"],
                             "product_id": ["p1", "p1"], "ts": ts, "quantity": [1, 1],
                             "revenue": [1.0, 2.0]}), path)
    r = load_file(wh, "order_lines", path)
    assert (r.loaded, r.quarantined) == (1, 1)
    assert stamps(wh) == ["2024-05-31 10:00:00"]
