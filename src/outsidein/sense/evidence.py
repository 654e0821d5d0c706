"""The default stage model: transparent, decayed evidence per stage.

Every interaction adds a configured weight to one or more stages; each stage's evidence
decays with its own half-life; the stage probabilities are a softmax of the evidence plus a
prior and a "silence" term (long quiet after a purchase points to at risk, then lapsed).
A checkout also clears the pre-purchase evidence (``resets``).  A separate *service*
evidence (complaints, support calls; short half-life) overrides the stage's message need
with "service" while it is above a threshold.

Choices made here
-----------------
* The hot path is plain Python on floats (``math.exp``, lists): a numpy call costs about a
  microsecond of overhead, more than the arithmetic on eight numbers.  One
  :meth:`EvidenceScorer.update` plus :meth:`EvidenceScorer.proba` costs a few microseconds.
* The state (:class:`EvidenceState`) is a small mutable object: ``update`` changes it in
  place and returns it (copy it with :meth:`EvidenceState.copy` to keep the old one).
  It serialises to a plain dict (:meth:`EvidenceState.to_dict`) so a store can keep it per
  customer.
* Time is in seconds (Unix epoch); half-lives are in days.
* Weights are keyed by interaction type, optionally overridden by ``"channel:type"``.
  The defaults were set against the demo's ``truth_stages`` (the only labelled history):
  on two samples of 2,000 demo customers the sensed stage, mapped to the demo's five labels
  (:func:`outsidein.sense.stages.demo_accuracy`), is right for 82-83% of interactions (the
  first guesses gave 61%).  Silence counts days since the last interaction (days since the
  last purchase gave 79%).
* The clues: the last :attr:`EvidenceConfig.max_clues` interactions are kept, and
  :meth:`EvidenceScorer.clues` ranks their current (decayed) contribution to the sensed
  stage; each :class:`Clue` is numbers, and ``clue.words`` says it (rendered when shown,
  not in the hot path).

How it is wired: the ``[sense.evidence]`` section of ``outsidein.toml`` fills
:class:`EvidenceConfig` (:mod:`outsidein.sense.evidence_config`, ``from_mapping``, read by
:func:`outsidein.services.sense.stage_model.configured_scorer`); the events API and
``outsidein sense replay`` call ``update`` then ``stage_probability``/``clues`` for each
event and store ``state.to_dict()`` in the customer's state.

>>> sc = EvidenceScorer().fit()
>>> st = sc.new_state()
>>> st = sc.update(st, 0.0, "web", "cart_add")
>>> sc.stage(st, 0.0)
'deciding'
>>> st = sc.update(st, 3600.0, "call_center", "complaint")
>>> sc.message_need(st, 3600.0)
'service'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from outsidein.errors import NotFittedError
from outsidein.sense.evidence_config import DEFAULT_HALF_LIVES, DEFAULT_WEIGHTS, EvidenceConfig
from outsidein.sense.evidence_state import Clue, EvidenceState
from outsidein.sense.stages import SILENCE, STAGE_INDEX, STAGE_NEED, STAGES

__all__ = ["DEFAULT_HALF_LIVES", "DEFAULT_WEIGHTS", "Clue", "EvidenceConfig", "EvidenceScorer",
           "EvidenceState"]

_DAY = 86400.0
_LN2 = math.log(2.0)
_K = len(STAGES)
#: The stages before a first purchase: a buyer gets no prior for them (:meth:`scores`)
_PROSPECT_STAGES = frozenset({"aware", "considering", "deciding"})
_SERVICE = _K  # index of the service evidence after the seven stages
#: A customer's first checkout adds nothing toward loyal (:meth:`EvidenceScorer.update`): a
#: one-time buyer who does nothing more stays "purchased" until silence makes them at risk,
#: and is not thanked for a loyalty they have not shown; a repeat purchase, opens, clicks
#: and reviews are the loyal stage's clues
_LOYAL = STAGE_INDEX["loyal"]
#: A customer who has bought is past awareness: a touch that tells a prospect's awareness
#: (a visit, an opened e-mail) is a customer's engagement, and its weight toward aware counts
#: toward loyal (:meth:`EvidenceScorer.update`); a buyer is never sensed "aware" (where a
#: welcome offer would greet a customer of years)
_AWARE = STAGE_INDEX["aware"]
_RISK, _LAPSED = STAGE_INDEX["at_risk"], STAGE_INDEX["lapsed"]
#: the kinds of weight row: a prospect's touch, a first purchase, a customer's touch
_PROSPECT, _FIRST_BUY, _CUSTOMER = 0, 1, 2
# builds a NamedTuple without its generated ``__new__`` (a Python call): the clues of every
# decision
_new = tuple.__new__

def _ramp(x: float, lo: float, hi: float) -> float:
    return 0.0 if x <= lo else (1.0 if x >= hi else (x - lo) / (hi - lo))


class EvidenceScorer:
    """The transparent decayed-evidence stage scorer.

    Parameters
    ----------
    config
        Weights, half-lives and thresholds; the defaults when None.

    ``fit()`` compiles the configuration into lookup tables (nothing is learned); it
    returns ``self``.  ``update``, ``proba``, ``stage``, ``message_need`` and ``clues`` are
    the hot path.
    """

    def __init__(self, config: EvidenceConfig | None = None):
        self.config = config

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"config": self.config}

    def __repr__(self) -> str:
        return "EvidenceScorer()" if self.config is None else "EvidenceScorer(config=...)"

    def fit(self, X: Any = None, y: Any = None) -> EvidenceScorer:
        """Compile the configuration (validated) into lookup tables; returns ``self``."""
        cfg = self.config or EvidenceConfig()
        cfg.validate()
        targets = {**STAGE_INDEX, "service": _SERVICE}
        self.config_ = cfg
        self.rates_ = [_LN2 / (cfg.half_lives.get(s, 30.0) * _DAY) for s in (*STAGES, "service")]
        self.table_: dict[str, tuple[tuple[int, float], ...]] = {
            key: tuple((targets[s], float(w)) for s, w in row.items())
            for key, row in cfg.weights.items()}
        self.resets_ = {t: tuple(STAGE_INDEX[s] for s in stages)
                        for t, stages in cfg.resets.items()}
        self.prior_ = [float(cfg.prior.get(s, 0.0)) for s in STAGES]
        # a customer who has bought is past looking: the prior's pull to a prospect's
        # stage is not theirs, so a faded purchase goes to loyal, then at risk and lapsed,
        # not back to aware (where a welcome offer would greet a customer of 10 days)
        self._buyer_prior = [0.0 if s in _PROSPECT_STAGES else p
                             for s, p in zip(STAGES, self.prior_, strict=True)]
        self._rows: dict[tuple[str, str], tuple[tuple[int, float], ...]] = {}
        self._kind_rows: dict[tuple[str, str, int], tuple[tuple[int, float], ...]] = {}
        self._dense: dict[tuple[str, str, int], tuple[float, ...]] = {}
        # read on every decision: the settings as plain attributes, the silence's ramps
        # (at risk, then lapsed over twice the days) worked out once
        lo, hi = cfg.silence_days
        self._silence_ramps = (lo, hi, cfg.silence_weight, 2 * lo, 2 * hi,
                               1.5 * cfg.silence_weight)
        # a silence as long as the lapsed pull's full ramp is remembered once broken
        self._gap_s = 2 * hi * _DAY
        self._keep, self._temperature = cfg.max_clues, cfg.temperature
        self._service_threshold = cfg.service_threshold
        return self

    def _fitted(self) -> None:
        if not hasattr(self, "rates_"):
            raise NotFittedError("EvidenceScorer: call fit() before scoring (it compiles the "
                                 "weights and half-lives)")

    @staticmethod
    def new_state() -> EvidenceState:
        """A customer with no interaction yet."""
        return EvidenceState()

    def update(self, state: EvidenceState, ts: float, channel: str, type: str) -> EvidenceState:
        """Decay the state to ``ts`` and add the interaction's weights (in place; returns it).

        Unknown interaction types add no evidence but still count as activity.  A
        ``"silence"`` (the sweep's event for a stage changed by silence,
        :mod:`outsidein.sense.silence`) is no interaction: the state is left as it is (its
        ``ts`` stays the last interaction's, which the silence counts from).  A customer's
        first ``checkout`` adds nothing toward loyal (:data:`_LOYAL`); later ones do.

        A customer who has bought and breaks a silence long enough to have lapsed fully
        (twice the end of ``silence_days``: 150 days by default) keeps what the silence
        told: its pull toward at risk and lapsed at that moment becomes evidence of those
        stages, fading with their half-lives (``state.gap`` keeps it for the clue).  So a
        visit after a year away is a lapsed customer looking in (a win-back message's
        moment), not a loyal one; a purchase ends it (a checkout resets at risk and lapsed),
        and so do enough touches.  A shorter silence is forgotten at the next touch, as the
        demo's truth has it: there, a customer is loyal until they drop out, so a touch
        after any silence is proof of life.  Remembering every silence from 30 days on
        (continuous, but a loyal customer back after six weeks then reads at risk) cost 9.5
        points of agreement with the demo's truth; remembering a full lapse costs 2.0.

        >>> sc = EvidenceScorer().fit()
        >>> once = sc.update(sc.new_state(), 0.0, "web", "checkout")
        >>> [sc.stage(once, d * 86400.0) for d in (1, 20, 40)]
        ['purchased', 'purchased', 'at_risk']
        >>> twice = sc.update(once.copy(), 30 * 86400.0, "web", "checkout")
        >>> sc.stage(twice, 50 * 86400.0)
        'loyal'
        >>> back = sc.update(once.copy(), 400 * 86400.0, "web", "visit")  # after 400 days
        >>> sc.stage(back, 400 * 86400.0), [c.words for c in sc.clues(back, top=1)]
        ('lapsed', ['no interaction for 400 days, until 0 hours ago: +3.75 toward lapsed'])
        """
        try:
            row = self._rows.get((channel, type))
        except AttributeError:
            self._fitted()
            raise
        if row is None:
            row = self._row(channel, type)
        if not row and type == SILENCE:  # only types without weights pay the comparison
            return state
        last = state.ts
        gap = None
        if last is None:
            state.ts = ts
        else:
            dt = ts - last
            if dt > 0:  # decayed to now
                if dt >= self._gap_s and state.last_buy is not None:  # a lapse broken
                    gap = (ts, dt / _DAY, *self._silence(state, ts))  # its pulls now
                exp = math.exp
                state.ev = [e * exp(-r * dt) if e else 0.0
                            for e, r in zip(state.ev, self.rates_)]  # noqa: B905 (both _K + 1)
                state.ts = ts
            elif not dt < 0:  # a late event is counted as of now, not decayed backwards
                state.ts = ts
        ev = state.ev
        if gap is not None:
            ev[_RISK] += gap[2]
            ev[_LAPSED] += gap[3]
            state.gap = gap
        reset = self.resets_.get(type)
        if reset:
            for i in reset:
                ev[i] = 0.0
            kept = state.gap
            if kept is not None and (_RISK in reset or _LAPSED in reset):  # a purchase ends it
                risk, lapse = (0.0 if _RISK in reset else kept[2],
                               0.0 if _LAPSED in reset else kept[3])
                state.gap = (*kept[:2], risk, lapse) if risk or lapse else None
        if state.last_buy is not None:  # a customer's touch: engagement, not awareness
            row = self._kind_rows.get((channel, type, _CUSTOMER)) or self._kind_row(
                channel, type, _CUSTOMER)
        elif type == "checkout":  # a first purchase is no loyalty yet: a repeat is
            row = self._kind_row(channel, type, _FIRST_BUY)
            state.first_buy = ts
        if type == "checkout":
            state.last_buy = ts
        if row:
            for i, w in row:
                ev[i] += w
        recent = state.recent
        recent.append((ts, channel, type))
        if len(recent) > self._keep:
            del recent[0]
        return state

    def update_event(self, state: EvidenceState, event: Mapping[str, Any]) -> EvidenceState:
        """:meth:`update` from an event dict with ``ts`` (seconds), ``channel`` and ``type``."""
        return self.update(state, float(event["ts"]), str(event["channel"]), str(event["type"]))

    def scores(self, state: EvidenceState, now: float | None = None) -> list[float]:
        """Evidence per stage as of ``now``: decayed evidence + prior (a prospect's stages
        have none once the customer has bought) + silence."""
        try:
            prior = self.prior_ if state.last_buy is None else self._buyer_prior
        except AttributeError:
            self._fitted()
            raise
        ts = state.ts
        if ts is None:
            return list(prior)
        dt = 0.0 if now is None else now - ts
        if dt < 0.0:
            dt = 0.0
        ev = state.ev
        if dt == 0.0:  # scored right after an update: nothing decays, and no silence yet
            out = [p + e for p, e in zip(prior, ev, strict=False)]  # the stages, not service
            if self._silence_ramps[0] >= 0.0:  # a ramp starting at 0 days or later is 0 now
                return out
        else:
            exp = math.exp
            out = [p + e * exp(-r * dt) if e else p
                   for p, e, r in zip(prior, ev, self.rates_, strict=False)]
        risk, lapse = self._silence(state, ts + dt)
        out[5] += risk
        out[6] += lapse
        return out

    def _silence(self, state: EvidenceState, now: float) -> tuple[float, float]:
        # a customer who bought and went quiet drifts to at risk, then lapsed; a prospect
        # who went quiet drifts to lapsed (days since the last interaction: on the demo this
        # beat days since the last purchase, 0.82 against 0.79 accuracy)
        lo, hi, weight, lo2, hi2, weight2 = self._silence_ramps
        days = (now - state.ts) / _DAY if state.ts is not None else 0.0
        risk = weight * _ramp(days, lo, hi) if state.last_buy is not None else 0.0
        return risk, weight2 * _ramp(days, lo2, hi2)

    def drift(self, state: EvidenceState, now: float
              ) -> tuple[list[float], list[float], list[float], float]:
        """How far and how fast each stage's score (:meth:`scores`) can still move under
        silence from ``now`` on: the search of :func:`outsidein.sense.silence.next_stage_change`.

        Returns, per stage in :data:`STAGES` order, the fastest its score can move (per
        second: a bound for every later time until the next break), how far it can still
        fall and how far still rise (the rest of its decay and of its silence pull), and the
        next break (epoch seconds: a silence ramp starts or ends there; ``inf`` when none is
        ahead).  A ramp that jumps (``silence_days`` with start = full) moves infinitely
        fast at its break.

        >>> sc = EvidenceScorer().fit()
        >>> bought = sc.update(sc.new_state(), 0.0, "web", "checkout")
        >>> speed, fall, rise, brk = sc.drift(bought, 0.0)
        >>> round(fall[3], 2), round(rise[6], 2), brk / 86400.0
        (4.0, 3.75, 30.0)
        """
        ts = state.ts
        zeros = [0.0] * _K
        if ts is None:
            return zeros, list(zeros), list(zeros), math.inf
        dt = now - ts if now > ts else 0.0
        speed, fall, rise = [], [], []
        for e, r in zip(state.ev, self.rates_[:_K], strict=False):  # the stages, not service
            e = e * math.exp(-r * dt) if e else 0.0
            speed.append(r * abs(e))
            fall.append(e if e > 0 else 0.0)
            rise.append(-e if e < 0 else 0.0)
        lo, hi, weight, lo2, hi2, weight2 = self._silence_ramps
        days, brk = dt / _DAY, math.inf
        for k, a, b, w in ((5, lo, hi, weight if state.last_buy is not None else 0.0),
                           (6, lo2, hi2, weight2)):
            left = w * (1.0 - _ramp(days, a, b))  # the pull still to come
            if not left:
                continue
            rise[k] += max(left, 0.0)
            fall[k] += max(-left, 0.0)
            if days < a:
                brk = min(brk, ts + a * _DAY)
            elif b > a:
                speed[k] += abs(w) / ((b - a) * _DAY)
                brk = min(brk, ts + b * _DAY)
            else:  # the pull jumps right after now
                speed[k] = math.inf
        return speed, fall, rise, brk

    def proba(self, state: EvidenceState, now: float | None = None) -> list[float]:
        """Stage probabilities (softmax of :meth:`scores`), in :data:`STAGES` order."""
        s = self.scores(state, now)
        t = self.config_.temperature
        m = max(s)
        e = [math.exp((x - m) / t) for x in s]
        z = sum(e)
        return [x / z for x in e]

    def stage_probability(self, state: EvidenceState, now: float | None = None
                          ) -> tuple[int, float]:
        """The most probable stage's index and its probability (the decision's hot path).

        >>> sc = EvidenceScorer().fit()
        >>> sc.stage_probability(sc.update(sc.new_state(), 0.0, "web", "cart_add"))
        (2, 0.647)
        """
        s = self.scores(state, now)
        m = max(s)
        t = self._temperature
        exp = math.exp
        z = 0.0
        if t == 1.0:  # the default: dividing by it changes nothing
            for x in s:
                z += exp(x - m)
        else:
            for x in s:
                z += exp((x - m) / t)
        return s.index(m), 1.0 / z

    def stage(self, state: EvidenceState, now: float | None = None) -> str:
        """The most probable stage."""
        s = self.scores(state, now)
        return STAGES[s.index(max(s))]

    def service_evidence(self, state: EvidenceState, now: float | None = None) -> float:
        """The decayed service evidence (complaints, support calls) as of ``now``."""
        e = state.ev[_SERVICE]
        if not e or state.ts is None:
            return 0.0
        self._fitted()
        dt = 0.0 if now is None else now - state.ts
        return e * math.exp(-self.rates_[_SERVICE] * dt) if dt > 0 else e

    def asks_for_service(self, state: EvidenceState, now: float | None = None) -> bool:
        """Whether the customer asks for help: their service evidence (complaints, support
        calls) as of ``now`` is at :attr:`EvidenceConfig.service_threshold`, so service
        comes before the stage's own need."""
        service = self.service_evidence(state, now) if state.ev[_SERVICE] else 0.0
        return service >= self._service_threshold

    def message_need(self, state: EvidenceState, now: float | None = None,
                     stage: str | None = None) -> str:
        """The message need: "service" while service evidence is high, else the stage's."""
        if self.asks_for_service(state, now):
            return "service"
        return STAGE_NEED[stage or self.stage(state, now)]

    def clues(self, state: EvidenceState, now: float | None = None, top: int = 3,
              stage: str | None = None) -> list[Clue]:
        """The interactions that moved the customer toward ``stage`` (default: the sensed one).

        Returns up to ``top`` :class:`Clue` s, largest contribution first; ``clue.words``
        says each one, e.g. ``"complaint (call_center) 2.0 days ago: +1.87 toward at risk"``
        (rendered on demand: the hot path keeps the numbers).
        """
        try:
            rates = self.rates_
        except AttributeError:
            self._fitted()
            raise
        now = state.ts if now is None else now
        if now is None:
            return []
        stage = stage or self.stage(state, now)
        k = STAGE_INDEX[stage]
        rate = rates[k]
        found: list[tuple[float, float, str, str]] = []  # (contribution, ts, channel, type)
        resets, dense, exp = self.resets_, self._dense, math.exp
        first = state.first_buy  # None: a prospect, or a state kept before 2026-11-30
        for ts, channel, typ in state.recent:
            if typ in resets and k in resets[typ]:
                found.clear()  # this interaction cleared the stage's earlier evidence
            kind = (_PROSPECT if first is None or ts < first else
                    _FIRST_BUY if ts == first and typ == "checkout" else _CUSTOMER)
            w = (dense.get((channel, typ, kind)) or self._dense_row(channel, typ, kind))[k]
            if w:
                found.append((w * exp(-rate * (now - ts)) if now > ts else w, ts, channel, typ))
        quiet = 0.0
        if k >= 5:
            risk, lapse = self._silence(state, now)
            pull = risk if k == 5 else lapse
            if pull > 0:
                found.append((pull, now if state.ts is None else state.ts, "", "silence"))
            gap = state.gap  # the silence the customer broke: (ts, days, at risk, lapsed)
            left = 0.0 if gap is None else gap[2] if k == _RISK else gap[3]
            if gap is not None and left > 0:
                ts, quiet = gap[0], gap[1]
                found.append((left * exp(-rate * (now - ts)) if now > ts else left, ts, "", "gap"))
        found.sort(reverse=True)  # largest push toward the stage first
        return [_new(Clue, ("silence", "", (now - ts) / _DAY, stage, c, quiet) if typ == "gap"
                     else (typ, channel, (now - ts) / _DAY, stage, c, 0.0))  # the shown only
                for c, ts, channel, typ in found[:top]]

    def _dense_row(self, channel: str, typ: str, kind: int) -> tuple[float, ...]:
        w = [0.0] * (_K + 1)
        for i, wt in self._kind_row(channel, typ, kind):
            w[i] += wt
        row = self._dense[(channel, typ, kind)] = tuple(w)
        return row

    def _kind_row(self, channel: str, typ: str, kind: int) -> tuple[tuple[int, float], ...]:
        """The weights of a touch as a prospect's, a first purchase's (nothing toward loyal)
        or a customer's (its weight toward aware counts toward loyal)."""
        key = (channel, typ, kind)
        row = self._kind_rows.get(key)
        if row is None:
            row = self._row(channel, typ)
            if kind == _FIRST_BUY:
                row = tuple((i, w) for i, w in row if i != _LOYAL)
            elif kind == _CUSTOMER and any(i == _AWARE for i, _ in row):
                merged: dict[int, float] = {}
                for i, w in row:
                    j = _LOYAL if i == _AWARE else i
                    merged[j] = merged.get(j, 0.0) + w
                row = tuple(merged.items())
            self._kind_rows[key] = row
        return row

    def _row(self, channel: str, typ: str) -> tuple[tuple[int, float], ...]:
        key = (channel, typ)
        row = self._rows.get(key)
        if row is None:
            table = self.table_
            row = self._rows[key] = table.get(f"{channel}:{typ}") or table.get(typ) or ()
        return row
