"""Reading any delimited text: whitespace, delimiters, no header, encodings, gzip, headers."""

from __future__ import annotations

import codecs
import gzip
import json
from pathlib import Path

import duckdb
import pytest

from outsidein.errors import DataValidationError
from outsidein.warehouse import _stage
from outsidein.warehouse.engine import Warehouse
from outsidein.warehouse.load import LoadReport, load_file
from outsidein.warehouse.options import LoadOptions

CDNOW = Path(__file__).resolve().parents[3] / "shared" / "data" / "cdnow" / "CDNOW_master.txt"


@pytest.fixture
def wh() -> Warehouse:
    return Warehouse.open("duckdb", root=Path("."), path=Path(":memory:"))


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_bytes(text.encode("utf-8"))
    else:
        path.write_bytes(text)
    return path


def load(wh: Warehouse, path: Path, table: str = "customers", **options) -> LoadReport:
    return load_file(wh, table, path, options=LoadOptions(**options))


def rows(wh: Warehouse, sql: str) -> list[tuple]:
    return wh.duckdb.execute(sql).fetchall()


def customers(wh: Warehouse) -> list[tuple]:
    return rows(wh, "SELECT customer_id, region, nps FROM customers ORDER BY customer_id")


def nothing_loaded(wh: Warehouse) -> bool:
    return rows(wh, "SELECT (SELECT count(*) FROM customers) + (SELECT count(*) FROM loads) "
                    "+ (SELECT count(*) FROM quarantine)") == [(0,)]


# -- whitespace-separated files -----------------------------------------------------------

def test_whitespace_separated_file_with_padding_tabs_and_crlf_is_detected(wh, tmp_path):
    path = write(tmp_path, "c.txt", " customer_id  region\tnps\r\n"
                                    "   c1    north   9\r\n"
                                    "\tc2\t\tsouth  10  \r\n")
    r = load(wh, path)
    assert (r.rows_read, r.loaded, r.quarantined) == (2, 2, 0)
    assert customers(wh) == [("c1", "north", 9), ("c2", "south", 10)]


def test_a_whitespace_line_with_a_wrong_field_count_is_quarantined_with_its_row(wh, tmp_path):
    path = write(tmp_path, "c.txt", "customer_id region nps\n"
                                    "c1 north 9\n"             # row 1
                                    "c2 south\n"               # row 2: a field short
                                    "\n"                       # row 3: blank, skipped
                                    "c4 east 3\n"              # row 4
                                    "c5 west 1 extra\n")       # row 5: a field too many
    r = load(wh, path)
    assert (r.rows_read, r.loaded, r.quarantined) == (4, 2, 2)
    got = rows(wh, 'SELECT row_number, "column", reason, raw FROM quarantine ORDER BY 1')
    assert [g[0] for g in got] == [2, 5]
    assert "2 fields where the header has 3" in got[0][2]
    assert "4 fields where the header has 3" in got[1][2]
    assert json.loads(got[1][3]) == {"line": "c5 west 1 extra"}
    assert [c[0] for c in customers(wh)] == ["c1", "c4"]


@pytest.mark.skipif(not CDNOW.is_file(), reason="the CDNOW file is not in ../shared/data")
def test_cdnow_master_is_read_as_four_columns_and_every_line():
    con = duckdb.connect()
    src = _stage.file_source(con, CDNOW, LoadOptions())
    try:
        assert list(src.columns) == ["customer_id", "date", "number_of_cds", "dollar_value"]
        assert src.rejects is None
        assert con.execute(f"SELECT count(*), max(_row) FROM {src.sql}").fetchone() == (
            69_659, 69_659)
        assert con.execute(f"SELECT * EXCLUDE (_row) FROM {src.sql} WHERE _row = 1"
                           ).fetchone() == ("00001", "19970101", "1", "11.77")
    finally:
        src.close()


# -- chosen delimiters ----------------------------------------------------------------------

@pytest.mark.parametrize(("char", "given"), [
    (";", ";"), ("|", "pipe"), ("\t", "tab"), ("\t", "\\t"), (",", "Comma"), ("^", "^"),
    (" ", "whitespace"), (" ", "space"), (" ", " "),
])
def test_a_given_delimiter_is_used(wh, tmp_path, char, given):
    path = write(tmp_path, "c.txt", char.join(["customer_id", "region", "nps"]) + "\n"
                                    + char.join(["c1", "north", "7"]) + "\n")
    load(wh, path, delimiter=given)
    assert customers(wh) == [("c1", "north", 7)]


def test_a_given_delimiter_wins_over_detection(wh, tmp_path):
    path = write(tmp_path, "c.csv", "customer_id,region;nps\nc1,north;7\n")  # sniffed: ","
    load(wh, path, delimiter=";", mapping={"customer_id": "customer_id,region"})
    assert customers(wh) == [("c1,north", None, 7)]


@pytest.mark.parametrize("given", ["ab", '"', "\n"])
def test_a_delimiter_that_is_not_one_character_or_a_word_is_a_clear_error(wh, tmp_path, given):
    path = write(tmp_path, "c.csv", "customer_id\nc1\n")
    with pytest.raises(DataValidationError, match="expected one character .* or one of the "
                                                  "words comma, pipe, semicolon, space, tab"):
        load(wh, path, delimiter=given)


# -- header and column names ---------------------------------------------------------------

def test_no_header_with_columns_reads_the_first_line_as_row_1(wh, tmp_path):
    path = write(tmp_path, "c.csv", "c1,north,-1\nc2,south,8\n")
    r = load(wh, path, header=False, columns=("customer_id", "region", "nps"))
    assert (r.rows_read, r.loaded, r.quarantined) == (2, 1, 1)
    assert rows(wh, 'SELECT row_number, "column" FROM quarantine') == [(1, "nps")]
    assert customers(wh) == [("c2", "south", 8)]


def test_no_header_whitespace_file_reads_the_first_line(wh, tmp_path):
    path = write(tmp_path, "c.txt", "  c1  north 5\n  c2  south 6\n")
    load(wh, path, header=False, columns=("customer_id", "region", "nps"))
    assert customers(wh) == [("c1", "north", 5), ("c2", "south", 6)]


def test_no_header_without_columns_names_them_column_1_to_n(wh, tmp_path):
    path = write(tmp_path, "c.csv", "c1;north\nc2;south\n")
    load(wh, path, header=False, mapping={"customer_id": "column_1", "region": "column_2"})
    assert customers(wh) == [("c1", "north", None), ("c2", "south", None)]


@pytest.mark.parametrize(("header", "where"), [
    (False, "line 1 of c.csv has 2 fields"),
    (True, "the header of c.csv has 2 (customer_id, region)"),
])
def test_columns_of_another_count_than_the_file_is_a_clear_error(wh, tmp_path, header, where):
    path = write(tmp_path, "c.csv", "customer_id,region\nc1,north\n")
    with pytest.raises(DataValidationError) as err:
        load(wh, path, header=header, columns=("customer_id", "region", "nps"))
    assert str(err.value).startswith(f"--columns names 3 column(s) but {where}")
    assert nothing_loaded(wh)


def test_columns_with_a_header_rename_the_headers_columns(wh, tmp_path):
    path = write(tmp_path, "c.csv", "id,area\nc1,north\n")
    load(wh, path, columns=("customer_id", "region"))
    assert customers(wh) == [("c1", "north", None)]


@pytest.mark.parametrize(("header", "message"), [
    ("customer_id,sku,region,nps,sku", "the header names column 'sku' twice (columns 2 and 5"),
    ("customer_id,Region,region", "the header names column 'Region' and 'region' twice "
                                  "(columns 2 and 3"),
    ("customer_id,,region", "column 2 of the header has no name"),
])
def test_header_problems_name_the_column_not_duckdb(wh, tmp_path, header, message):
    path = write(tmp_path, "orders.csv", header + "\n" + ",".join("x" * header.count(",")) + "\n")
    with pytest.raises(DataValidationError) as err:
        load(wh, path)
    msg = str(err.value)
    assert msg.startswith(f"orders.csv: {message}") and "--columns" in msg
    assert "struct" not in msg and "zero-length" not in msg
    assert nothing_loaded(wh)


def test_a_duplicate_header_is_fixed_by_columns(wh, tmp_path):
    path = write(tmp_path, "c.csv", "customer_id,region,region\nc1,north,x\n")
    load(wh, path, columns=("customer_id", "region", "old_region"))
    assert customers(wh) == [("c1", "north", None)]


def test_a_header_read_as_one_column_says_which_delimiter_to_pass(wh, tmp_path):
    path = write(tmp_path, "CDNOW.txt", " customer_id  date number_of_cds  dollar_value\r\n"
                                        " 00001 19970101  1  11.77\r\n")
    with pytest.raises(DataValidationError) as err:
        load(wh, path, delimiter=",")
    assert str(err.value) == (
        "CDNOW.txt: the header was read as one column ' customer_id  date number_of_cds  "
        "dollar_value' with --delimiter comma; its lines split into 4 columns on whitespace: "
        "pass --delimiter whitespace")


def test_a_header_holding_a_delimiter_is_not_read_as_one_column(wh, tmp_path):
    path = write(tmp_path, "c.csv", "customer_id;region\nc1;north\n")
    with pytest.raises(DataValidationError, match="c.csv: the header was read as one column "
                                                  "'customer_id;region' with --delimiter comma"):
        load(wh, path, delimiter=",")


def test_a_one_column_file_whose_name_has_a_space_is_read(wh, tmp_path):
    path = write(tmp_path, "c.csv", "customer id\nc1\nc2\n")
    load(wh, path, mapping={"customer_id": "customer id"})
    assert [c[0] for c in customers(wh)] == ["c1", "c2"]


# -- encodings ------------------------------------------------------------------------------

TEXT = "customer_id,region\nc1,Zürich\nc2,São Paulo\n"


@pytest.mark.parametrize(("data", "encoding"), [
    (TEXT.encode("latin-1"), "latin-1"),
    (TEXT.replace("São Paulo", "€ zone “east”").encode("cp1252"), "cp1252"),
    (TEXT.replace("São Paulo", "€ zone “east”").encode("cp1252"), "windows-1252"),
    (TEXT.encode("utf-16"), "utf-16"),
    (TEXT.encode("utf-16"), None),                                          # byte-order mark
    (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16"),
    (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), None),
    (TEXT.encode("utf-8-sig"), None),
    ("customer_id region\nc1 Zürich\n".encode("cp1252"), "cp1252"),       # whitespace too
], ids=["latin-1", "cp1252", "windows-1252", "utf-16", "utf-16-bom", "utf-16-be",
        "utf-16-be-bom", "utf-8-bom", "cp1252-whitespace"])
def test_a_file_in_the_given_encoding_is_read_correctly(wh, tmp_path, data, encoding):
    load(wh, write(tmp_path, "c.csv", data), encoding=encoding)
    expected = TEXT.replace("São Paulo", "€ zone “east”") if b"\x80" in data else TEXT
    regions = [r[1] for r in customers(wh)]
    assert regions == [ln.split(",")[1] for ln in expected.splitlines()[1:]][:len(regions)]
    assert regions[0] == "Zürich"


@pytest.mark.parametrize(("data", "encoding", "fix"), [
    (TEXT.encode("latin-1"), None, "pass --encoding latin-1"),
    (TEXT.replace("São", "€").encode("cp1252"), None, "pass --encoding cp1252"),
    (TEXT.replace("São", "€").encode("cp1252"), "latin-1", "pass --encoding cp1252"),
], ids=["latin-1-as-utf-8", "cp1252-as-utf-8", "cp1252-as-latin-1"])
def test_a_file_not_in_its_encoding_is_one_clear_error(wh, tmp_path, data, encoding, fix):
    with pytest.raises(DataValidationError) as err:
        load(wh, write(tmp_path, "c.csv", data), encoding=encoding)
    assert fix in str(err.value)
    if encoding is None:
        assert str(err.value).startswith("c.csv: line 2 is not valid UTF-8 (byte 0xfc in 'c1,Z")
    assert nothing_loaded(wh)


def test_a_line_not_in_utf_8_after_the_first_256_kb_is_quarantined_with_the_fix(wh, tmp_path):
    good = "".join(f"c{i:05d},north\n" for i in range(30_000))
    path = write(tmp_path, "c.csv", f"customer_id,region\n{good}".encode()
                 + "cx,Zürich\ncy,south\n".encode("latin-1"))
    r = load(wh, path)
    assert (r.rows_read, r.loaded, r.quarantined) == (30_002, 30_001, 1)
    (row, reason), = rows(wh, "SELECT row_number, reason FROM quarantine")
    assert row == 30_001 and "pass --encoding" in reason


def test_an_unknown_encoding_is_a_clear_error(wh, tmp_path):
    with pytest.raises(DataValidationError, match="--encoding 'klingon' is not an encoding"):
        load(wh, write(tmp_path, "c.csv", TEXT), encoding="klingon")


# -- compressed files -----------------------------------------------------------------------

def gzipped_customers(n: int) -> bytes:
    lines = ["customer_id,region,nps", *(f"c{i:06d},r{i % 7},{i % 11}" for i in range(n))]
    return gzip.compress(("\n".join(lines) + "\n").encode())


def test_a_whole_gz_file_loads_every_row(wh, tmp_path):
    r = load(wh, write(tmp_path, "c.csv.gz", gzipped_customers(20_000)))
    assert (r.rows_read, r.loaded) == (20_000, 20_000)


@pytest.mark.parametrize("cut", [0.6, 0.999, 0.0])
def test_a_truncated_gz_file_is_one_clear_error_and_nothing_is_loaded(wh, tmp_path, cut):
    data = gzipped_customers(20_000)
    path = write(tmp_path, "c.csv.gz", data[:int(len(data) * cut)])
    with pytest.raises(DataValidationError) as err:
        load(wh, path)
    assert str(err.value).startswith("c.csv.gz is truncated or corrupt (gzip")
    assert "nothing loaded" in str(err.value)
    assert nothing_loaded(wh)


def test_a_file_named_gz_that_is_not_gzip_is_one_clear_error(wh, tmp_path):
    with pytest.raises(DataValidationError, match=r"c.csv.gz is truncated or corrupt \(gzip: "):
        load(wh, write(tmp_path, "c.csv.gz", TEXT))
    assert nothing_loaded(wh)
