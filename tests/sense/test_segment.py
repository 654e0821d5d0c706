"""Segment messages as events: the mapping from outsidein.toml, and errors naming the field."""

from __future__ import annotations

import pytest

from outsidein.errors import ConfigError, DataValidationError
from outsidein.services.sense.events import EventIn
from outsidein.services.sense.segment import Ignored, from_segment, segment_mapping

MSG = {"type": "track", "event": "Demo Booked", "messageId": "m1", "userId": 42,
       "timestamp": "2026-03-02T10:00:00+02:00"}


def test_the_toml_mapping_extends_the_defaults() -> None:
    mapping = segment_mapping({"events": {"Demo Booked": "pricing_view"}, "channel": "store"})
    e = from_segment(MSG, mapping)
    assert isinstance(e, EventIn)
    assert (e.type, e.channel, e.customer_id) == ("pricing_view", "store", "42")
    assert e.ts_utc.hour == 8  # converted to UTC
    assert from_segment({**MSG, "event": "Order Completed"}, mapping).type == "checkout"
    assert from_segment({**MSG, "type": "screen"}, mapping).channel == "mobile"


@pytest.mark.parametrize(("change", "field"), [
    ({"messageId": ""}, "messageId"), ({"userId": None}, "userId"),
    ({"timestamp": "yesterday"}, "timestamp"), ({"timestamp": "2026-03-02T10:00:00"}, "timestamp"),
    ({"properties": [1]}, "properties"), ({"type": "groups"}, "type"),
    ({"userId": "  "}, "userId"), ({"messageId": " "}, "messageId"),
    ({"timestamp": "9999-12-31T23:59:59+14:00"}, "timestamp"),
    ({"timestamp": "0001-01-01T00:00:00+14:00"}, "timestamp"),
    ({"timestamp": "3000-01-01T00:00:00Z"}, "timestamp"),
    ({"properties": {"channel": "carrier pigeon"}}, "properties.channel"),
    ({"context": "ios"}, "context"), ({"userId": "U\x00"}, "userId"),
    ({"messageId": "m\x01"}, "messageId"), ({"userId": "u" * 201}, "userId"),
    ({"properties": {"product_id": {"sku": 1}}}, "properties.product_id")])
def test_a_bad_message_names_its_field(change: dict, field: str) -> None:
    with pytest.raises(DataValidationError, match=f"^{field}:"):
        from_segment({**MSG, "event": "Product Viewed", **change})


def test_a_bad_mapping_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="sense.segment.events"):
        segment_mapping({"events": {"Demo Booked": 3}})
    with pytest.raises(ConfigError, match="'Demo Booked'.*teleport.*pricing_view"):
        segment_mapping({"events": {"Demo Booked": "teleport"}})
    with pytest.raises(ConfigError, match="channel.*carrier_pigeon"):
        segment_mapping({"channel": "carrier_pigeon"})


@pytest.mark.parametrize(("message", "why"), [
    ({"type": "alias", "previousId": "anon-1"}, "alias"),
    ({"type": "group", "groupId": "G1"}, "group"),
    ({"event": "Video Played"}, "[sense.segment.events]")])
def test_calls_that_are_not_interactions_and_names_not_mapped_are_ignored(
        message: dict, why: str) -> None:
    out = from_segment({**MSG, **message})
    assert isinstance(out, Ignored) and why in out.reason


@pytest.mark.parametrize(("name", "channel"), [
    ("Email Link Clicked", "email"), ("Email Opened", "email"), ("Unsubscribed", "email"),
    ("Product Viewed", "web")])
def test_segment_email_events_happen_on_the_email_channel(name: str, channel: str) -> None:
    e = from_segment({**MSG, "event": name})
    assert isinstance(e, EventIn) and e.channel == channel
    assert from_segment({**MSG, "event": name, "properties": {"channel": "Mobile"}}
                        ).channel == "mobile"


def test_an_identify_brings_the_traits_and_is_no_interaction() -> None:
    """An identify becomes an ``identify`` event carrying its traits (a first name for the
    messages, consent and zone for the policy); the engine moves no evidence for it and
    asks for no message."""
    from outsidein.services.sense.respond import Responder

    e = from_segment({**MSG, "type": "identify", "event": None,
                      "traits": {"first_name": "Ada", "timezone": "Europe/Paris",
                                 "consent": ["email"]}})
    assert isinstance(e, EventIn) and e.type == "identify"
    assert e.attributes["first_name"] == "Ada"
    r = Responder.default()
    seen = EventIn("s1", e.customer_id, e.ts, "web", "product_view")
    state, _ = r(None, seen)
    after, d = r(state, e)
    assert after["evidence"] == state["evidence"]  # not an interaction: no evidence, no clue
    assert after["profile"]["first_name"] == "Ada"
    assert after["contacts"]["timezone"] == "Europe/Paris"
    assert after["contacts"]["consent"] == ["email"]
    assert d["action"] is None and d["control"] is False
    assert "no message: an identify tells who the customer is, it asks for none" in d["reasons"]

