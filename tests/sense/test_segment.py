"""Segment messages as events: the mapping from outsidein.toml, and errors naming the field."""

from __future__ import annotations

import pytest

from outsidein.errors import ConfigError, DataValidationError
from outsidein.services.sense.segment import from_segment, segment_mapping

MSG = {"type": "track", "event": "Demo Booked", "messageId": "m1", "userId": 42,
       "timestamp": "2026-03-02T10:00:00+02:00"}


def test_the_toml_mapping_extends_the_defaults() -> None:
    mapping = segment_mapping({"events": {"Demo Booked": "pricing_view"}, "channel": "store"})
    e = from_segment(MSG, mapping)
    assert (e.type, e.channel, e.customer_id) == ("pricing_view", "store", "42")
    assert e.ts_utc.hour == 8  # converted to UTC
    assert from_segment({**MSG, "event": "Order Completed"}, mapping).type == "checkout"
    assert from_segment({**MSG, "type": "screen"}, mapping).channel == "mobile"


@pytest.mark.parametrize(("change", "field"), [
    ({"messageId": ""}, "messageId"), ({"userId": None}, "userId"),
    ({"timestamp": "yesterday"}, "timestamp"), ({"timestamp": "2026-03-02T10:00:00"}, "timestamp"),
    ({"properties": [1]}, "properties"), ({"type": "group"}, "type")])
def test_a_bad_message_names_its_field(change: dict, field: str) -> None:
    with pytest.raises(DataValidationError, match=f"^{field}:"):
        from_segment({**MSG, **change})


def test_a_bad_mapping_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="sense.segment.events"):
        segment_mapping({"events": {"Demo Booked": 3}})
