"""One home for each rule: a return, margin and the saved five answers mean one thing everywhere.

Regressions for bugs the duplication caused: the CLV margin rate trusted the sign of
quantity and revenue while customer profit netted every line flagged ``is_return``; the
web app parsed ``results/five_questions.json`` with its own forgiving reader.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import ibis
import pandas as pd
import pytest

from outsidein.errors import DataValidationError
from outsidein.services.questions import read_answers, result_path
from outsidein.services.value import company_margin
from outsidein.value import customer_profit
from outsidein.warehouse.engine import Warehouse
from outsidein.workspace import Workspace

#: A sale, the return of it recorded with a positive quantity and a flag, and a second sale.
LINES = pd.DataFrame({
    "order_id": ["o1", "o2", "o3"], "customer_id": ["c1", "c1", "c1"],
    "product_id": ["p1", "p1", "p1"],
    "ts": pd.to_datetime(["2024-01-05", "2024-01-09", "2024-02-01"]),
    "quantity": [2, 2, 1], "revenue": [100.0, 100.0, 50.0], "discount": [0.0, 0.0, 5.0],
    "is_return": [False, True, False]})
PRODUCTS = pd.DataFrame({"product_id": ["p1"], "unit_cost": [20.0]})


@pytest.fixture
def wh(tmp_path: Path) -> Warehouse:
    w = Warehouse(con=ibis.duckdb.connect(), backend="duckdb", root=tmp_path)
    w.write_table("order_lines", LINES)
    w.write_table("products", PRODUCTS)
    return w


def test_a_flagged_return_with_positive_quantity_nets_in_clv_margin_and_profit(wh) -> None:
    profit = customer_profit(wh.table("order_lines"), wh.table("products")).execute()
    # 100 - 100 + 50 revenue, 5 discount, 20 x (2 - 2 + 1) cost of goods
    assert profit.revenue.sum() == pytest.approx(50.0)
    assert profit.margin.sum() == pytest.approx(25.0)
    m = company_margin(wh)
    assert m.revenue == pytest.approx(50.0) and m.cost == pytest.approx(20.0)
    assert m.rate == pytest.approx(profit.margin.sum() / profit.revenue.sum())  # 0.5, not 0.58


def test_a_sale_and_its_flagged_return_leave_no_margin(wh) -> None:
    wh.write_table("order_lines", LINES.iloc[:2])
    profit = customer_profit(wh.table("order_lines"), wh.table("products")).execute()
    assert profit.margin.sum() == pytest.approx(0.0)
    m = company_margin(wh)
    assert m.revenue == pytest.approx(0.0) and m.cost == pytest.approx(0.0)
    assert "no revenue" in m.note  # not a 0.6 margin rate on a sale that came back


def test_saved_answers_have_one_path_and_one_reader(workspace: Workspace) -> None:
    assert result_path(workspace) == workspace.root / "results" / "five_questions.json"
    assert read_answers(workspace) is None
    path = result_path(workspace)
    path.parent.mkdir(exist_ok=True)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(DataValidationError, match="not valid JSON.*outsidein answer"):
        read_answers(workspace)
    # the old web reader accepted a list of anything with a headline; the one reader says why not
    path.write_text(json.dumps([{"headline": "x"}]), encoding="utf-8")
    with pytest.raises(DataValidationError, match="'answers' object"):
        read_answers(workspace)
    path.write_text(json.dumps({"answers": {"value": {"headline": "h"}}}), encoding="utf-8")
    with pytest.raises(DataValidationError, match="answer 'value' has no question"):
        read_answers(workspace)


def test_the_reader_gives_back_what_answer_saved(workspace: Workspace) -> None:
    from outsidein.services.questions import FiveAnswers, missing_answer, save_answers

    a = missing_answer("advocates", "Who are our advocates?", "no referrals loaded",
                       ("marketing",), "answer_advocates")
    result = FiveAnswers((a,), datetime(2024, 1, 1), datetime(2024, 6, 30), 25,
                         datetime(2024, 7, 1))
    save_answers(workspace, result)
    stored = read_answers(workspace)
    assert stored["advocates"].missing_data == "no referrals loaded"
    assert stored.period == {"start": "2024-01-01T00:00:00", "end": "2024-06-30T00:00:00"}
    assert stored.to_dict()["answers"]["advocates"] == {**result.to_dict()["answers"][
        "advocates"], "plot": None}
