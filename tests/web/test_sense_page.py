"""The "Sense & respond" page and the overview's funnel tile: empty, then filled by events
posted through ``POST /api/v1/events`` (planted stages: a cart add means deciding, a product
view considering, a complaint at risk), and the published at-risk insight."""

from __future__ import annotations

import re
from typing import Any

from outsidein.services.publish import publish_analysis_insights
from outsidein.services.sense.analysis import run_sense_analysis

#: stage -> (event type that is its clue, customers planted)
PLANTED = {"deciding": ("cart_add", 5), "considering": ("product_view", 3),
           "at_risk": ("complaint", 2)}


def _events() -> list[dict[str, Any]]:
    out = []
    for stage, (typ, n) in PLANTED.items():
        for i in range(n):
            out.append({"event_id": f"{stage}-{i}", "customer_id": f"{stage.upper()}{i}",
                        "ts": "2026-03-02T10:00:00+01:00", "channel": "web", "type": typ})
    return out


def _funnel_row(html: str, stage: str) -> str:
    m = re.search(rf'<tr data-stage="{stage}">(.*?)</tr>', html, re.S)
    assert m, f"no funnel row for {stage}"
    return m.group(1)


def test_empty_workspace_says_how_to_fill_the_page(site: Any) -> None:
    viewer = site.login("viewer")
    r = viewer.get("/sense")
    assert r.status_code == 200, r.text
    assert "No customer events yet" in r.text
    assert "outsidein sense replay" in r.text and "POST /api/v1/events" in r.text
    assert 'href="/sense"' in r.text  # the nav offers the page to a viewer
    tile = re.search(r'id="panel-stage_funnel">(.*?)</section>', viewer.get("/").text, re.S)
    assert tile and "no customer events yet" in tile.group(1)
    assert not run_sense_analysis(site.ws).insights()  # nothing to publish, no error


def test_posted_events_fill_the_funnel_with_the_planted_counts(site: Any) -> None:
    api = site.client(headers={"Authorization": f"Bearer {site.api_key('events:write')}"})
    r = api.post("/api/v1/events", json=_events())
    assert r.status_code == 200 and r.json()["applied"] == 10, r.text
    page = site.login("viewer").get("/sense")
    assert page.status_code == 200
    html = page.text
    assert "10 customers sensed from 10 events" in html
    for stage, (_, n) in PLANTED.items():
        row = _funnel_row(html, stage)
        assert f'<td class="num">{n}</td>' in row, row
    assert '<td class="num">0</td>' in _funnel_row(html, "loyal")
    assert 'data-figure="fig-sense-funnel"' in html
    # decisions: one per event, as many messages as the engine chose; no lift without outcomes
    chosen = sum(1 for x in r.json()["results"] if x["decision"]["action"])
    assert 0 < chosen <= 10
    assert f"10 decisions for 10 customers; {chosen} messages chosen" in html
    assert "no outcomes yet: outcome events (click, purchase) arrive through" in html
    assert "How this was computed" in html


def test_overview_tile_shows_the_funnel(site: Any) -> None:
    html = site.login("member").get("/").text
    tile = re.search(r'id="panel-stage_funnel">(.*?)</section>', html, re.S)
    assert tile, "no funnel tile"
    text = tile.group(1)
    assert "10 customers" in text
    assert "deciding 5 (50%)" in text and "considering 3 (30%)" in text
    assert "at risk 2 (20%)" in text and 'href="/sense"' in text


def test_at_risk_customers_are_published_as_an_insight(site: Any) -> None:
    published = publish_analysis_insights(site.ws, {"sense": run_sense_analysis(site.ws)})
    assert [p["key"] for p in published] == ["sense.at_risk"]
    page = site.login("member").get(f"/insights/{published[0]['id']}")
    assert page.status_code == 200
    assert "2 customers are at risk right now: send them a retention message" in page.text


def test_what_the_engine_learned_is_shown_per_stage_and_message(site: Any) -> None:
    api = site.client(headers={"Authorization": f"Bearer {site.api_key('events:write')}"})
    carts = [{"event_id": f"learn-{i}", "customer_id": f"LEARN{i}", "channel": "web",
              "ts": "2026-03-03T10:00:00+00:00", "type": "cart_add"} for i in range(20)]
    sent = [x for x in api.post("/api/v1/events", json=carts).json()["results"]
            if x["decision"]["action"]]
    assert sent
    clicks = [{"event_id": f"learn-{x['index']}-click", "customer_id": f"LEARN{x['index']}",
               "channel": "email", "ts": "2026-03-03T11:00:00+00:00", "type": "email_click"}
              for x in sent]
    assert api.post("/api/v1/events", json=clicks).status_code == 200
    html = site.login("viewer").get("/sense").text
    assert "What the engine has learned" in html
    table = re.search(r'id="learned-table".*?</table>', html, re.S)
    assert table, "no learned table"
    action = sent[0]["decision"]["action"]
    row = re.search(rf"<tr><td>deciding</td><td>{action}</td>(.*?)</tr>", table.group(0))
    assert row, table.group(0)[:500]
    n = sum(1 for x in sent if x["decision"]["action"] == action)
    assert f'<td class="num">{n}</td><td class="num">{n}</td>' in row.group(1)  # all answered


def test_past_campaigns_show_response_rates_by_stage(site: Any, tmp_path: Any) -> None:
    from outsidein.services.data import load_file

    html = site.login("viewer").get("/sense").text
    assert "No past campaigns loaded" in html and "outsidein load campaign_contacts" in html
    (tmp_path / "campaigns.csv").write_text(
        "campaign_id,name,kind,channel,message,start\n"
        "K1,Spring sale,push,email,spring_sale,2026-03-04 09:00\n")
    rows = ["campaign_id,customer_id,ts,channel,responded,propensity"]
    for stage, (_, n) in PLANTED.items():  # the customers sensed in the test above
        rows += [f"K1,{stage.upper()}{i},2026-03-04 09:00,email,"
                 f"{'true' if stage == 'deciding' else 'false'},0.5" for i in range(n)]
    (tmp_path / "contacts.csv").write_text("\n".join(rows) + "\n")
    assert load_file(site.ws, "campaigns", tmp_path / "campaigns.csv").loaded == 1
    assert load_file(site.ws, "campaign_contacts", tmp_path / "contacts.csv").loaded == 10
    html = site.login("viewer").get("/sense").text
    table = re.search(r'id="campaign-stage-table".*?</table>', html, re.S)
    assert table, html[-2000:]
    assert re.search(r"<td>deciding</td><td class=\"num\">5</td><td class=\"num\">5</td>"
                     r"<td class=\"num\">100.0%</td>", table.group(0)), table.group(0)
    assert re.search(r"<td>at risk</td><td class=\"num\">2</td><td class=\"num\">0</td>",
                     table.group(0))
    assert "Spring sale" in html
