"""A Segment library given the wrong host, or a webhook URL written with a trailing slash:
the answer says which host to give, or takes the message."""

from __future__ import annotations

from typing import Any

import pytest
from segment import analytics
from sqlalchemy import select

from outsidein.store.db import session_scope
from outsidein.store.models.sense import SenseEvent

BASE = "/api/v1/sources/segment"


def test_a_library_given_the_host_with_v1_is_told_which_host_to_give(site: Any) -> None:
    client = analytics.Client(write_key=site.api_key("events:write"), host=site.url + BASE + "/v1",
                              sync_mode=True, max_retries=0)
    with pytest.raises(analytics.request.APIError) as caught:
        client.track(user_id="P-1", event="Product Viewed", message_id="host-1")
    assert caught.value.status == 404
    assert f"host=<server>{BASE}" in str(caught.value.message)


def test_a_trailing_slash_is_the_source_itself(site: Any) -> None:
    c = site.client(headers={"Authorization": f"Bearer {site.api_key('events:write')}"})
    r = c.post(BASE + "/", json={"type": "page", "userId": "P-2", "messageId": "slash-1",
                                 "timestamp": "2026-03-02T10:00:00Z"})
    assert r.status_code == 200, r.text
    with session_scope(site.ws.store_url, write=False) as s:
        assert s.execute(select(SenseEvent.type).where(
            SenseEvent.event_id == "slash-1")).scalar() == "visit"
    # other paths still need the key, as the source does
    assert site.client().post(BASE + "/v1/v1/batch", json={}).status_code == 401
