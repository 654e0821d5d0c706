"""Segment's own library pointed at the Segment source: its paths, Basic credentials, gzip."""

from __future__ import annotations

import base64
import gzip
from datetime import UTC, datetime
from typing import Any

import orjson
from segment import analytics
from segment.analytics.request import APIError
from sqlalchemy import select

from outsidein.store.db import session_scope
from outsidein.store.models.sense import SenseEvent

BASE = "/api/v1/sources/segment"


def _basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def _stored(site: Any, prefix: str) -> dict[str, str]:
    with session_scope(site.ws.store_url, write=False) as s:
        return dict(s.execute(select(SenseEvent.event_id, SenseEvent.type).where(
            SenseEvent.source == "segment", SenseEvent.event_id.like(f"{prefix}%"))).all())


def test_segments_python_library_sends_through_its_host_with_its_write_key(site: Any) -> None:
    key = site.api_key("events:write")
    failures: list[Any] = []
    client = analytics.Client(write_key=key, host=site.url + BASE, sync_mode=True,
                              on_error=lambda exc, batch: failures.append(exc), max_retries=0)
    ts = datetime(2026, 3, 2, 10, tzinfo=UTC)
    client.track(user_id="LIB-1", event="Product Added", timestamp=ts,
                 properties={"product_id": "P-1"}, message_id="lib-1")
    client.page(user_id="LIB-1", name="Shoes", timestamp=ts, message_id="lib-2")
    client.identify(user_id="LIB-1", traits={"first_name": "Lin"}, timestamp=ts,
                    message_id="lib-3")
    client.flush()
    assert failures == []
    assert _stored(site, "lib-") == {"lib-1": "cart_add", "lib-2": "visit", "lib-3": "identify"}


def test_the_librarys_single_message_paths_take_their_type_from_the_path(site: Any) -> None:
    c = site.client(headers=_basic(site.api_key("events:write")))
    r = c.post(f"{BASE}/v1/track", json={
        "userId": "LIB-2", "event": "Product Added", "messageId": "path-1",
        "timestamp": "2026-03-02T10:00:00Z", "properties": {"product_id": "P-1"}})
    assert r.status_code == 200, r.text
    assert r.json()["results"][0]["decision"]["stage"] == "deciding"
    assert _stored(site, "path-") == {"path-1": "cart_add"}
    # a path Segment does not have is a 404 problem naming the paths there are
    r = c.post(f"{BASE}/v1/trak", json={"userId": "LIB-2"})
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "track" in r.json()["detail"]


def test_a_gzipped_batch_is_read_and_a_bad_one_is_a_422(site: Any) -> None:
    c = site.client(headers={**_basic(site.api_key("events:write")),
                             "Content-Type": "application/json", "Content-Encoding": "gzip"})
    body = {"batch": [{"type": "track", "event": "Order Completed", "userId": "LIB-3",
                       "messageId": "gz-1", "timestamp": "2026-03-02T10:00:00Z"}],
            "sentAt": "2026-03-02T10:00:01Z", "writeKey": "ignored"}
    r = c.post(f"{BASE}/v1/batch", content=gzip.compress(orjson.dumps(body)))
    assert r.status_code == 200, r.text
    assert _stored(site, "gz-") == {"gz-1": "checkout"}
    r = c.post(f"{BASE}/v1/batch", content=b"not gzip at all")
    assert r.status_code == 422 and "gzip" in r.json()["detail"]


def test_basic_credentials_are_checked_as_a_bearer_key_is(site: Any) -> None:
    msg = {"type": "page", "userId": "LIB-4", "messageId": "auth-1",
           "timestamp": "2026-03-02T10:00:00Z"}
    c = site.client()
    r = c.post(BASE, json=msg, headers=_basic("oi_not_a_key"))
    assert r.status_code == 401 and r.headers["content-type"].startswith(
        "application/problem+json")
    r = c.post(BASE, json=msg, headers={"Authorization": "Basic %%%"})
    assert r.status_code == 401 and "base64" in r.json()["detail"]
    r = c.post(BASE, json=msg, headers=_basic(site.api_key("value:read")))
    assert r.status_code == 403 and "events:write" in r.json()["detail"]
    # the key as the password, with no user name, is read too
    good = site.api_key("events:write")
    r = c.post(BASE, json=msg, headers={
        "Authorization": "Basic " + base64.b64encode(f":{good}".encode()).decode()})
    assert r.status_code == 200, r.text
    # Basic credentials are for the Segment source only: the events API wants a bearer key
    r = c.post("/api/v1/events", json={"event_id": "auth-2", "customer_id": "LIB-4",
                                       "ts": "2026-03-02T10:00:00Z", "channel": "web",
                                       "type": "visit"}, headers=_basic(good))
    assert r.status_code == 401
    assert _stored(site, "auth-") == {"auth-1": "visit"}


def _failures_of(site: Any, key: str, host: str) -> list[Any]:
    """What Segment's library reports when it sends one message with *key* to *host*."""
    client = analytics.Client(write_key=key, host=host, sync_mode=True, max_retries=0)
    try:  # in sync mode the library raises what it would hand to on_error
        client.track(user_id="LIB-9", event="Product Added", message_id="err-1",
                     timestamp=datetime(2026, 3, 2, 10, tzinfo=UTC))
    except APIError as exc:
        return [exc]
    return []


def test_the_library_reports_our_errors_with_their_code_and_message(site: Any) -> None:
    """Segment's libraries raise APIError(status, body["code"], body["message"]); without
    those two members they logged "Unknown error" and lost our words."""
    (bad_key,) = _failures_of(site, "not-a-key", site.url + BASE)
    assert (bad_key.status, bad_key.code) == (401, "unauthorized")
    assert "key" in bad_key.message.lower()
    # a library given the server alone posts to /v1/batch: told which host to give
    (no_path,) = _failures_of(site, site.api_key("events:write"), site.url)
    assert (no_path.status, no_path.code) == (404, "not_found")
    assert "host is <server>/api/v1/sources/segment" in no_path.message
    assert _stored(site, "err-") == {}


def test_the_problem_answers_keep_their_rfc_9457_members_beside_segments(site: Any) -> None:
    c = site.client()
    r = c.post(BASE + "/v1/batch", content=b"{", headers={
        **_basic(site.api_key("events:write")), "Content-Type": "application/json"})
    body = r.json()
    assert r.status_code == 422 and r.headers["content-type"].startswith(
        "application/problem+json")
    assert body["code"] == "invalid_request" and body["message"] == body["detail"]
    assert body["title"] and body["status"] == 422
    # the rest of the API is unchanged: no Segment members
    r = site.client().post("/api/v1/events", content=b"{", headers={
        "Authorization": f"Bearer {site.api_key('events:write')}",
        "Content-Type": "application/json"})
    assert r.status_code == 422 and "code" not in r.json()
