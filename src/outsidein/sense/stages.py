"""The buying-cycle stages, what each one means, the message each one needs, and the demo's names.

Choices made here
-----------------
* Seven stages, in cycle order (their index is the integer every other module uses):
  ``aware`` (unaware / aware), ``considering``, ``deciding``, ``purchased``
  (purchased / onboarding), ``loyal``, ``at_risk``, ``lapsed``.
* Each stage maps to one of the five message needs (awareness, advice, sales, retention,
  service).  ``purchased`` needs *service* (onboarding: delivery, set-up, first use);
  ``loyal``, ``at_risk`` and ``lapsed`` need *retention* (thank and reward, win back).  A
  recent complaint or support call overrides the stage's need with *service*: that override
  lives in :mod:`outsidein.sense.evidence` (:meth:`EvidenceScorer.message_need`).
* The demo generator (``outsidein.demo.journey``) labels interactions with five stages:
  awareness, consideration, purchase, loyalty, lapse.  :data:`DEMO_TO_STAGE` maps each to
  the engine's stage; :data:`STAGE_TO_DEMO` maps the engine's seven back to the demo's five
  for scoring (``deciding`` -> consideration, ``at_risk`` -> lapse: the demo has no
  separate deciding or at-risk stage; its "lapse" covers the whole drift away).
* :data:`INTERACTION_TYPES` and :data:`CHANNELS` repeat the warehouse schema's tuples
  (engines may not import storage); ``tests/sense/test_stages.py`` checks they match.

How it is wired: ``outsidein sense replay`` scores the demo's ``truth_stages`` through
:data:`STAGE_TO_DEMO`; the journey API and the pages show :data:`STAGE_LABELS` and
:data:`STAGE_DEFINITIONS`.

>>> need_for("deciding")
'sales'
>>> to_demo_stage("at_risk"), DEMO_TO_STAGE["consideration"]
('lapse', 'considering')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "ATTRIBUTION_DAYS", "OUTCOME_TYPES", "SILENCE",
    "CHANNELS",
    "DEMO_STAGES",
    "DEMO_TO_STAGE",
    "INTERACTION_TYPES",
    "MESSAGE_NEEDS",
    "STAGES",
    "STAGE_DEFINITIONS",
    "STAGE_INDEX",
    "STAGE_LABELS",
    "STAGE_NEED",
    "STAGE_TO_DEMO",
    "StageInfo",
    "demo_accuracy",
    "need_for",
    "stage_info",
    "to_demo_stage",
]

#: the engine's stages, in buying-cycle order (index = stage number everywhere in sense)
STAGES: tuple[str, ...] = ("aware", "considering", "deciding", "purchased", "loyal", "at_risk",
                           "lapsed")
STAGE_INDEX: dict[str, int] = {s: i for i, s in enumerate(STAGES)}

#: how a stage is shown to people
STAGE_LABELS: dict[str, str] = {
    "aware": "unaware / aware",
    "considering": "considering",
    "deciding": "deciding",
    "purchased": "purchased / onboarding",
    "loyal": "loyal",
    "at_risk": "at risk",
    "lapsed": "lapsed",
}

#: each stage in words: what the customer is doing and the clues that show it
STAGE_DEFINITIONS: dict[str, str] = {
    "aware": "Knows the brand or has just met it, but is not looking for anything yet; "
             "clues: a social or web visit, an email opened, little else.",
    "considering": "Is researching a need and comparing options; clues: product views, "
                   "searches, store visits, chats.",
    "deciding": "Is close to buying and weighing price and terms; clues: pricing views, "
                "items added to the cart, repeated views of one product.",
    "purchased": "Has just bought and is receiving, setting up or first using the product; "
                 "clues: a checkout, delivery and set-up questions.",
    "loyal": "An active customer who keeps engaging and buying; clues: emails opened and "
             "clicked, reviews, regular visits, repeat purchases.",
    "at_risk": "Still a customer but slipping: a complaint, service trouble, falling "
               "activity or an unsubscribe.",
    "lapsed": "Has stopped buying and engaging; clues: long silence, unsubscribes, "
              "only rare opens.",
}

#: the five message needs
MESSAGE_NEEDS: tuple[str, ...] = ("awareness", "advice", "sales", "retention", "service")

#: stage -> the message it needs (a recent complaint overrides this with "service")
STAGE_NEED: dict[str, str] = {
    "aware": "awareness",
    "considering": "advice",
    "deciding": "sales",
    "purchased": "service",
    "loyal": "retention",
    "at_risk": "retention",
    "lapsed": "retention",
}

#: the demo generator's stages (``outsidein.demo.journey.STAGES``, table ``truth_stages``)
DEMO_STAGES: tuple[str, ...] = ("awareness", "consideration", "purchase", "loyalty", "lapse")
#: demo stage -> engine stage
DEMO_TO_STAGE: dict[str, str] = {
    "awareness": "aware",
    "consideration": "considering",
    "purchase": "purchased",
    "loyalty": "loyal",
    "lapse": "lapsed",
}
#: engine stage -> demo stage (the coarser labels the demo's truth can score)
STAGE_TO_DEMO: dict[str, str] = {
    "aware": "awareness",
    "considering": "consideration",
    "deciding": "consideration",
    "purchased": "purchase",
    "loyal": "loyalty",
    "at_risk": "lapse",
    "lapsed": "lapse",
}

#: same tuples as ``outsidein.warehouse.schema`` (engines may not import storage)
CHANNELS: tuple[str, ...] = ("store", "call_center", "web", "email", "mobile", "chat", "social")
INTERACTION_TYPES: tuple[str, ...] = (
    "visit", "product_view", "search", "cart_add", "checkout", "support_call",
    "complaint", "email_open", "email_click", "unsubscribe", "review", "pricing_view",
)


#: The type of the event a stage change by silence is applied as (the sweep's,
#: :mod:`outsidein.sense.silence`): no interaction, it adds no evidence.
SILENCE = "silence"
#: Event types that count as the outcome of a message: a click or a purchase.
OUTCOME_TYPES: tuple[str, ...] = ("email_click", "click", "checkout", "purchase", "order")
#: Days after a message in which an outcome is credited to it (``[sense] attribution_days``).
ATTRIBUTION_DAYS = 7


@dataclass(frozen=True)
class StageInfo:
    """One stage: its name, label, definition in words and message need."""

    name: str
    index: int
    label: str
    definition: str
    need: str


def _check(stage: str) -> str:
    if stage not in STAGE_INDEX:
        raise ValueError(f"unknown stage {stage!r}: expected one of {', '.join(STAGES)}")
    return stage


def stage_info(stage: str | int) -> StageInfo:
    """Everything about one stage, by name or index.

    >>> stage_info(5).label
    'at risk'
    """
    name = STAGES[stage] if isinstance(stage, int) else _check(stage)
    return StageInfo(name, STAGE_INDEX[name], STAGE_LABELS[name], STAGE_DEFINITIONS[name],
                     STAGE_NEED[name])


def need_for(stage: str | int) -> str:
    """The message need of a stage (by name or index).

    >>> need_for(0)
    'awareness'
    """
    return STAGE_NEED[STAGES[stage] if isinstance(stage, int) else _check(stage)]


def to_demo_stage(stage: str | int) -> str:
    """The demo's label for an engine stage (by name or index)."""
    return STAGE_TO_DEMO[STAGES[stage] if isinstance(stage, int) else _check(stage)]


def demo_accuracy(engine_stages: Sequence[str | int] | np.ndarray,
                  demo_stages: Sequence[str] | np.ndarray) -> float:
    """Share of interactions whose sensed stage, mapped to the demo's labels, is the truth.

    Parameters
    ----------
    engine_stages
        Sensed stages, by name or index, one per interaction.
    demo_stages
        The demo's ``truth_stages.stage`` for the same interactions.

    >>> demo_accuracy(["aware", "deciding", "at_risk"], ["awareness", "consideration", "loyalty"])
    0.6666666666666666
    """
    if len(engine_stages) != len(demo_stages):
        raise ValueError(f"demo_accuracy: {len(engine_stages)} sensed stages but "
                         f"{len(demo_stages)} true stages; pass one of each per interaction")
    if len(demo_stages) == 0:
        raise ValueError("demo_accuracy: no interactions to score")
    hits = sum(to_demo_stage(s if isinstance(s, str) else int(s)) == t
               for s, t in zip(engine_stages, demo_stages, strict=True))
    return hits / len(demo_stages)
