"""Contact policy: each rule removes what it should and says so in words."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from outsidein.errors import ConfigError
from outsidein.sense.policy import (
    CatalogAction,
    ContactPolicy,
    CustomerContacts,
    eligible_actions,
    local_hour,
)

DAY = 86400.0
POLICY = ContactPolicy()
TIPS = CatalogAction("tips", "advice", channels=("email", "mobile"))
OFFER = CatalogAction("offer", "sales", channels=("email",), stages=("deciding", "loyal"))


def at(year: int, month: int, day: int, hour: int, zone: str) -> float:
    return dt.datetime(year, month, day, hour, tzinfo=ZoneInfo(zone)).timestamp()


def test_quiet_hours_block_a_2300_send_in_the_customers_own_zone() -> None:
    now = at(2026, 3, 10, 23, "Europe/Paris")  # 17:00 in New York
    paris = CustomerContacts(consent=frozenset({"email"}), timezone="Europe/Paris")
    new_york = CustomerContacts(consent=frozenset({"email"}), timezone="America/New_York")
    blocked = eligible_actions([TIPS], paris, now, POLICY)
    assert blocked.eligible == ()
    (f,) = blocked.filtered
    assert f.rule == "quiet_hours"
    assert "quiet hours 21:00-08:00 for email (23:00 in Europe/Paris)" in f.reason
    assert f.retry_at == at(2026, 3, 11, 8, "Europe/Paris")  # the end of the quiet hours
    ok = eligible_actions([TIPS], new_york, now, POLICY)
    assert [(e.action, e.channel) for e in ok.eligible] == [("tips", "email")]


def test_a_channel_frequency_cap_is_named_in_words_and_another_channel_takes_over() -> None:
    now = at(2026, 3, 10, 12, "UTC")
    cust = CustomerContacts(consent=frozenset({"email"}), timezone="UTC",
                            sent=((now - 2 * DAY, "email"), (now - 5 * DAY, "email")))
    res = eligible_actions([TIPS], cust, now, POLICY)
    assert res.eligible == ()
    assert res.filtered[0].rule == "channel_cap"
    assert res.reasons() == [
        "tips: email frequency cap: 2 messages in the last 7 days (limit 2); "
        "no consent for mobile"]
    both = CustomerContacts(consent=frozenset({"email", "mobile"}), timezone="UTC",
                            sent=cust.sent)
    res = eligible_actions([TIPS], both, now, POLICY)
    assert [(e.channel, e.why_channel) for e in res.eligible] == [("mobile", "catalogue order")]


def test_global_cap_min_gap_opt_out_and_suppression_remove_everything() -> None:
    now = at(2026, 3, 10, 12, "UTC")
    base = dict(consent=frozenset({"email", "mobile"}), timezone="UTC")
    three = ((now - 1.5 * DAY, "email"), (now - 3 * DAY, "mobile"), (now - 6 * DAY, "email"))
    cases = {
        "global_cap": (CustomerContacts(**base, sent=three),
                       "global frequency cap: 3 messages in the last 7 days (limit 3)"),
        "min_gap": (CustomerContacts(**base, sent=((now - 5 * 3600, "mobile"),)),
                    "minimum gap: last message 5.0 hours ago (at least 24 hours between "
                    "messages)"),
        "opt_out": (CustomerContacts(**base, opted_out=True),
                    "the customer opted out of all messages"),
        "suppressed": (CustomerContacts(**base, ignored_in_a_row=3),
                       "suppressed: the last 3 messages were ignored (limit 3) until the "
                       "customer engages"),
    }
    for rule, (cust, words) in cases.items():
        res = eligible_actions([TIPS, OFFER], cust, now, POLICY)
        assert res.eligible == ()
        assert [f.rule for f in res.filtered] == [rule, rule]
        assert res.filtered[0].reason == words
    gap = eligible_actions([TIPS], cases["min_gap"][0], now, POLICY).filtered[0]
    assert gap.retry_at == pytest.approx(now + 19 * 3600)


def test_consent_and_stage_eligibility() -> None:
    now = at(2026, 3, 10, 12, "UTC")
    cust = CustomerContacts(consent=frozenset({"mobile"}), timezone="UTC")
    res = eligible_actions([TIPS, OFFER], cust, now, POLICY, stage="considering")
    assert [e.action for e in res.eligible] == ["tips"]
    (f,) = res.filtered
    assert (f.action, f.rule) == ("offer", "stage")
    assert f.reason == "not for stage considering (only deciding, loyal)"
    res = eligible_actions([OFFER], cust, now, POLICY, stage="deciding")
    assert res.filtered[0].rule == "consent"
    assert res.filtered[0].reason == "no consent for email"


def test_the_channel_of_the_clue_comes_first_then_the_preference() -> None:
    now = at(2026, 3, 10, 12, "UTC")
    act = CatalogAction("care", "service", channels=("email", "mobile", "call_center"))
    cust = CustomerContacts(consent=frozenset({"email", "mobile", "call_center"}),
                            preferred_channel="mobile", timezone="UTC")
    clue = eligible_actions([act], cust, now, POLICY, clue_channel="call_center").eligible[0]
    assert (clue.channel, clue.why_channel) == ("call_center", "channel of the clue")
    pref = eligible_actions([act], cust, now, POLICY, clue_channel="web").eligible[0]
    assert (pref.channel, pref.why_channel) == ("mobile", "preferred channel")


def test_on_site_messages_ignore_quiet_hours_and_customers_without_a_zone_use_the_default(
        ) -> None:
    now = at(2026, 3, 10, 23, "UTC")
    web = CatalogAction("banner", "advice", channels=("web",))
    cust = CustomerContacts(consent=frozenset({"web", "email"}))
    assert eligible_actions([web], cust, now, POLICY).eligible[0].channel == "web"
    assert eligible_actions([TIPS], cust, now, POLICY).filtered[0].rule == "quiet_hours"
    tokyo = ContactPolicy(default_timezone="Asia/Tokyo")  # 08:00 next day there
    assert eligible_actions([TIPS], cust, now, tokyo).eligible[0].channel == "email"
    assert local_hour(now, "Asia/Tokyo") == 8.0


def test_policy_from_toml_and_its_errors() -> None:
    pol = ContactPolicy.from_mapping({"channel_caps": {"email": [1, 14]}, "quiet_hours": [22, 7],
                                      "min_gap_hours": 48})
    assert pol.channel_caps == {"email": (1, 14.0)}
    assert pol.quiet_hours == (22, 7)
    with pytest.raises(ConfigError, match="unknown key 'quiet'"):
        ContactPolicy.from_mapping({"quiet": [1, 2]})
    with pytest.raises(ConfigError, match="'Mars/Olympus' is not an IANA time zone"):
        ContactPolicy.from_mapping({"default_timezone": "Mars/Olympus"})
    with pytest.raises(ConfigError, match="hours 0-23"):
        ContactPolicy.from_mapping({"quiet_hours": [25, 7]})
    with pytest.raises(ConfigError, match=r"\[max messages, per days\]"):
        ContactPolicy.from_mapping({"global_cap": [3]})


def test_a_tuple_of_actions_decided_on_again_gets_the_answers_a_fresh_look_gives() -> None:
    """A tuple's channel orders and the results per state of its channels are kept between
    calls; over many customers, times and stages every answer equals that of a list (looked
    at afresh each call), words and retry times included."""
    import random

    rng = random.Random(7)
    actions = (TIPS, OFFER, CatalogAction("web-tip", "advice", channels=("web", "email")),
               CatalogAction("call", "service", channels=("call_center",), stages=("at_risk",)))
    zones = ("Europe/Paris", "America/New_York", "Asia/Tokyo", None)
    channels = ("email", "mobile", "web", "call_center")
    start = at(2026, 3, 1, 0, "UTC")
    seen_rules: set[str] = set()
    for _ in range(3000):
        now = start + rng.uniform(0, 20 * DAY)
        sent = tuple(sorted((now - rng.uniform(0, 10 * DAY), rng.choice(channels))
                            for _ in range(rng.randrange(0, 4))))
        cust = CustomerContacts(
            consent=frozenset(rng.sample(channels, rng.randrange(0, 5))),
            preferred_channel=rng.choice((None, *channels)), timezone=rng.choice(zones),
            sent=sent, ignored_in_a_row=rng.choice((0, 0, 0, 3)), opted_out=rng.random() < 0.03)
        kw = {"stage": rng.choice((None, "deciding", "loyal", "at_risk")),
              "clue_channel": rng.choice((None, *channels))}
        policy = rng.choice((POLICY, ContactPolicy(min_gap_hours=0.0, global_cap=(9, 7.0))))
        kept = eligible_actions(actions, cust, now, policy, **kw)
        assert kept == eligible_actions(list(actions), cust, now, policy, **kw)
        seen_rules |= {f.rule for f in kept.filtered}
    # the comparison met every rule, so none of them can hide behind the kept results
    assert seen_rules >= {"stage", "consent", "channel_cap", "quiet_hours", "global_cap",
                          "min_gap", "opt_out", "suppressed"}


def test_a_kept_answer_in_quiet_hours_gives_each_decision_its_own_local_time() -> None:
    """The answer kept for a state of the channels with quiet hours in it is written anew for
    each decision: its local time and the end of the quiet hours, the other channels' words
    as they are (even with braces in a channel's name)."""
    pol = ContactPolicy(quiet_channels=("e{1}mail", "mobile"))
    acts = (CatalogAction("tips", "advice", channels=("e{1}mail", "mobile")),)
    both = CustomerContacts(consent=frozenset({"e{1}mail", "mobile"}), timezone="Europe/Paris")
    mobile = both._replace(consent=frozenset({"mobile"}))
    quiet = "quiet hours 21:00-08:00 for {} ({} in Europe/Paris)"
    for when, local in ((at(2026, 3, 10, 23, "Europe/Paris"), "23:00"),
                        (at(2026, 3, 11, 2, "Europe/Paris") + 1800, "02:30")):
        (f,) = eligible_actions(acts, both, when, pol).filtered
        assert f.reason == quiet.format("e{1}mail", local) + "; " + quiet.format("mobile", local)
        assert (f.rule, f.retry_at) == ("quiet_hours", at(2026, 3, 11, 8, "Europe/Paris"))
        (f,) = eligible_actions(acts, mobile, when, pol).filtered
        assert f.reason == "no consent for e{1}mail; " + quiet.format("mobile", local)
        assert (f.rule, f.retry_at) == ("quiet_hours", at(2026, 3, 11, 8, "Europe/Paris"))


def test_the_minimum_gap_is_to_the_last_message_before_not_one_planned_later() -> None:
    """A catch-up (a sweep applying a long silence's steps in one group) checks an early
    follow-up against contacts that already hold a message planned weeks later: that one
    is no "last message -648.0 hours ago", and it does not hold the follow-up back."""
    now = at(2026, 3, 10, 12, "UTC")
    base = dict(consent=frozenset({"email"}), timezone="UTC")
    later = CustomerContacts(**base, sent=((now + 27 * DAY, "email"),))
    res = eligible_actions([TIPS], later, now, POLICY)
    assert [e.action for e in res.eligible] == ["tips"]
    both = CustomerContacts(**base, sent=((now + 27 * DAY, "email"), (now - 5 * 3600, "email")))
    (f,) = eligible_actions([TIPS], both, now, POLICY).filtered
    assert f.reason.startswith("minimum gap: last message 5.0 hours ago")
