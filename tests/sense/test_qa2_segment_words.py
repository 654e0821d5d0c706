"""A Segment message whose field is there but of the wrong kind is refused in words that say
what came, not "required" (the sender would look for a missing field that is not missing)."""

from __future__ import annotations

import pytest

from outsidein.errors import DataValidationError
from outsidein.services.sense.events import EventIn
from outsidein.services.sense.segment import from_segment

MSG = {"type": "track", "event": "Product Viewed", "messageId": "m1", "userId": "C1",
       "timestamp": "2026-03-02T10:00:00Z"}


@pytest.mark.parametrize(("change", "words"), [
    ({"timestamp": 1772445600}, "timestamp: 1772445600 is not a time; expected ISO 8601 text"),
    ({"userId": 1.5}, "userId: expected an id (text or a whole number), got 1.5"),
    ({"userId": {"id": 7}}, 'userId: expected an id (text or a whole number), got {"id":7}'),
    ({"userId": None, "anonymousId": ["a"]},
     'anonymousId: expected an id (text or a whole number), got ["a"]'),
    ({"messageId": 5}, "messageId: expected text of 1 to 200 characters, got 5"),
    ({"event": 5}, "event: expected the event's name as text, got 5"),
    ({"type": ["track"]}, 'type: got ["track"]; expected track, page'),
])
def test_a_field_of_the_wrong_kind_says_what_came(change: dict, words: str) -> None:
    with pytest.raises(DataValidationError) as caught:
        from_segment({**MSG, **change})
    assert str(caught.value).startswith(words), str(caught.value)
    assert "required" not in str(caught.value)


def test_a_missing_type_is_called_required_not_none() -> None:
    with pytest.raises(DataValidationError, match=r"^type: required; expected track") as c:
        from_segment({k: v for k, v in MSG.items() if k != "type"})
    assert "None" not in str(c.value)


def test_a_number_timestamp_is_refused_rather_than_replaced_by_sent_at() -> None:
    # the time the sender meant is unreadable: a later field (sentAt) is not taken instead
    with pytest.raises(DataValidationError, match="^timestamp:"):
        from_segment({**MSG, "timestamp": 1772445600, "sentAt": "2026-03-03T10:00:00Z"})
    # an absent or empty timestamp still falls back to the next field
    e = from_segment({**MSG, "timestamp": "", "sentAt": "2026-03-03T10:00:00Z"})
    assert isinstance(e, EventIn) and e.ts.day == 3


def test_a_user_id_of_zero_is_an_id() -> None:
    e = from_segment({**MSG, "userId": 0, "anonymousId": "anon-9"})
    assert isinstance(e, EventIn) and e.customer_id == "0"


def test_a_track_from_a_phone_app_is_on_the_mobile_channel() -> None:
    """Segment's current phone libraries (analytics-swift, analytics-kotlin on Android,
    React Native) name no "ios"/"android" library; the device's system says it."""
    swift = {"library": {"name": "analytics-swift", "version": "1.5.0"},
             "os": {"name": "iOS", "version": "17.4"}}
    kotlin = {"library": {"name": "analytics-kotlin", "version": "1.16.0"},
              "os": {"name": "Android", "version": "14"}}
    rn = {"library": {"name": "@segment/analytics-react-native"}, "device": {"type": "ios"}}
    server = {"library": {"name": "analytics-kotlin"}, "os": {"name": "Linux"}}
    for context, channel in ((swift, "mobile"), (kotlin, "mobile"), (rn, "mobile"),
                             (server, "web"), ({"library": {"name": "analytics-python"}}, "web")):
        e = from_segment({**MSG, "context": context})
        assert isinstance(e, EventIn) and e.channel == channel, context
