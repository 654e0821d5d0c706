"""Words, not model terms (issue 11): labels a department head reads, with units; model
terms only behind "How this was computed".  Rows and figures are planted (tests/oi_tables.py).
"""

from __future__ import annotations

import html as html_lib
import re
from pathlib import Path
from typing import Any

import pytest
from jinja2 import Environment

from oi_tables import CONVERT_FIGURES, CUSTOMERS, VALUE_FIGURES, plant
from outsidein.config import Config, read_config, write_config
from outsidein.errors import ConfigError
from outsidein.web.labels import format_value, install, label

#: Labels seen on the pages before, which no department head reads.
RAW_TERMS = ("peak pct of total", "peak_pct_of_total", "tail destroys", "tail_destroys",
             "whatif", "n support", "n_support", "prob alive", "prob_alive", "auc", "brier",
             "recency", "frequency", "trained prospects", "held out prospects")


@pytest.fixture(scope="module")
def planted(site: Any) -> Any:
    plant(site.ws.root, site.ws.warehouse_path)
    return site


def _main_text(page: str) -> str:
    """What a reader sees without opening "How this was computed" (and no scripts)."""
    main = page.split("<main", 1)[1].split("</main>", 1)[0]
    main = re.sub(r"<details.*?</details>", " ", main, flags=re.S)
    main = re.sub(r"<(script|select|form)\b.*?</\1>", " ", main, flags=re.S)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", main))


def _details(page: str) -> str:
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", " ".join(
        re.findall(r"<details.*?</details>", page, flags=re.S))))


def test_units_money_percent_dates() -> None:
    assert format_value(5144805.2, "total_profit") == "$5,144,805"
    assert format_value(-267843.08, "loss", currency="EUR") == "−€267,843"
    assert format_value(31.615, "median_cost_to_serve", currency="GBP") == "£31.61"
    assert format_value(0.422932, "top_decile_share") == "42.3%"
    assert format_value(105.206088, "peak_pct_of_total") == "105.2%"
    assert format_value(0.9463, "prob_alive") == "95%"
    assert format_value(19193, "peak_customers") == "19,193"
    assert format_value("2026-11-28T10:00:00", "last_seen") == "2026-11-28"
    assert format_value(2.4738, "lift") == "2.5×"
    assert format_value(None, "clv") == ""
    assert format_value(1234.0, "clv", currency="CHF") == "CHF 1,234"
    # a name with no entry still reads as words, in a guessed unit
    assert label("repeat_share").text == "Repeat share" and label("repeat_share").unit == "percent"
    assert label("T").model and label("auc").model and label("recency").model
    assert not label("clv").model and label("prob_alive").text == "Chance still active"


def test_the_currency_comes_from_the_workspace(tmp_path: Path) -> None:
    assert read_config(_folder(tmp_path, None)).currency == "USD"
    assert read_config(_folder(tmp_path, "eur")).currency == "EUR"
    with pytest.raises(ConfigError, match="currency"):
        read_config(_folder(tmp_path, "euros"))
    env = Environment()
    install(env, "EUR")
    assert env.from_string("{{ fmt(1234.6, 'clv') }} {{ col_label('T') }}").render() == (
        "€1,235 Customer age (model units)")


def _folder(tmp_path: Path, currency: str | None) -> Path:
    folder = tmp_path / (currency or "default")
    folder.mkdir()
    write_config(folder, Config())
    if currency:
        text = (folder / "outsidein.toml").read_text()
        (folder / "outsidein.toml").write_text(
            text.replace("[analysis]\n", f'[analysis]\ncurrency = "{currency}"\n'))
    return folder


def test_answers_read_in_words(planted: Any) -> None:
    page = planted.login("member").get("/answers").text
    main = _main_text(page)
    for term in RAW_TERMS:
        assert not re.search(rf"\b{re.escape(term)}\b", main, re.I), term
    # figures in words and units
    assert "Profitable customers' profit, as % of total profit" in main
    assert f"{VALUE_FIGURES['peak_pct_of_total']:.1f}%" in main
    assert "Profit lost to loss-making customers" in main and "$267,843" in main
    assert f"${VALUE_FIGURES['total_profit']:,.0f}" in main
    assert f"{VALUE_FIGURES['top_decile_share'] * 100:.1f}%" in main
    assert "Profit gained if they cost the median to serve" in main
    assert f"{CONVERT_FIGURES['conversion_rate'] * 100:.1f}%" in main
    # the model's own figures are one click away, explained
    how = _details(page)
    assert "AUC" in how and f"{CONVERT_FIGURES['auc']:.2f}" in how
    assert "Brier" in how and "lower is better" in how
    assert "How this was computed" in page


def test_value_reads_in_words(planted: Any) -> None:
    page = planted.login("viewer").get("/value").text
    main = _main_text(page)
    for term in RAW_TERMS:
        assert not re.search(rf"\b{re.escape(term)}\b", main, re.I), term
    headers = re.findall(r'<th scope="col"[^>]*>(.*?)</th>', page, re.S)
    texts = [html_lib.unescape(re.sub(r"<[^>]+>", "", h)).strip(" ▲▼") for h in headers]
    assert "T" not in texts and "Chance still active" in texts and "Why" in texts
    top = max(CUSTOMERS, key=lambda r: r["clv"])
    assert f"${top['clv']:,.0f}" in main
    assert f"{top['prob_alive'] * 100:.0f}%" in main
    how = _details(page)
    assert "Customer age (model units)" in how and "not the time since they were last seen" in how
    everything = planted.login("viewer").get("/value", params={"cols": "all"}).text
    assert "Customer age (model units)" in _main_text(everything)
