"""What the decayed-evidence scorer keeps per customer, and the clues it gives.

:class:`EvidenceState` is one customer's evidence (it serialises to a plain dict for the
store); :class:`Clue` is one interaction, or a silence, and how much it pushes toward a
stage now.  Both are made and read by :class:`outsidein.sense.evidence.EvidenceScorer`,
which re-exports them.

>>> EvidenceState.from_dict(EvidenceState(5.0).to_dict()).ts
5.0
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from outsidein.sense.stages import STAGE_LABELS, STAGES

__all__ = ["Clue", "EvidenceState"]

_K = len(STAGES)


class EvidenceState:
    """One customer's decayed evidence, as of ``ts`` (seconds).

    ``ev`` holds the seven stages then the service evidence; ``recent`` holds the last
    interactions as ``(ts, channel, type)``; ``last_buy`` is the time of the last checkout
    (None for a prospect) and ``first_buy`` that of the first one (None for a prospect, and
    for a state kept before 2026-11-30, whose first purchase counted toward loyal).
    ``gap`` is the last silence a customer broke, kept for its clue: ``(ts, days, at_risk,
    lapsed)``, the touch that broke it, how long it lasted and the evidence it left
    (:meth:`EvidenceScorer.update`); None when there is none, or a purchase ended it.
    """

    __slots__ = ("ev", "first_buy", "gap", "last_buy", "recent", "ts")

    def __init__(self, ts: float | None = None, ev: list[float] | None = None,
                 recent: list[tuple[float, str, str]] | None = None,
                 last_buy: float | None = None, first_buy: float | None = None,
                 gap: tuple[float, float, float, float] | None = None):
        self.ts = ts
        self.ev = ev if ev is not None else [0.0] * (_K + 1)
        self.recent = recent if recent is not None else []
        self.last_buy = last_buy
        self.first_buy = first_buy
        self.gap = gap

    @property
    def bought(self) -> bool:
        """Whether a checkout was seen."""
        return self.last_buy is not None

    def copy(self) -> EvidenceState:
        return EvidenceState(self.ts, list(self.ev), list(self.recent), self.last_buy,
                             self.first_buy, self.gap)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (for a per-customer store)."""
        return {"ts": self.ts, "ev": list(self.ev), "last_buy": self.last_buy,
                "first_buy": self.first_buy, "recent": list(map(list, self.recent)),
                "gap": None if self.gap is None else list(self.gap)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> EvidenceState:
        # as :meth:`to_dict` wrote it (numbers stay numbers, names stay strings)
        gap = d.get("gap")
        return cls(d.get("ts"), list(d["ev"]), list(map(tuple, d.get("recent", ()))),
                   d.get("last_buy"), d.get("first_buy"), None if gap is None else tuple(gap))

    def __repr__(self) -> str:
        ev = ", ".join(f"{s}={v:.2f}" for s, v in zip((*STAGES, "service"), self.ev, strict=True)
                       if v)
        return f"EvidenceState(ts={self.ts}, {ev or 'no evidence'})"


class Clue(NamedTuple):
    """One interaction (or a silence) and how much it pushes toward a stage now.

    A silence still going on has ``days_ago`` its length; a silence the customer broke has
    ``quiet`` its length and ``days_ago`` the time since it ended.
    """

    type: str
    channel: str
    days_ago: float
    stage: str
    contribution: float
    quiet: float = 0.0

    @property
    def words(self) -> str:
        """The clue in words.

        >>> Clue("complaint", "call_center", 2.0, "at_risk", 1.87).words
        'complaint (call_center) 2.0 days ago: +1.87 toward at risk'
        >>> Clue("silence", "", 3.0, "lapsed", 3.31, 160.0).words
        'no interaction for 160 days, until 3.0 days ago: +3.31 toward lapsed'
        """
        typ, channel, days, stage, contribution, quiet = self  # one f-string each: per event
        if typ == "silence":
            if quiet:
                until = f"{days * 24:.0f} hours" if days < 1 else f"{days:.1f} days"
                return (f"no interaction for {quiet:.0f} days, until {until} ago: "
                        f"{contribution:+.2f} toward {STAGE_LABELS[stage]}")
            return (f"no interaction for {days:.0f} days: {contribution:+.2f} toward "
                    f"{STAGE_LABELS[stage]}")
        if days < 1:
            return (f"{typ} ({channel}) {days * 24:.0f} hours ago: {contribution:+.2f} toward "
                    f"{STAGE_LABELS[stage]}")
        return (f"{typ} ({channel}) {days:.1f} days ago: {contribution:+.2f} toward "
                f"{STAGE_LABELS[stage]}")
