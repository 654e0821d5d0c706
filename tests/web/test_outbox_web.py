"""The outbox in the web app: ``GET /api/v1/outbox`` for the engineers, the "Messages on
their way" card on the Sense & respond page for everyone, with the failures and what to do."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from outsidein.store.db import session_scope
from outsidein.store.models.sense import Delivery


def _queue(site: Any) -> None:
    now = datetime.utcnow().replace(microsecond=0)  # noqa: DTZ003 (the store's naive UTC)
    rows = [("C1", "email", "sent", None), ("C2", "email", "failed", "HTTP 404: not found"),
            ("C3", "call_center", "pending", None), ("C4", "web", "held",
                                                      "held: add [sense] brand")]
    with session_scope(site.ws.store_url) as s:
        for i, (cust, channel, status, error) in enumerate(rows):
            s.add(Delivery(customer_id=cust, action="offer", channel=channel,
                           send_at=now - timedelta(hours=2), payload={},
                           idempotency_key=f"k-outbox-{i}", status=status,
                           next_attempt_at=now - timedelta(hours=2), last_error=error))


def test_the_outbox_api_and_card_show_failures_and_what_to_do(site: Any) -> None:
    _queue(site)
    anon = site.client()
    assert anon.get("/api/v1/outbox").status_code == 401
    key = site.api_key("value:read")
    r = site.client(headers={"Authorization": f"Bearer {key}"}).get(
        "/api/v1/outbox", params={"problems": 5})
    assert r.status_code == 200, r.text
    got = r.json()
    by = {c["channel"]: c for c in got["channels"]}
    assert by["email"]["sent"] == 1 and by["email"]["failed"] == 1
    assert by["call_center"]["due_now"] == 1 and by["call_center"]["webhook"] is False
    assert {p["customer_id"] for p in got["problems"]} == {"C2", "C4"}
    assert any("requeue" in a for a in got["advice"])
    assert any("call_center messages wait for a webhook" in a for a in got["advice"])
    bad = site.client(headers={"Authorization": f"Bearer {key}"}).get(
        "/api/v1/outbox", params={"problems": -1})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith(
        "application/problem+json")
    page = site.login("member").get("/sense")
    assert page.status_code == 200
    html = page.text
    assert 'id="sense-outbox"' in html and "Messages on their way" in html
    assert "HTTP 404: not found" in html and "outsidein sense requeue" in html
    assert 'href="/customers/C2"' in html
