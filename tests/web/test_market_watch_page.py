"""The "Market watch" page, the overview's alerts tile and the report section: empty, then
filled by a saved watch with one alert."""

from __future__ import annotations

import html
import re
from typing import Any

from outsidein.report.sections.market_watch import market_watch_section
from outsidein.services.market.watch import Alert, WatchResult, save_watch


def _result() -> WatchResult:
    days = [f"2025-{m:02d}-{d:02d}" for m in range(6, 10) for d in range(1, 29)]
    series = [[d, 0.02 if d < "2025-08-04" else 0.01] for d in days]
    alert = Alert(kpi="repeat_rate", title="Repeat rate", segment="region=coast",
                  changed_at="2025-08-04", detected_at="2025-09-14", alarm_at="2025-08-11",
                  before=0.02, after=0.01,
                  relative=-0.5, direction="down", worse=True, unit="orders per customer",
                  freq="day", p_value=1e-9, cusum=14.0, departments=("marketing", "sales"),
                  evidence="Mean 0.02 before and 0.01 after.")
    kpi = {"kpi": "repeat_rate", "title": "Repeat rate", "unit": "orders per customer",
           "segment": "region=coast", "freq": "day", "series": series}
    calm = {**kpi, "segment": "all", "series": [[d, 0.02] for d in days]}
    return WatchResult(kpis=[kpi, calm], alerts=[alert], generated_at="2026-11-29T04:00:00")


def test_empty_workspace_says_how_to_watch(site: Any) -> None:
    viewer = site.login("viewer")
    r = viewer.get("/market/watch")
    assert r.status_code == 200, r.text
    assert "No result yet" in r.text and "outsidein market watch" in r.text
    tile = re.search(r'id="alerts">(.*?)</section>', viewer.get("/").text, re.S)
    assert tile and "no alerts yet" in tile.group(1)
    assert market_watch_section(site.ws) is None


def test_a_saved_alert_shows_in_words_plot_tile_and_report(site: Any) -> None:
    save_watch(site.ws, _result())
    viewer = site.login("viewer")
    page = viewer.get("/market/watch").text
    row = re.search(r'<tr class="worse">(.*?)</tr>', page, re.S)
    assert row, page
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))
    assert cells[:3] == ["Repeat rate", "region=coast", "2025-08-04"]
    assert "-50%" in cells[5] and "worse" in cells[5]
    assert "Mean 0.02 before and 0.01 after." in html.unescape(page)
    assert page.count('class="plotly-fig"') == 2  # the changed series and the calm one
    tile = re.search(r'id="alerts">(.*?)</section>', viewer.get("/").text, re.S)
    assert tile and "Repeat rate (region=coast) fell 50% from 2025-08-04" in tile.group(1)
    assert 'href="/market/watch"' in tile.group(1)
    section = market_watch_section(site.ws)
    assert section is not None and "1 changed" in section.summary
    assert "region=coast" in section.body_html and len(section.figures) == 1
