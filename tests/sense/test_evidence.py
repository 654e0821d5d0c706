"""The transparent decayed-evidence scorer: planted clues move the stage as a person expects."""

from __future__ import annotations

import math

import pytest

from outsidein.errors import ConfigError, NotFittedError
from outsidein.sense.evidence import EvidenceConfig, EvidenceScorer, EvidenceState
from outsidein.sense.stages import STAGES

DAY = 86400.0


@pytest.fixture
def scorer() -> EvidenceScorer:
    return EvidenceScorer().fit()


def loyal_customer(sc: EvidenceScorer) -> EvidenceState:
    st = sc.new_state()
    for day, ch, typ in ((0, "web", "product_view"), (1, "web", "cart_add"),
                         (2, "web", "checkout"), (40, "email", "email_open"),
                         (45, "web", "review"), (60, "email", "email_click")):
        sc.update(st, day * DAY, ch, typ)
    return st


def test_a_complaint_moves_a_loyal_customer_toward_service_and_at_risk(
        scorer: EvidenceScorer) -> None:
    st = loyal_customer(scorer)
    now = 61 * DAY
    assert scorer.stage(st, now) == "loyal"
    assert scorer.message_need(st, now) == "retention"
    before = scorer.proba(st, now)[STAGES.index("at_risk")]
    scorer.update(st, now, "call_center", "complaint")
    assert scorer.message_need(st, now) == "service"
    after = scorer.proba(st, now)[STAGES.index("at_risk")]
    assert after > 4 * before
    clue = scorer.clues(st, now, stage="at_risk")[0]
    assert clue.words == "complaint (call_center) 0 hours ago: +2.00 toward at risk"
    assert clue.contribution == pytest.approx(2.0)
    # the service need fades with its 3-day half-life: two weeks later it is the stage's need
    assert scorer.message_need(st, now + 14 * DAY) != "service"


def test_a_cart_add_means_deciding_and_a_checkout_ends_the_search(scorer: EvidenceScorer) -> None:
    st = scorer.new_state()
    scorer.update(st, 0.0, "web", "search")
    assert scorer.stage(st) == "considering"
    scorer.update(st, 3600.0, "web", "cart_add")
    assert scorer.stage(st) == "deciding"
    assert scorer.message_need(st) == "sales"
    scorer.update(st, 7200.0, "store", "checkout")
    assert scorer.stage(st) == "purchased"
    assert st.ev[STAGES.index("deciding")] == 0.0  # cleared by the checkout


def test_evidence_halves_after_its_half_life(scorer: EvidenceScorer) -> None:
    st = scorer.new_state()
    scorer.update(st, 0.0, "web", "cart_add")  # deciding +2.5, half-life 4 days
    k = STAGES.index("deciding")
    assert scorer.scores(st, 4 * DAY)[k] == pytest.approx(1.25)
    assert scorer.scores(st, 8 * DAY)[k] == pytest.approx(0.625)


def test_silence_after_a_purchase_turns_to_at_risk_then_lapsed(scorer: EvidenceScorer) -> None:
    st = scorer.new_state()
    scorer.update(st, 0.0, "web", "checkout")
    assert scorer.stage(st, 7 * DAY) == "purchased"
    assert scorer.stage(st, 70 * DAY) == "at_risk"
    assert scorer.stage(st, 200 * DAY) == "lapsed"
    words = [c.words for c in scorer.clues(st, 200 * DAY)]
    assert any(w.startswith("no interaction for 200 days") for w in words)


def test_probabilities_are_a_distribution_and_the_state_round_trips(
        scorer: EvidenceScorer) -> None:
    st = loyal_customer(scorer)
    p = scorer.proba(st, 70 * DAY)
    assert len(p) == 7 and all(x >= 0 for x in p) and math.isclose(sum(p), 1.0)
    again = EvidenceState.from_dict(st.to_dict())
    assert scorer.proba(again, 70 * DAY) == pytest.approx(p)
    copy = st.copy()
    scorer.update(copy, 71 * DAY, "web", "cart_add")
    assert scorer.proba(st, 70 * DAY) == pytest.approx(p)  # the copy is independent


def test_a_checkout_clears_the_earlier_clues_of_the_stages_it_resets(
        scorer: EvidenceScorer) -> None:
    st = scorer.new_state()
    scorer.update(st, 0.0, "web", "product_view")
    scorer.update(st, DAY, "web", "checkout")
    scorer.update(st, 2 * DAY, "web", "search")
    (clue,) = scorer.clues(st, 2 * DAY, stage="considering")
    assert (clue.type, clue.contribution) == ("search", pytest.approx(2.0))


def test_a_new_customer_is_aware_and_an_unknown_type_adds_no_evidence(
        scorer: EvidenceScorer) -> None:
    st = scorer.new_state()
    assert scorer.stage(st) == "aware"
    assert scorer.clues(st) == []
    scorer.update(st, 0.0, "web", "newsletter_signup")
    assert st.ev == [0.0] * 8 and st.ts == 0.0


def test_channel_specific_weights_win_over_the_type(scorer: EvidenceScorer) -> None:
    web, store = scorer.new_state(), scorer.new_state()
    scorer.update(web, 0.0, "web", "visit")
    scorer.update(store, 0.0, "store", "visit")
    assert scorer.stage(web) == "aware"
    assert scorer.stage(store) == "considering"


def test_configuration_from_toml_merges_defaults_and_names_bad_keys() -> None:
    cfg = EvidenceConfig.from_mapping({"weights": {"review": {"loyal": 3.0}},
                                       "half_lives": {"deciding": 2}})
    assert cfg.weights["review"]["loyal"] == 3.0
    assert cfg.weights["cart_add"]["deciding"] == 2.5  # default kept
    sc = EvidenceScorer(cfg).fit()
    st = sc.update(sc.new_state(), 0.0, "web", "cart_add")
    assert sc.scores(st, 2 * DAY)[STAGES.index("deciding")] == pytest.approx(1.25)
    with pytest.raises(ConfigError, match="unknown key 'halflife'"):
        EvidenceConfig.from_mapping({"halflife": {}})
    with pytest.raises(ConfigError, match=r"weights\['review'\] names stage 'fan'"):
        EvidenceConfig.from_mapping({"weights": {"review": {"fan": 1.0}}})
    with pytest.raises(ConfigError, match="weights key 'tweet'"):
        EvidenceConfig.from_mapping({"weights": {"tweet": {"aware": 1.0}}})
    with pytest.raises(ConfigError, match="half_lives"):
        EvidenceConfig.from_mapping({"half_lives": {"loyal": 0}})


def test_scoring_before_fit_says_what_to_do() -> None:
    with pytest.raises(NotFittedError, match="call fit"):
        EvidenceScorer().update(EvidenceState(), 0.0, "web", "visit")


def test_a_customer_who_visits_is_engaged_not_aware_and_the_clue_says_so(
        scorer: EvidenceScorer) -> None:
    # a prospect's visit tells awareness; a customer's tells engagement (never "aware" again,
    # where a welcome offer would greet someone who has bought)
    prospect = scorer.update(scorer.new_state(), 0.0, "web", "visit")
    assert scorer.stage(prospect, 0.0) == "aware"
    buyer = scorer.update(scorer.new_state(), 0.0, "web", "checkout")
    scorer.update(buyer, 20 * DAY, "web", "visit")
    assert scorer.stage(buyer, 20 * DAY) == "loyal"
    visit = scorer.clues(buyer, 20 * DAY, stage="loyal")[0]
    assert (visit.type, visit.contribution) == ("visit", pytest.approx(0.8 + 0.2))
    # the first purchase itself is no loyalty (only a repeat is), so it is not a clue of it
    assert [c.type for c in scorer.clues(buyer, 20 * DAY, stage="loyal")] == ["visit"]
    assert "aware" not in {scorer.stage(buyer, t * DAY) for t in range(20, 400, 5)}


def test_a_state_kept_before_the_first_purchase_was_remembered_still_reads(
        scorer: EvidenceScorer) -> None:
    old = scorer.update(scorer.new_state(), 0.0, "web", "checkout").to_dict()
    del old["first_buy"]  # as an Outside-In before 2026-11-30 kept it
    st = EvidenceState.from_dict(old)
    scorer.update(st, 10 * DAY, "email", "email_open")
    assert st.first_buy is None and scorer.stage(st, 10 * DAY) == "loyal"
    assert {c.type for c in scorer.clues(st, 10 * DAY, stage="loyal")} <= {"checkout",
                                                                           "email_open"}


@pytest.mark.parametrize("purchases", [1, 3])
def test_a_lapsed_customer_who_looks_in_is_still_lapsed_until_they_buy(
        scorer: EvidenceScorer, purchases: int) -> None:
    # bought (once, or three times a month apart), then 18 months of silence, then a visit:
    # a lapsed customer looking in (a win-back's moment), not a loyal one
    st = scorer.new_state()
    for k in range(purchases):
        scorer.update(st, k * 30 * DAY, "web", "checkout")
    quiet_from = (purchases - 1) * 30 * DAY
    back = quiet_from + 540 * DAY
    assert scorer.stage(st, back - 1) == "lapsed"
    scorer.update(st, back, "web", "visit")
    assert scorer.stage(st, back) == "lapsed"
    assert scorer.stage(st, back + 20 * DAY) == "lapsed"  # one visit does not undo it
    top = scorer.clues(st, back + 3 * DAY)[0]
    # the lapsed pull at full strength (1.5 x silence_weight 2.5), faded 3 of its 120 days
    assert top.words == ("no interaction for 540 days, until 3.0 days ago: "
                         f"{3.75 * 0.5 ** (3 / 120):+.2f} toward lapsed")
    # the silence is remembered through the state's round trip
    again = EvidenceState.from_dict(st.to_dict())
    assert again.gap == st.gap and scorer.stage(again, back + 3 * DAY) == "lapsed"
    # a purchase wins them back and ends the memory (and its clue)
    scorer.update(st, back + 5 * DAY, "web", "checkout")
    assert scorer.stage(st, back + 5 * DAY) == "purchased" and st.gap is None
    assert scorer.clues(st, back + 5 * DAY, stage="lapsed") == []


def test_a_customer_back_from_a_shorter_silence_is_not_held_to_it(scorer: EvidenceScorer) -> None:
    # 100 days away is at risk while it lasts; the next touch ends it (as the demo's truth
    # has it: a customer who comes back was never lost), and no memory of it is kept
    st = scorer.update(scorer.new_state(), 0.0, "web", "checkout")
    scorer.update(st, 30 * DAY, "web", "checkout")
    assert scorer.stage(st, 130 * DAY) == "at_risk"
    scorer.update(st, 130 * DAY, "email", "email_click")
    assert scorer.stage(st, 130 * DAY) == "loyal" and st.gap is None


def test_a_state_kept_before_silences_were_remembered_still_reads(
        scorer: EvidenceScorer) -> None:
    old = scorer.update(scorer.new_state(), 0.0, "web", "checkout").to_dict()
    del old["gap"]  # as an Outside-In before 2026-11-30 kept it
    st = EvidenceState.from_dict(old)
    assert st.gap is None
    scorer.update(st, 400 * DAY, "web", "visit")
    assert scorer.stage(st, 400 * DAY) == "lapsed" and st.gap is not None
