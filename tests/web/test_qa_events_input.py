"""QA (a marketing engineer wiring the events API in, with mistakes): what a client gets
back for each mistake is a 4xx problem that names the field and says how to fix it.

Found: a ``timezone`` attribute no one knows was a 500 (and every later event of that
customer, and every batch holding one, too); a ``consent`` that was not a list of channels
was silently dropped; the errors spoke pydantic ("instance of EventBody", "should match
pattern '^[^\\x00-\\x1f]*$'", "Extra inputs are not permitted", "Value error, ..."); a batch
wrapped as ``{"events": [...]}`` was read as one event missing every field; a ``ts`` of
digits ("20260302") was read as seconds since 1970 and applied as 1970-08-23.
"""

from __future__ import annotations

from typing import Any

import httpx


def _event(eid: str, customer: str = "Q1", **kw: Any) -> dict[str, Any]:
    return {"event_id": eid, "customer_id": customer, "ts": "2026-03-02T10:00:00+01:00",
            "channel": "web", "type": "cart_add", **kw}


def _problem(r: httpx.Response, status: int = 422) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return dict(r.json())


def test_a_contact_attribute_the_policy_cannot_use_is_a_422_naming_it(site: Any) -> None:
    c = site.client(headers={"Authorization": f"Bearer {site.api_key('events:write')}"})
    body = _problem(c.post("/api/v1/events", json=_event(
        "qa-tz", "QZ1", type="identify", attributes={"timezone": "Mars/Olympus"})))
    assert body["detail"].startswith("attributes.timezone: 'Mars/Olympus' is not a time zone")
    assert body["errors"][0]["field"] == "attributes.timezone"
    body = _problem(c.post("/api/v1/events", json=_event(
        "qa-consent", "QZ1", attributes={"consent": "email"})))
    assert body["errors"][0]["field"] == "attributes.consent"
    assert '["email", "web"]' in body["detail"]
    # in a batch the others are applied, the bad one named by its index
    r = c.post("/api/v1/events", json=[_event("qa-b0", "QZ2"), _event(
        "qa-b1", "QZ2", attributes={"preferred_channel": "pigeon"})])
    assert r.status_code == 200, r.text
    res = r.json()["results"]
    assert [x["status"] for x in res] == ["applied", "rejected"]
    assert res[1]["errors"][0]["field"] == "attributes.preferred_channel"
    # the customer's later events still get decisions
    r = c.post("/api/v1/events", json=_event("qa-tz-2", "QZ1", ts="2026-03-02T10:05:00Z"))
    assert r.status_code == 200 and r.json()["applied"] == 1, r.text


def test_a_segment_identify_with_a_zone_no_one_knows_is_a_422_naming_the_trait(
        site: Any) -> None:
    c = site.client(headers={"Authorization": f"Bearer {site.api_key('events:write')}"})
    body = _problem(c.post("/api/v1/sources/segment", json={
        "type": "identify", "messageId": "qa-seg-1", "userId": "QZ3",
        "timestamp": "2026-03-02T10:00:00Z", "traits": {"timezone": "Nowhere/Land"}}))
    assert body["errors"][0]["field"] == "traits.timezone"


def test_each_mistake_is_said_in_words_the_sender_can_act_on(site: Any) -> None:
    c = site.client(headers={"Authorization": f"Bearer {site.api_key('events:write')}"})

    def detail(payload: Any, **kw: Any) -> str:
        return str(_problem(c.post("/api/v1/events", json=payload, **kw))["detail"])

    assert detail([1, "a"]) == "[0].(event): expected an event (a JSON object), got 1"
    said = detail(_event("qa-x", timestamp="2026-03-02T10:00:00Z"))
    assert said.startswith("timestamp: not a field of an event; the fields are event_id, "
                           "customer_id, ts,"), said
    said = detail(_event("qa-c", customer="a\nb"))
    assert said.startswith("customer_id: 'a\\nb' holds a control character"), said
    assert "pattern" not in said
    said = detail(_event("qa-t", ts="yesterday"))
    assert said.startswith("ts: 'yesterday' is not a time with its zone"), said
    assert "2026-03-02T10:00:00+01:00" in said
    said = detail(_event("qa-n", ts=1772442000))
    assert "Value error" not in said and said.startswith("ts: 1772442000 is not a time"), said
    for digits in ("20260302", "1772442000"):  # read by pydantic as seconds since 1970
        said = detail(_event(f"qa-d{digits}", ts=digits))
        assert said.startswith(f"ts: '{digits}' is not a time with its zone"), said
    said = detail(_event("qa-ch", channel="web shop"))
    assert said.startswith("channel: 'web shop' is not a channel; expected one of"), said
    said = detail({"events": [_event("qa-w")]})
    assert said.startswith("body: a batch is a JSON array of events at the top level"), said
    said = str(_problem(c.post("/api/v1/events", data={"event_id": "qa-f"}))["detail"])
    assert "sent as application/x-www-form-urlencoded" in said
    assert "Content-Type: application/json" in said
