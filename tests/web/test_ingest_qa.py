"""The events API and the Segment source after a QA pass: every bad event is a 4xx naming
its field (in a batch: its index, the good ones applied), never a 500; timestamps outside
the accepted range, unknown channels and types, blank ids and a reused ``event_id`` with
other content are refused; Segment's normal traffic (``alias``, ``group``, names not mapped)
gets a 2xx that says it was ignored and why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from outsidein.sense.stages import CHANNELS, INTERACTION_TYPES, OUTCOME_TYPES
from outsidein.store.db import session_scope
from outsidein.store.models.sense import SenseEvent

EVENTS = "/api/v1/events"
SEGMENT = "/api/v1/sources/segment"
EDGES = ["9999-12-31T23:59:59Z", "9999-12-31T23:59:59+14:00", "0001-01-01T00:00:00+14:00"]
IMPLAUSIBLE = ["3000-01-01T00:00:00Z", "0001-01-01T00:00:00-05:00", "1969-12-31T23:59:59Z"]


def _event(eid: str, customer: str = "Q1", typ: str = "product_view", **kw: Any
           ) -> dict[str, Any]:
    return {"event_id": eid, "customer_id": customer, "ts": "2026-03-02T10:00:00+01:00",
            "channel": "web", "type": typ, **kw}


def _track(mid: str, name: str = "Product Viewed", **kw: Any) -> dict[str, Any]:
    return {"type": "track", "event": name, "messageId": mid, "userId": "SQ1",
            "timestamp": "2026-03-02T10:00:00Z", **kw}


def _problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return dict(r.json())


def _stored(site: Any, *ids: str) -> dict[str, tuple[str, str, str]]:
    with session_scope(site.ws.store_url, write=False) as s:
        rows = s.execute(select(SenseEvent.event_id, SenseEvent.customer_id, SenseEvent.channel,
                                SenseEvent.type).where(SenseEvent.event_id.in_(ids))).all()
    return {eid: (c, ch, t) for eid, c, ch, t in rows}


@pytest.fixture(scope="module")
def api(site: Any) -> httpx.Client:
    return site.client(headers={"Authorization": f"Bearer {site.api_key('events:write')}"})


# -- 1. a ts at the edge of the datetime range: a 422, not a 500 -----------------------------

@pytest.mark.parametrize("ts", EDGES)
def test_a_ts_at_the_edge_of_the_datetime_range_is_a_422_naming_ts(
        api: httpx.Client, site: Any, ts: str) -> None:
    n = EDGES.index(ts)
    assert _problem(api.post(EVENTS, json={**_event(f"edge-{n}"), "ts": ts}),
                    422)["detail"].startswith("ts:")
    r = api.post(EVENTS, json=[_event(f"edge-ok-{n}"), {**_event(f"edge-bad-{n}"), "ts": ts}])
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["applied"], body["rejected"]) == (1, 1)
    assert body["results"][1]["index"] == 1 and body["results"][1]["errors"][0]["field"] == "ts"
    assert set(_stored(site, f"edge-ok-{n}", f"edge-bad-{n}")) == {f"edge-ok-{n}"}


@pytest.mark.parametrize("ts", EDGES)
def test_a_segment_timestamp_at_the_edge_is_a_422_and_the_batch_keeps_its_good_messages(
        api: httpx.Client, site: Any, ts: str) -> None:
    n = EDGES.index(ts)
    assert _problem(api.post(SEGMENT, json=_track(f"sedge-{n}", timestamp=ts)),
                    422)["detail"].startswith("timestamp:")
    r = api.post(SEGMENT, json={"batch": [_track(f"sedge-ok-{n}"),
                                          _track(f"sedge-bad-{n}", timestamp=ts)]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["applied"], body["rejected"]) == (1, 1)
    assert body["results"][1]["errors"][0]["field"] == "timestamp"
    assert set(_stored(site, f"sedge-ok-{n}", f"sedge-bad-{n}")) == {f"sedge-ok-{n}"}


# -- 2. implausible times: refused, saying the accepted range --------------------------------

@pytest.mark.parametrize("ts", IMPLAUSIBLE)
def test_an_implausible_ts_is_refused_with_the_accepted_range(
        api: httpx.Client, site: Any, ts: str) -> None:
    n = IMPLAUSIBLE.index(ts)
    detail = _problem(api.post(EVENTS, json={**_event(f"far-{n}"), "ts": ts}), 422)["detail"]
    assert detail.startswith("ts:") and "1970-01-01" in detail and "1 day" in detail
    assert _problem(api.post(SEGMENT, json=_track(f"sfar-{n}", timestamp=ts)),
                    422)["detail"].startswith("timestamp:")
    assert not _stored(site, f"far-{n}", f"sfar-{n}")


def test_backfilled_history_and_a_little_clock_skew_are_accepted(api: httpx.Client) -> None:
    soon = (datetime.now(UTC) + timedelta(hours=6)).isoformat()
    r = api.post(EVENTS, json=[{**_event("old-1"), "ts": "1999-05-01T08:00:00-05:00"},
                               {**_event("skew-1"), "ts": soon}])
    assert r.status_code == 200 and r.json()["applied"] == 2, r.text


# -- 3. unknown channels and types, blank ids ------------------------------------------------

@pytest.mark.parametrize(("change", "field", "allowed"), [
    ({"channel": "carrier_pigeon"}, "channel", CHANNELS),
    ({"type": "teleport"}, "type", INTERACTION_TYPES),
    ({"customer_id": " "}, "customer_id", ()),
    ({"customer_id": " \u00a0 "}, "customer_id", ()),
    ({"event_id": "  "}, "event_id", ())])
def test_unknown_channels_types_and_blank_ids_are_refused(
        api: httpx.Client, site: Any, change: dict[str, str], field: str,
        allowed: tuple[str, ...]) -> None:
    body = {**_event("unk-1"), **change}
    detail = _problem(api.post(EVENTS, json=body), 422)["detail"]
    assert detail.startswith(f"{field}:")
    assert all(a in detail for a in allowed)
    r = api.post(EVENTS, json=[_event(f"unk-ok-{field}-{len(detail)}"), body])
    assert r.status_code == 200 and r.json()["rejected"] == 1, r.text
    assert r.json()["results"][1]["errors"][0]["field"] == field
    assert "unk-1" not in _stored(site, "unk-1")


def test_every_outcome_type_can_be_sent(api: httpx.Client) -> None:
    """An outcome (a click or a purchase) is what the engine learns from: all can arrive."""
    r = api.post(EVENTS, json=[_event(f"out-{t}", "Q-OUT", t) for t in OUTCOME_TYPES])
    assert r.status_code == 200 and r.json()["applied"] == len(OUTCOME_TYPES), r.text


def test_a_segment_channel_that_is_not_known_is_named(api: httpx.Client) -> None:
    detail = _problem(api.post(SEGMENT, json=_track(
        "sch-1", properties={"channel": "carrier pigeon"})), 422)["detail"]
    assert detail.startswith("properties.channel:") and "call_center" in detail


# -- 4. a reused event_id with other content is a conflict ------------------------------------

def test_a_reused_event_id_for_another_event_is_a_409_not_a_duplicate(
        api: httpx.Client, site: Any) -> None:
    first = {**_event("qa-dup1", "C0000104", "pricing_view")}
    assert api.post(EVENTS, json=first).json()["applied"] == 1
    again = api.post(EVENTS, json=first)  # an idempotent retry
    assert again.status_code == 200 and again.json()["duplicates"] == 1
    other = {**_event("qa-dup1", "C0000999", "checkout")}
    p = _problem(api.post(EVENTS, json=other), 409)
    assert p["detail"].startswith("event_id:") and "customer_id" in p["detail"]
    for change in ({"ts": "2026-03-02T11:00:00+01:00"}, {"channel": "email"},
                   {"product_id": "P-9"}):
        assert _problem(api.post(EVENTS, json={**first, **change}), 409)["detail"].startswith(
            "event_id:")
    r = api.post(EVENTS, json=[_event("qa-dup2", "C0000999"), other, first])
    assert r.status_code == 200, r.text
    body = r.json()
    assert [x["status"] for x in body["results"]] == ["applied", "rejected", "duplicate"]
    assert (body["applied"], body["duplicates"], body["rejected"]) == (1, 1, 1)
    assert body["results"][1]["errors"][0]["field"] == "event_id"
    assert _stored(site, "qa-dup1")["qa-dup1"] == ("C0000104", "web", "pricing_view")


def test_an_id_twice_in_one_batch_with_other_content_rejects_the_second(
        api: httpx.Client, site: Any) -> None:
    r = api.post(EVENTS, json=[_event("qa-in1", "Q5", "visit"), _event("qa-in1", "Q6", "visit")])
    assert r.status_code == 200, r.text
    assert [x["status"] for x in r.json()["results"]] == ["applied", "rejected"]
    assert r.json()["results"][1]["errors"][0]["field"] == "event_id"
    assert _stored(site, "qa-in1")["qa-in1"][0] == "Q5"


def test_a_reused_segment_message_id_is_a_409(api: httpx.Client) -> None:
    assert api.post(SEGMENT, json=_track("sdup-1")).json()["applied"] == 1
    assert api.post(SEGMENT, json=_track("sdup-1")).json()["duplicates"] == 1
    p = _problem(api.post(SEGMENT, json=_track("sdup-1", userId="SQ2")), 409)
    assert p["detail"].startswith("messageId:")


# -- 5. Segment's normal traffic: ignored with a reason; email events on channel email -------

@pytest.mark.parametrize("kind", ["alias", "group"])
def test_an_alias_or_group_message_is_acknowledged_as_ignored(
        api: httpx.Client, site: Any, kind: str) -> None:
    r = api.post(SEGMENT, json={"type": kind, "messageId": f"ign-{kind}", "userId": "SQ1",
                                "previousId": "anon-1", "groupId": "G1",
                                "timestamp": "2026-03-02T10:00:00Z"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["applied"], body["ignored"], body["rejected"]) == (0, 1, 0)
    assert body["results"][0]["status"] == "ignored" and kind in body["results"][0]["note"]
    assert not _stored(site, f"ign-{kind}")


def test_an_unmapped_track_name_is_ignored_naming_the_mapping_key(
        api: httpx.Client, site: Any) -> None:
    r = api.post(SEGMENT, json=_track("ign-video", "Video Played"))
    assert r.status_code == 200, r.text
    result = r.json()["results"][0]
    assert result["status"] == "ignored"
    assert "Video Played" in result["note"] and "[sense.segment.events]" in result["note"]
    assert not _stored(site, "ign-video")


def test_an_email_link_click_is_recorded_on_the_email_channel(
        api: httpx.Client, site: Any) -> None:
    r = api.post(SEGMENT, json={"batch": [_track("em-1", "Email Link Clicked"),
                                          _track("em-2", "Email Opened"),
                                          _track("em-3", "Unsubscribed")]})
    assert r.status_code == 200 and r.json()["applied"] == 3, r.text
    assert _stored(site, "em-1", "em-2", "em-3") == {
        "em-1": ("SQ1", "email", "email_click"), "em-2": ("SQ1", "email", "email_open"),
        "em-3": ("SQ1", "email", "unsubscribe")}


# -- a refused request's errors: the API's one 422 shape, with each event's index ---------

def test_a_refused_batch_lists_its_errors_as_every_422_of_the_api_does(
        api: httpx.Client) -> None:
    """Every 422 of the API lists ``errors`` as ``field``/``problem`` (with FastAPI's
    ``loc``/``msg`` beside them): the events API's too, each error with its event's index,
    and the rejected events themselves under ``results``."""
    bad = [{**_event("shape-1"), "channel": "pigeon"}, {**_event("shape-2"), "ts": EDGES[0]}]
    body = _problem(api.post(EVENTS, json=bad), 422)
    assert [(e["index"], e["field"]) for e in body["errors"]] == [(0, "channel"), (1, "ts")]
    for e in body["errors"]:
        assert set(e) == {"field", "problem", "loc", "msg", "index"}
        assert e["msg"] == e["problem"] and e["loc"] == [e["field"]]
    assert [r["index"] for r in body["results"]] == [0, 1]
    assert body["results"][0]["errors"][0]["field"] == "channel"
