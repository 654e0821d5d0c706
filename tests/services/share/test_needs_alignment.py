"""Unmet needs ranked by opportunity; the alignment matrix; CSV import; HTML and PDF export."""

from __future__ import annotations

import re

import pytest

from outsidein.errors import ConflictError, DataValidationError
from outsidein.services.share import (
    add_item,
    add_need,
    alignment_review,
    import_items_csv,
    list_items,
    opportunity_score,
    ranked_needs,
    update_need,
)
from outsidein.store.db import session_scope

NEEDS = [  # code, title, importance, satisfaction -> opportunity
    ("N1", "Know when my order arrives", 9.0, 3.0),   # 15
    ("N2", "Reach a person quickly", 8.0, 7.0),       # 9
    ("N3", "Fair returns", 7.0, 2.0),                 # 12
    ("N4", "Nice packaging", 4.0, 6.0),               # 4
    ("N5", "Advice before buying", 8.0, 4.0),         # 12
]


def _register(s) -> None:
    for code, title, imp, sat in NEEDS:
        add_need(s, code=code, title=title, importance=imp, satisfaction=sat,
                 evidence={"complaints": 10, "interactions": 200,
                           "survey_answers": ["late again"], "advocate_notes": "top issue"})


def test_needs_rank_by_opportunity_importance_then_code(store_url):
    with session_scope(store_url) as s:
        _register(s)
        auto = add_need(s, title="Pay by invoice", importance=2, satisfaction=1)
        ranked = ranked_needs(s)
        top3 = ranked_needs(s, top=3)
        with pytest.raises(ConflictError, match="N1 already exists"):
            add_need(s, code="N1", title="dup", importance=1, satisfaction=1)
        with pytest.raises(DataValidationError, match="importance 11"):
            add_need(s, title="x", importance=11, satisfaction=1)
        with pytest.raises(DataValidationError, match="complaints"):
            add_need(s, title="x", importance=1, satisfaction=1, evidence={"complaints": -3})
    assert auto.code == "N6" and auto.opportunity == 3.0
    # N5 and N3 tie on opportunity 12: the more important need (N5) ranks first
    assert [n.code for n in ranked] == ["N1", "N5", "N3", "N2", "N4", "N6"]
    assert [n.opportunity for n in ranked[:5]] == [15.0, 12.0, 12.0, 9.0, 4.0]
    assert [n.code for n in top3] == ["N1", "N5", "N3"]
    assert ranked[0].evidence["advocate_notes"] == ["top issue"]
    assert opportunity_score(6, 8) == 6.0


def test_update_need_changes_its_rank(store_url):
    with session_scope(store_url) as s:
        _register(s)
        update_need(s, "N4", importance=10, satisfaction=1)
        assert ranked_needs(s, top=1)[0].code == "N4"


def test_alignment_matrix_classifies_each_need_and_function(store_url, tmp_path):
    with session_scope(store_url) as s:
        _register(s)
        add_item(s, kind="plan", title="Live delivery tracking", owner="product",
                 needs="N1;N3:partial")
        add_item(s, kind="message", title="Know where your parcel is", owner="marketing",
                 needs={"N1": "full"})
        add_item(s, kind="training", title="Delivery promises", owner="sales",
                 needs={"N1": "partial", "N4": "full"})
        add_item(s, kind="message", title="Gorgeous boxes", owner="marketing", needs=["N4"])
        add_item(s, kind="training", title="Returns script", needs="N3")
        review = alignment_review(s, top=3)  # N1, N5, N3
    status = {(r.need.code, c.kind): c.status for r in review.rows for c in r.cells}
    assert status == {
        ("N1", "plan"): "addressed", ("N1", "message"): "addressed", ("N1", "training"): "partly",
        ("N3", "plan"): "partly", ("N3", "message"): "missed", ("N3", "training"): "addressed",
        ("N5", "plan"): "missed", ("N5", "message"): "missed", ("N5", "training"): "missed",
    }
    rows = {r.need.code: r for r in review.rows}
    assert rows["N3"].disconnected and not rows["N1"].disconnected
    assert rows["N5"].status == "missed" and rows["N1"].status == "mixed"
    assert [i.title for i in review.off_target] == ["Gorgeous boxes"]
    assert review.cell("N1", "training").partial == ("Delivery promises",)
    assert review.counts == {"addressed": 3, "partly": 2, "missed": 4, "aligned_needs": 0,
                             "disconnected_needs": 1, "unaddressed_needs": 1}
    d = review.to_dict()
    assert [r["need"]["code"] for r in d["rows"]] == ["N1", "N5", "N3"]
    assert d["rows"][2]["disconnected"] is True and d["counts"]["missed"] == 4
    page = review.to_html()
    assert "Of the top 3 customer needs" in page and "Gorgeous boxes" in page
    n3 = re.search(r'<tr data-need="N3">(.*?)</tr>', page, re.S).group(1)
    assert re.findall(r'<td class="(addressed|partly|missed)"', n3) == ["partly", "missed",
                                                                        "addressed"]
    assert "disconnect" in n3
    assert "<script" not in page and "http" not in page.split("</style>")[0]


def test_alignment_html_escapes_item_titles(sqlite_url):
    with session_scope(sqlite_url) as s:
        add_need(s, code="N1", title="<b>bold</b> need", importance=5, satisfaction=5)
        add_item(s, kind="plan", title="<script>alert(1)</script>", needs="N1")
        page = alignment_review(s).to_html()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_csv_import_reports_every_bad_row_and_imports_nothing(store_url, tmp_path):
    bad = tmp_path / "items.csv"
    bad.write_text("kind,title,owner,needs\n"
                   "plan,Tracking,product,N1;N3:partial\n"
                   "poster,Big poster,marketing,N1\n"
                   "message,,marketing,N1\n"
                   "training,Returns,sales,N9\n"
                   "plan,Returns,product,N3:mostly\n", encoding="utf-8")
    with session_scope(store_url) as s:
        _register(s)
    with session_scope(store_url) as s:
        with pytest.raises(DataValidationError) as info:
            import_items_csv(s, bad)
        assert list_items(s) == []
    msg = str(info.value)
    assert "4 bad row(s), nothing imported" in msg
    assert "row 3: kind 'poster'" in msg and "row 4: title is empty" in msg
    assert "row 5: need 'N9' is not in the needs register" in msg
    assert "row 6: need reference 'N3:mostly'" in msg
    missing = tmp_path / "nocol.csv"
    missing.write_text("kind,title\nplan,x\n", encoding="utf-8")
    with session_scope(store_url) as s, pytest.raises(DataValidationError, match="missing column"):
        import_items_csv(s, missing)


def test_csv_import_creates_then_updates_items(store_url, tmp_path):
    good = tmp_path / "items.csv"
    good.write_text("\ufeffkind,title,owner,needs\nplan,Tracking,product,N1;N3:partial\n"
                    "training,Returns script,sales,N3\n\n", encoding="utf-8")
    with session_scope(store_url) as s:
        _register(s)
        first = import_items_csv(s, good)
        good.write_text("kind,title,owner,needs\nplan,Tracking,product,N5\n", encoding="utf-8")
        second = import_items_csv(s, good)
        items = {i.title: i for i in list_items(s)}
    assert (first.created, first.updated, second.created, second.updated) == (2, 0, 0, 1)
    assert [(ln.code, ln.coverage) for ln in items["Tracking"].needs] == [("N5", "full")]


def test_alignment_review_prints_to_pdf_with_chromium(sqlite_url, tmp_path, chromium_path):
    with session_scope(sqlite_url) as s:
        _register(s)
        add_item(s, kind="plan", title="Live delivery tracking", needs="N1")
        pdf = alignment_review(s, top=5).to_pdf(tmp_path / "out" / "alignment.pdf",
                                                chromium=chromium_path)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 2000
