"""The decayed-evidence scorer's settings: its default weights and half-lives, and
:class:`EvidenceConfig`, filled from ``[sense.evidence]`` in ``outsidein.toml`` and
validated (each bad key named).  :mod:`outsidein.sense.evidence` scores with them (and
exports these names too).

>>> EvidenceConfig().half_lives["purchased"]
3.0
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from outsidein.errors import ConfigError
from outsidein.sense.stages import CHANNELS, INTERACTION_TYPES, STAGE_INDEX, STAGES

__all__ = ["DEFAULT_HALF_LIVES", "DEFAULT_WEIGHTS", "EvidenceConfig"]

#: interaction type (or "channel:type") -> {stage or "service": weight}
DEFAULT_WEIGHTS: dict[str, dict[str, float]] = {
    "visit": {"aware": 0.8, "loyal": 0.2},
    "store:visit": {"considering": 2.0, "aware": 0.2},
    "email_open": {"aware": 0.4, "loyal": 0.5},
    "email_click": {"loyal": 0.7, "considering": 0.4},
    "product_view": {"considering": 2.0, "deciding": 0.3},
    "search": {"considering": 2.0},
    "pricing_view": {"deciding": 2.0, "considering": 0.5},
    "cart_add": {"deciding": 2.5},
    "checkout": {"purchased": 4.0, "loyal": 0.3},
    "support_call": {"purchased": 0.4, "at_risk": 0.4, "service": 1.0},
    "complaint": {"at_risk": 2.0, "service": 2.0},
    "unsubscribe": {"lapsed": 2.0, "at_risk": 1.0},
    "review": {"loyal": 1.2},
}
#: stage (or "service") -> half-life of its evidence in days
DEFAULT_HALF_LIVES: dict[str, float] = {
    "aware": 30.0, "considering": 5.0, "deciding": 4.0, "purchased": 3.0, "loyal": 90.0,
    "at_risk": 21.0, "lapsed": 120.0, "service": 3.0,
}


@dataclass(frozen=True)
class EvidenceConfig:
    """Weights, half-lives and thresholds of the decayed-evidence scorer.

    Attributes
    ----------
    weights
        Interaction type, or ``"channel:type"`` (which wins), to ``{stage: weight}``;
        ``"service"`` is the service evidence.  Negative weights are allowed.
    half_lives
        Days for each stage's (and the service) evidence to halve.
    resets
        Interaction type -> stages whose evidence it clears (a checkout ends the search).
    prior
        Evidence every customer starts with (before any interaction: aware); a customer who
        has bought keeps only its share for the stages after a purchase.
    service_threshold
        Service evidence at or above which the message need is "service".
    silence_days
        (start, full) days of silence over which the at-risk pull ramps up for a customer
        who has bought; the lapsed pull ramps over twice these.
    silence_weight
        Evidence the silence adds at full strength (at risk; lapsed gets 1.5 times it).
    temperature
        Softmax temperature (lower = more decisive probabilities).
    max_clues
        Interactions kept to explain the stage.
    """

    weights: Mapping[str, Mapping[str, float]] = field(default_factory=lambda: DEFAULT_WEIGHTS)
    half_lives: Mapping[str, float] = field(default_factory=lambda: DEFAULT_HALF_LIVES)
    resets: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: {
        "checkout": ("aware", "considering", "deciding", "at_risk", "lapsed")})
    prior: Mapping[str, float] = field(default_factory=lambda: {"aware": 0.5})
    service_threshold: float = 1.0
    silence_days: tuple[float, float] = (30.0, 75.0)
    silence_weight: float = 2.5
    temperature: float = 1.0
    max_clues: int = 6

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = "outsidein.toml [sense.evidence]"
                     ) -> EvidenceConfig:
        """Build from a TOML section; unknown keys and unknown stages are errors naming them.

        Weights and half-lives given there are merged over the defaults.

        >>> EvidenceConfig.from_mapping({"half_lives": {"deciding": 2}}).half_lives["deciding"]
        2.0
        """
        known = set(cls.__dataclass_fields__)
        extra = sorted(set(data) - known)
        if extra:
            raise ConfigError(f"{source}: unknown key {extra[0]!r}; expected one of "
                              f"{', '.join(sorted(known))}")
        kw: dict[str, Any] = dict(data)
        if "weights" in kw:
            kw["weights"] = {**DEFAULT_WEIGHTS, **{k: dict(v) for k, v in kw["weights"].items()}}
        if "half_lives" in kw:
            kw["half_lives"] = {**DEFAULT_HALF_LIVES,
                                **{k: float(v) for k, v in kw["half_lives"].items()}}
        if "resets" in kw:
            kw["resets"] = {k: tuple(v) for k, v in kw["resets"].items()}
        if "silence_days" in kw:
            kw["silence_days"] = tuple(float(x) for x in kw["silence_days"])
        cfg = cls(**kw)
        cfg.validate(source)
        return cfg

    def validate(self, source: str = "EvidenceConfig") -> None:
        """Raise :class:`ConfigError` naming the first bad key."""
        targets = set(STAGES) | {"service"}
        for key, row in self.weights.items():
            channel, _, typ = key.rpartition(":")
            if typ not in INTERACTION_TYPES or (channel and channel not in CHANNELS):
                raise ConfigError(f"{source}: weights key {key!r}: expected an interaction type "
                                  f"({', '.join(INTERACTION_TYPES)}) or 'channel:type'")
            for stage in row:
                if stage not in targets:
                    raise ConfigError(f"{source}: weights[{key!r}] names stage {stage!r}; "
                                      f"expected one of {', '.join(sorted(targets))}")
        for stage, hl in self.half_lives.items():
            if stage not in targets or not hl > 0:
                raise ConfigError(f"{source}: half_lives[{stage!r}] = {hl!r}: expected a stage "
                                  "or 'service' with a positive number of days")
        for key, stages in list(self.resets.items()) + [("prior", tuple(self.prior))]:
            for stage in stages:
                if stage not in STAGE_INDEX:
                    raise ConfigError(f"{source}: {key} names stage {stage!r}; expected one of "
                                      f"{', '.join(STAGES)}")
