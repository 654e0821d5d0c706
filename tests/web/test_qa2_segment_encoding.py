"""The Segment source's gzip bodies as a sender would get them wrong: another encoding, a
body cut short, several gzip members, bytes after the end, too much once inflated."""

from __future__ import annotations

import base64
import gzip
import zlib
from typing import Any

import orjson
from sqlalchemy import select

from outsidein.store.db import session_scope
from outsidein.store.models.sense import SenseEvent

URL = "/api/v1/sources/segment/v1/batch"


def _msg(mid: str) -> dict[str, Any]:
    return {"type": "track", "event": "Product Viewed", "userId": "GZ-1", "messageId": mid,
            "timestamp": "2026-03-02T10:00:00Z"}


def _client(site: Any, encoding: str) -> Any:
    key = site.api_key("events:write")
    return site.client(headers={
        "Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode(),
        "Content-Type": "application/json", "Content-Encoding": encoding})


def _stored(site: Any, prefix: str) -> list[str]:
    with session_scope(site.ws.store_url, write=False) as s:
        return sorted(s.execute(select(SenseEvent.event_id).where(
            SenseEvent.event_id.like(f"{prefix}%"))).scalars())


def test_an_encoding_the_source_does_not_read_is_a_415_naming_it(site: Any) -> None:
    body = zlib.compress(orjson.dumps({"batch": [_msg("enc-1")]}))
    r = _client(site, "deflate").post(URL, content=body)
    assert r.status_code == 415, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "'deflate'" in r.json()["detail"] and "gzip" in r.json()["detail"]
    assert _stored(site, "enc-") == []


def test_gzip_members_are_all_read_and_a_cut_or_padded_body_is_refused(site: Any) -> None:
    c = _client(site, "gzip")
    raw = orjson.dumps({"batch": [_msg("mem-1"), _msg("mem-2")]})
    r = c.post(URL, content=gzip.compress(raw[:20]) + gzip.compress(raw[20:]))
    assert r.status_code == 200, r.text
    assert _stored(site, "mem-") == ["mem-1", "mem-2"]
    whole = gzip.compress(orjson.dumps({"batch": [_msg("cut-1")]}))
    r = c.post(URL, content=whole[:-12])  # the connection dropped the end
    assert r.status_code == 422 and "cut short" in r.json()["detail"], r.text
    r = c.post(URL, content=whole + b"garbage")
    assert r.status_code == 422 and "after gzip member 1" in r.json()["detail"], r.text
    assert _stored(site, "cut-") == []


def test_a_body_too_large_once_inflated_is_a_413_as_a_large_plain_body_is(site: Any) -> None:
    r = _client(site, "gzip").post(URL, content=gzip.compress(b" " * (17 * 2**20)))
    assert r.status_code == 413, r.text
    assert "16 MB once inflated" in r.json()["detail"]
