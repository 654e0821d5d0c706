"""The stages, their needs, and the mapping to the demo generator's stages."""

from __future__ import annotations

import pytest

from outsidein.demo.journey import STAGE_TOUCHES
from outsidein.demo.journey import STAGES as DEMO_GENERATOR_STAGES
from outsidein.sense.evidence import DEFAULT_WEIGHTS
from outsidein.sense.stages import (
    CHANNELS,
    DEMO_STAGES,
    DEMO_TO_STAGE,
    INTERACTION_TYPES,
    MESSAGE_NEEDS,
    STAGE_DEFINITIONS,
    STAGE_NEED,
    STAGE_TO_DEMO,
    STAGES,
    demo_accuracy,
    need_for,
    stage_info,
    to_demo_stage,
)
from outsidein.warehouse import schema


def test_the_seven_stages_of_the_issue_in_cycle_order_each_defined_in_words() -> None:
    assert STAGES == ("aware", "considering", "deciding", "purchased", "loyal", "at_risk",
                      "lapsed")
    for s in STAGES:
        assert len(STAGE_DEFINITIONS[s].split()) >= 10, s
    assert stage_info("purchased").label == "purchased / onboarding"
    assert stage_info(0).label == "unaware / aware"


def test_each_stage_needs_one_of_the_five_messages_and_every_need_is_used() -> None:
    assert MESSAGE_NEEDS == ("awareness", "advice", "sales", "retention", "service")
    assert set(STAGE_NEED) == set(STAGES)
    assert set(STAGE_NEED.values()) == set(MESSAGE_NEEDS)
    assert need_for("aware") == "awareness"
    assert need_for("considering") == "advice"
    assert need_for("deciding") == "sales"
    assert need_for("at_risk") == "retention"


def test_every_demo_generator_stage_maps_to_an_engine_stage_and_back() -> None:
    assert DEMO_STAGES == DEMO_GENERATOR_STAGES
    for demo in DEMO_GENERATOR_STAGES:
        assert STAGE_TO_DEMO[DEMO_TO_STAGE[demo]] == demo
    assert set(STAGE_TO_DEMO) == set(STAGES)
    assert set(STAGE_TO_DEMO.values()) == set(DEMO_STAGES)
    assert to_demo_stage("deciding") == "consideration"


def test_the_engine_copies_of_the_warehouse_vocabularies_match() -> None:
    assert INTERACTION_TYPES == schema.INTERACTION_TYPES
    assert CHANNELS == schema.CHANNELS


def test_every_interaction_the_demo_generates_carries_evidence() -> None:
    types = {t for touches in STAGE_TOUCHES.values() for _, t, _ in touches}
    types |= {"support_call", "complaint"}  # the demo's service contacts
    assert types <= set(DEFAULT_WEIGHTS), types - set(DEFAULT_WEIGHTS)


def test_demo_accuracy_scores_on_the_demo_labels() -> None:
    sensed = ["aware", "deciding", "considering", "at_risk", "loyal", 4]
    truth = ["awareness", "consideration", "consideration", "lapse", "lapse", "loyalty"]
    assert demo_accuracy(sensed, truth) == pytest.approx(5 / 6)
    with pytest.raises(ValueError, match="2 sensed stages but 1 true"):
        demo_accuracy(["aware", "loyal"], ["awareness"])
    with pytest.raises(ValueError, match="unknown stage 'buying'"):
        need_for("buying")
