"""``POST /api/v1/events``: decisions out, each event applied once, bad input named, and
no acknowledged event lost to ``kill -9``."""

from __future__ import annotations

import gzip
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
from sqlalchemy import func, select

from outsidein.services import accounts
from outsidein.services.data import load_frame
from outsidein.store.db import session_scope
from outsidein.store.models.sense import CustomerState, Decision, SenseEvent
from outsidein.workspace import Workspace


def _event(eid: str, customer: str = "C1", typ: str = "cart_add", **kw: Any) -> dict[str, Any]:
    return {"event_id": eid, "customer_id": customer, "ts": "2026-03-02T10:00:00+01:00",
            "channel": "web", "type": typ, **kw}


def _problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return dict(r.json())


def test_an_event_gets_a_decision_and_a_repeat_is_not_applied_twice(site: Any) -> None:
    c = site.client(headers={"Authorization": f"Bearer {site.api_key('events:write')}"})
    r = c.post("/api/v1/events", json=_event("e-1"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["applied"] == 1 and body["results"][0]["status"] == "applied"
    decision = body["results"][0]["decision"]
    assert decision["stage"] == "deciding" and 0 < decision["stage_probability"] <= 1
    assert decision["clues"] and "cart_add" in decision["clues"][0]
    again = c.post("/api/v1/events", json=_event("e-1")).json()
    assert again["duplicates"] == 1 and again["results"][0]["decision"] == decision
    with session_scope(site.ws.store_url, write=False) as s:
        assert s.scalar(select(func.count()).select_from(SenseEvent).where(
            SenseEvent.event_id == "e-1")) == 1


def test_an_event_sent_twice_in_one_batch_is_applied_once_and_both_get_its_decision(
        site: Any) -> None:
    c = site.client(headers={"Authorization": f"Bearer {site.api_key('events:write')}"})
    body = c.post("/api/v1/events", json=[_event("t-1", "C7"), _event("t-2", "C7", "visit"),
                                          _event("t-1", "C7")]).json()
    assert [r["status"] for r in body["results"]] == ["applied", "applied", "duplicate"]
    first, _, repeat = (r["decision"] for r in body["results"])
    assert repeat == first and first["stage"] == "deciding"
    with session_scope(site.ws.store_url, write=False) as s:
        assert s.scalar(select(func.count()).select_from(Decision).join(
            SenseEvent, SenseEvent.id == Decision.event_pk).where(
            SenseEvent.event_id == "t-1")) == 1


def test_a_batch_applies_the_good_events_and_names_each_bad_one(site: Any) -> None:
    c = site.client(headers={"Authorization": f"Bearer {site.api_key('events:write')}"})
    batch = [_event("b-0", "C2", "product_view"),
             {**_event("b-1"), "ts": "2026-03-02T10:00:00"},      # no time zone
             _event("b-2", "C2", "cart_add"),
             {**_event("b-3"), "channel": "web shop\x00"},         # bad channel
             {"event_id": "b-4"}]                                   # fields missing
    r = c.post("/api/v1/events", json=batch)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["applied"], body["rejected"]) == (2, 3)
    by_index = {x["index"]: x for x in body["results"]}
    assert [by_index[i]["status"] for i in range(5)] == [
        "applied", "rejected", "applied", "rejected", "rejected"]
    assert by_index[1]["errors"][0]["field"] == "ts"
    assert by_index[3]["errors"][0]["field"] == "channel"
    assert {e["field"] for e in by_index[4]["errors"]} >= {"customer_id", "ts", "channel", "type"}
    for e in by_index[4]["errors"] + by_index[1]["errors"]:  # the one shape of every 422's errors
        assert e["loc"] == e["field"].split(".") and e["msg"] == e["problem"], e


def test_bad_requests_get_a_422_naming_the_field(site: Any) -> None:
    c = site.client(headers={"Authorization": f"Bearer {site.api_key('events:write')}"})
    detail = _problem(c.post("/api/v1/events", json={**_event("s-1"), "ts": "yesterday"}),
                      422)["detail"]
    assert detail.startswith("ts:")
    assert "customer_id" in _problem(c.post("/api/v1/events", json=[{"event_id": "x"}]),
                                     422)["detail"]
    assert _problem(c.post("/api/v1/events", json=[]), 422)
    assert "at most 1000" in _problem(c.post("/api/v1/events", json=[
        _event(f"m-{i}") for i in range(1001)]), 422)["detail"]
    assert _problem(c.post("/api/v1/events", content=b"{not json",
                           headers={"content-type": "application/json"}), 422)
    assert _problem(c.post("/api/v1/events", json={**_event("s-2"), "extra": 1}), 422)
    packed = _problem(c.post("/api/v1/events", content=gzip.compress(b'{"event_id": "z"}'),
                             headers={"content-type": "application/json",
                                      "content-encoding": "gzip"}), 422)["detail"]
    assert "Content-Encoding gzip" in packed and "send the JSON plain" in packed


def test_only_an_events_write_key_may_send(site: Any) -> None:
    anon = site.client()
    _problem(anon.post("/api/v1/events", json=_event("k-1")), 401)
    reader = site.client(headers={"Authorization": f"Bearer {site.api_key('insights:read')}"})
    _problem(reader.post("/api/v1/events", json=_event("k-1")), 403)


# -- durability: kill -9 under load --------------------------------------------------------

SERVER = """
import sys
from pathlib import Path
import uvicorn
from outsidein.web.app import create_app
uvicorn.run(create_app(Path(sys.argv[1])), host="127.0.0.1", port=int(sys.argv[2]),
            log_level="warning", access_log=False)
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _port()
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(root), str(port)])
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def test_no_acknowledged_event_is_lost_or_applied_twice_after_kill_9(tmp_path: Path) -> None:
    root = tmp_path / "acme"
    ws = Workspace.init(root)
    ws.close()
    with session_scope(ws.store_url) as s:
        _, secret = accounts.create_api_key(s, name="events", scopes=["events:write"])
    auth = {"Authorization": f"Bearer {secret}"}
    proc, url = _serve(root)
    acked: set[str] = set()
    sent: list[tuple[str, str]] = []  # (event_id, customer_id)
    lock = threading.Lock()

    def client(k: int) -> None:
        with httpx.Client(base_url=url, headers=auth, timeout=10) as c:
            for i in range(100_000):
                eid, customer = f"k{k}-{i}", f"C{k}-{i % 50}"
                with lock:
                    sent.append((eid, customer))
                try:
                    r = c.post("/api/v1/events", json=_event(eid, customer, "visit"))
                except httpx.TransportError:
                    return  # the server is gone
                if r.status_code == 200:
                    with lock:
                        acked.add(eid)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    time.sleep(3.0)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    for t in threads:
        t.join(timeout=30)
    assert len(acked) > 50, "the load did not run"

    with session_scope(ws.store_url, write=False) as s:
        stored = set(s.scalars(select(SenseEvent.event_id)))
    assert acked <= stored, f"{len(acked - stored)} acknowledged events were lost"

    proc, url = _serve(root)
    try:
        with httpx.Client(base_url=url, headers=auth, timeout=30) as c:
            statuses: dict[str, str] = {}
            for i in range(0, len(sent), 1000):  # every event again, as first sent (a retry)
                chunk = sent[i:i + 1000]
                r = c.post("/api/v1/events", json=[
                    _event(eid, customer, "visit") for eid, customer in chunk])
                assert r.status_code == 200, r.text
                statuses.update({x["event_id"]: x["status"] for x in r.json()["results"]})
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert all(statuses[eid] == "duplicate" for eid in stored)
    with session_scope(ws.store_url, write=False) as s:
        events = s.scalar(select(func.count()).select_from(SenseEvent))
        decisions = s.scalar(select(func.count()).select_from(Decision))
        distinct = s.scalar(select(func.count(func.distinct(SenseEvent.event_id))))
    assert events == decisions == distinct == len({eid for eid, _ in sent})
    print(f"kill -9: {len(acked)} acknowledged, {len(stored)} stored before restart, "
          f"{len(stored) - len(acked)} stored but unacknowledged, 0 lost, 0 applied twice")


def test_the_journey_shows_stage_changes_and_decisions(site: Any) -> None:
    c = site.client(headers={"Authorization": f"Bearer {site.api_key('events:write')}"})
    steps = [("j-1", "visit", "2026-03-01T09:00:00+00:00"),
             ("j-2", "product_view", "2026-03-03T09:00:00+00:00"),
             ("j-3", "cart_add", "2026-03-03T09:05:00+00:00"),
             ("j-4", "checkout", "2026-03-03T09:10:00+00:00")]
    r = c.post("/api/v1/events", json=[{**_event(eid, "JOURNEY-1", typ), "ts": ts}
                                       for eid, typ, ts in steps])
    assert r.json()["applied"] == 4
    reader = site.client(headers={"Authorization": f"Bearer {site.api_key('value:read')}"})
    j = reader.get("/api/v1/customers/JOURNEY-1/journey").json()
    assert j["stage"] == "purchased" and j["events"] == 4
    # newest first, as the decisions and messages
    assert [h["stage"] for h in j["history"]][:2] == ["purchased", "deciding"]
    assert j["history"][0]["moved_by"] == "checkout (web)"
    assert [d["event_id"] for d in j["decisions"]] == ["j-4", "j-3", "j-2", "j-1"]
    assert _problem(reader.get("/api/v1/customers/NOBODY/journey"), 404)
    load_frame(site.ws, "customers", pd.DataFrame({"customer_id": ["JOURNEY-1"]}),
               source="test:journey")
    site.ws.close()
    page = site.login("viewer").get("/customers/JOURNEY-1")
    assert page.status_code == 200, page.text
    panel = page.text[page.text.index("Buying stage and journey"):]
    assert "purchased" in panel and "checkout (web)" in panel


def test_the_journey_api_and_page_count_silence_apart_from_the_customers_events(
        site: Any) -> None:
    """A buyer who went quiet: the sweep's stage changes show in the journey, counted apart
    from the one event the customer sent."""
    from outsidein.services.sense.silence import sweep_silence_workspace  # the sweep: here only

    c = site.client(headers={"Authorization": f"Bearer {site.api_key('events:write')}"})
    for eid, who, typ, ts in (("q-1", "QUIET-1", "checkout", "2026-01-05T10:00:00+00:00"),
                              ("q-2", "OTHER-1", "visit", "2026-07-30T10:00:00+00:00")):
        r = c.post("/api/v1/events", json={**_event(eid, who, typ), "ts": ts})
        assert r.json()["applied"] == 1, r.text
    swept = sweep_silence_workspace(site.ws)
    assert swept.changed >= 1
    reader = site.client(headers={"Authorization": f"Bearer {site.api_key('value:read')}"})
    j = reader.get("/api/v1/customers/QUIET-1/journey").json()
    assert j["stage"] == "lapsed"  # 206 days without a word after one purchase
    assert (j["events"], j["silences"]) == (1, len(j["history"]) - 1)
    assert j["silences"] >= 2 and j["history"][0]["moved_by"].startswith("silence")
    load_frame(site.ws, "customers", pd.DataFrame({"customer_id": ["QUIET-1"]}),
               source="test:silence")
    site.ws.close()
    panel = site.login("viewer").get("/customers/QUIET-1").text
    panel = panel[panel.index("Buying stage and journey"):]
    assert "stage changes by silence" in panel and "moved by silence" in panel


def test_a_segment_webhook_feeds_the_same_engine(site: Any) -> None:
    c = site.client(headers={"Authorization": f"Bearer {site.api_key('events:write')}"})
    ts = "2026-03-02T10:00:00.000Z"
    batch = {"batch": [
        {"type": "page", "messageId": "sg-1", "userId": "SEG-1", "timestamp": ts,
         "properties": {"path": "/shoes"}},
        {"type": "track", "event": "Product Added", "messageId": "sg-2", "anonymousId": "SEG-1",
         "timestamp": ts, "properties": {"product_id": "P-1"}},
        {"type": "track", "event": "Webinar Joined", "messageId": "sg-3", "userId": "SEG-1",
         "timestamp": ts},
        {"type": "track", "messageId": "sg-4", "userId": "SEG-1", "timestamp": ts},  # no event
        {"type": "alias", "messageId": "sg-5", "userId": "SEG-1", "timestamp": ts},
        {"type": "identify", "messageId": "sg-6", "userId": "SEG-1", "timestamp": ts,
         "traits": {"first_name": "Ada"}}]}
    r = c.post("/api/v1/sources/segment", json=batch)
    assert r.status_code == 200, r.text
    body = r.json()
    # a name not mapped and an alias are Segment's normal traffic: ignored, saying why; an
    # identify is applied (the customer's traits), and asks for no message
    assert (body["applied"], body["ignored"], body["rejected"]) == (3, 2, 1)
    by_index = {x["index"]: x for x in body["results"]}
    assert by_index[1]["decision"]["stage"] == "deciding"
    assert by_index[2]["status"] == "ignored" and "not mapped" in by_index[2]["note"]
    assert by_index[3]["errors"][0]["field"] == "event"
    assert by_index[4]["status"] == "ignored" and "alias" in by_index[4]["note"]
    with session_scope(site.ws.store_url, write=False) as s:
        kinds = dict(s.execute(select(SenseEvent.event_id, SenseEvent.type).where(
            SenseEvent.source == "segment")).all())
    assert kinds == {"sg-1": "visit", "sg-2": "cart_add", "sg-6": "identify"}
    assert by_index[5]["decision"]["action"] is None
    with session_scope(site.ws.store_url, write=False) as s:
        state = s.scalar(select(CustomerState.state).where(CustomerState.customer_id == "SEG-1"))
    assert state["profile"]["first_name"] == "Ada"
    # Segment retries with the same messageId: acknowledged, not applied again
    again = c.post("/api/v1/sources/segment", json=batch["batch"][1]).json()
    assert again["duplicates"] == 1
    assert "timestamp" in _problem(c.post("/api/v1/sources/segment", json={
        "type": "page", "messageId": "sg-9", "userId": "SEG-1"}), 422)["detail"]


def test_start_up_objects_are_frozen_out_of_the_collectors_walks(workspace: Workspace) -> None:
    """A full garbage collection walked every object the app made at start-up and paused the
    event writer for about 150 ms (the events API's p99); the app's start-up (its lifespan,
    as uvicorn runs it) freezes them."""
    import asyncio
    import gc

    from outsidein.web import create_app

    app = create_app(workspace.root)

    async def started() -> int:
        async with app.router.lifespan_context(app):
            return gc.get_freeze_count()

    gc.unfreeze()
    try:
        before = gc.get_freeze_count()
        assert asyncio.run(started()) > before + 10_000
    finally:
        gc.unfreeze()  # the rest of the test session collects as usual
