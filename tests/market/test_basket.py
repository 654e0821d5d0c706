"""``outsidein market basket``: rules a user can check by hand, the same itemsets and rules
as a brute-force count of every basket's subsets, the documented JSON, and a clear error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from itertools import combinations
from pathlib import Path

import duckdb
import ibis
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from outsidein.cli import app as cli
from outsidein.cli import main
from outsidein.market.basket import AssociationRules
from outsidein.services.data import load_frame
from outsidein.services.market.basket import frequent_itemsets
from outsidein.workspace import Workspace

BASKETS = [["milk", "bread"], ["milk", "bread", "butter"], ["milk", "butter"], ["bread"],
           ["milk", "bread"]]


@pytest.fixture
def shop(tmp_path: Path) -> Workspace:
    ws = Workspace.init(tmp_path / "shop")
    load_frame(ws, "customers", pd.DataFrame({"customer_id": ["c1", "c2"]}), source="t")
    load_frame(ws, "products", pd.DataFrame({"product_id": ["milk", "bread", "butter"],
                                             "product_type": ["dairy", "bakery", "dairy"]}),
               source="t")
    rows = [{"order_id": f"o{i}", "customer_id": f"c{i % 2 + 1}", "product_id": p,
             "ts": pd.Timestamp("2024-03-01") + pd.Timedelta(days=i), "quantity": 1,
             "revenue": 2.0} for i, b in enumerate(BASKETS) for p in b]
    # a return is no purchase: it must not make bread and butter a pair
    rows.append({"order_id": "o3", "customer_id": "c2", "product_id": "butter",
                 "ts": pd.Timestamp("2024-03-04"), "quantity": -1, "revenue": -2.0})
    load_frame(ws, "order_lines", pd.DataFrame(rows), source="t")
    ws.close()
    return ws


def _run(ws: Workspace, *args: str) -> CliRunner:
    return CliRunner().invoke(cli, ["--workspace", str(ws.root), "market", "basket", *args])


def test_rules_checked_by_hand(shop: Workspace) -> None:
    # 5 baskets: milk 4, bread 4, butter 2, {milk, bread} 3, {milk, butter} 2
    r = _run(shop, "--min-support", "0.4", "--min-confidence", "0.5", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert (out["n_baskets"], out["n_itemsets"], out["n_rules"]) == (5, 5, 4)
    rules = {(tuple(x["antecedents"]), tuple(x["consequents"])): x for x in out["rules"]}
    assert set(rules) == {(("butter",), ("milk",)), (("milk",), ("butter",)),
                          (("bread",), ("milk",)), (("milk",), ("bread",))}
    b = rules[(("butter",), ("milk",))]          # 2/5, 2/2, 1/0.8, 0.4 - 0.4*0.8, (1-0.8)/0
    assert (b["support"], b["confidence"], b["lift"], b["leverage"], b["conviction"]) == \
        (0.4, 1.0, 1.25, 0.08, None)
    m = rules[(("milk",), ("butter",))]          # conf 2/4; conviction (1-0.4)/(1-0.5)
    assert (m["confidence"], m["lift"], m["conviction"]) == (0.5, 1.25, 1.2)
    br = rules[(("bread",), ("milk",))]          # conf 3/4; lift 0.75/0.8; lev 0.6 - 0.64
    assert (br["support"], br["confidence"], br["lift"], br["leverage"], br["conviction"]) == \
        (0.6, 0.75, 0.9375, -0.04, 0.8)
    assert out["rules"][0]["antecedents"] == ["butter"]   # highest lift, then confidence


def test_min_lift_and_product_types(shop: Workspace) -> None:
    out = json.loads(_run(shop, "--min-support", "0.4", "--min-lift", "1.0", "--json").output)
    assert {x["consequents"][0] for x in out["rules"]} == {"milk", "butter"}
    # as types: dairy in 4 baskets, bakery 4, both 3
    out = json.loads(_run(shop, "--by", "product_type", "--min-support", "0.4",
                          "--json").output)
    assert out["n_itemsets"] == 3
    assert {(r["antecedents"][0], r["confidence"]) for r in out["rules"]} == \
        {("dairy", 0.75), ("bakery", 0.75)}


def _table(ws: Workspace, columns: int) -> str:
    out = subprocess.run([sys.executable, "-m", "outsidein", "--workspace", str(ws.root),
                          "market", "basket", "--by", "product_type", "--min-support", "0.4"],
                         capture_output=True, text=True, env={**os.environ,
                                                              "COLUMNS": str(columns)},
                         timeout=300, check=True)
    return out.stdout


def test_the_table_keeps_ids_whole_on_a_narrow_terminal(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "deli")
    long = {"milk": "dairy_and_chilled_products_for_breakfast",
            "bread": "bakery_and_freshly_baked_morning_goods",
            "butter": "dairy_and_chilled_products_for_breakfast"}
    load_frame(ws, "customers", pd.DataFrame({"customer_id": ["c1"]}), source="t")
    load_frame(ws, "products", pd.DataFrame({"product_id": list(long),
                                             "product_type": list(long.values())}), source="t")
    load_frame(ws, "order_lines", pd.DataFrame(
        [{"order_id": f"o{i}", "customer_id": "c1", "product_id": p, "quantity": 1,
          "ts": pd.Timestamp("2024-03-01") + pd.Timedelta(days=i), "revenue": 2.0}
         for i, b in enumerate(BASKETS) for p in b]), source="t")
    ws.close()
    narrow = _table(ws, 80)
    assert "…" not in narrow  # folded onto more lines, never cut short
    cells = "".join(line.split("│")[1].strip() for line in narrow.splitlines()
                    if line.startswith("│"))  # the first column, its lines joined
    assert "bakery_and_freshly_baked_morning_goods" in cells
    assert "lift" in narrow and "conviction" not in narrow.split("leverage and")[0]
    assert "leverage and conviction: --json" in narrow
    wide = _table(ws, 160)
    assert "bakery_and_freshly_baked_morning_goods" in wide and "conviction" in wide
    assert "leverage and conviction: --json" not in wide


def test_bad_support_is_one_line_exit_2(shop: Workspace,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--workspace", str(shop.root), "market", "basket", "--min-support", "2"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--min-support must lie in (0, 1]" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def _brute(baskets: list[list[int]], min_count: int, max_length: int) -> dict[tuple[int, ...], int]:
    counts: Counter[tuple[int, ...]] = Counter()
    for b in baskets:
        for k in range(1, min(max_length, len(b)) + 1):
            counts.update(combinations(sorted(b), k))
    return {s: n for s, n in counts.items() if n >= min_count}


@pytest.mark.parametrize(("in_memory_rows", "cells"), [(None, None), (0, None), (0, 500)],
                         ids=["in-memory", "warehouse", "warehouse-by-chunks"])
def test_same_itemsets_and_rules_as_brute_force(in_memory_rows: int | None, cells: int | None,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # small inputs are counted in memory after one query; larger ones in the warehouse
    # (items and pairs) and from pulled rows (longer itemsets, whose baskets are laid out
    # by chunks when many): all must be exact
    from outsidein.market import itemsets

    if cells is not None:
        monkeypatch.setattr(itemsets._Grower, "CELLS", cells)
    rng = np.random.default_rng(5)
    pop = 1 / np.arange(1, 31) ** 0.7
    baskets = [sorted(set(rng.choice(30, rng.integers(1, 9), p=pop / pop.sum()).tolist()))
               for _ in range(3000)]
    con = duckdb.connect()
    frame = pd.DataFrame([(i, f"i{x:02d}") for i, b in enumerate(baskets) for x in b],
                         columns=["basket", "item"])
    con.register("bi", frame)
    items = ibis.duckdb.from_connection(con).table("bi")
    itemsets, n = frequent_itemsets(items, min_support=0.01, max_length=5,
                                    in_memory_rows=in_memory_rows)
    truth = _brute(baskets, 30, 5)          # 1% of 3,000 baskets
    frame = itemsets.to_pandas()
    got = {tuple(int(s[1:]) for s in i): c for i, c in zip(frame["items"], frame["count"],
                                                           strict=True)}
    assert got == truth
    assert max(len(s) for s in truth) >= 4
    rules = AssociationRules(min_confidence=0.3).fit(itemsets, n).rules_
    want = {}
    for s, c in truth.items():
        for cons in s if len(s) > 1 else ():
            ante = tuple(x for x in s if x != cons)
            conf = c / truth[ante]
            if conf >= 0.3:
                want[(ante, (cons,))] = (c / n, conf, conf / (truth[(cons,)] / n))
    have = {(tuple(int(x[1:]) for x in a), tuple(int(x[1:]) for x in c)): (s, f, li)
            for a, c, s, f, li in zip(rules.antecedents, rules.consequents, rules.support,
                                      rules.confidence, rules.lift, strict=True)}
    assert set(have) == set(want)
    for key, vals in want.items():
        assert have[key] == pytest.approx(vals, rel=1e-12)


def test_in_memory_counts_match_brute_force() -> None:
    # the in-memory counter, with a duplicate row (counted once) and baskets of up to 11
    # items (itemsets of 5 and more)
    from outsidein.market import basket as engine

    rng = np.random.default_rng(11)
    pop = 1 / np.arange(1, 26) ** 0.8
    baskets = [sorted(set(rng.choice(25, rng.integers(1, 12), p=pop / pop.sum()).tolist()))
               for _ in range(1500)]
    b = np.array([i for i, x in enumerate(baskets) for _ in x] + [0, 0])
    i = np.array([y for x in baskets for y in x] + baskets[0][:1] * 2)   # a duplicate row
    got = {tuple(r): int(n) for codes, counts in engine.itemset_levels(
        b, i, min_count=15, max_length=6) for r, n in zip(codes.tolist(), counts.tolist(),
                                                          strict=True)}
    assert got == _brute(baskets, 15, 6)
    assert max(map(len, got)) >= 5


@pytest.mark.validation
def test_groceries_as_published(tmp_path: Path) -> None:
    """Groceries (9,835 baskets), support 0.001, confidence 0.5: 13,492 itemsets, 5,668 rules,
    top lift {Instant food products, soda} => {hamburger meat} 18.99565 (FIELD-NOTES: mlxtend,
    pyfim and efficient-apriori agree)."""
    from conftest import reference_data_dir

    path = reference_data_dir() / "groceries" / "groceries.csv"
    if not path.exists():
        pytest.skip(f"{path} not found (Groceries is not in ../shared/data yet)")
    lines = [ln.strip().split(",") for ln in path.read_text().splitlines() if ln.strip()]
    con = duckdb.connect()
    con.register("bi", pd.DataFrame([(i, x) for i, b in enumerate(lines) for x in set(b)],
                                    columns=["basket", "item"]))
    itemsets, n = frequent_itemsets(ibis.duckdb.from_connection(con).table("bi"),
                                    min_support=0.001, max_length=10)
    rules = AssociationRules(min_confidence=0.5).fit(itemsets, n).rules_
    assert (n, len(itemsets), len(rules)) == (9835, 13492, 5668)
    top = rules.iloc[0]
    assert (set(top.antecedents), top.consequents) == ({"Instant food products", "soda"},
                                                       ("hamburger meat",))
    assert round(top.lift, 5) == 18.99565
