"""The live decider: sense the stage, choose the response, say why (a :data:`Decider`).

For each event, :class:`Responder`:

1. moves the customer's decayed evidence on (:class:`~outsidein.sense.evidence.EvidenceScorer`)
   and senses the stage, its probability, the clues and the message need;
2. keeps the customer's contact facts in their state: consent (an event's ``consent``
   attribute, a list of channels, replaces it; until one arrives, ``[sense]
   default_consent``, default email, web, mobile and chat), opt-out (an ``unsubscribe``
   event), preferred channel and time zone (``channel``/``timezone`` attributes), the
   messages sent and how many in a row were ignored;
3. takes the catalogue's messages for that need and stage
   (:mod:`outsidein.services.sense.catalogue`), lets the contact policy remove what may not
   go now (:func:`~outsidein.sense.policy.eligible_actions`: each removal with its rule in
   words; a quiet-hours block keeps the message for when the quiet hours end);
4. arbitrates among the rest by Thompson sampling per (stage, message), score = sampled
   response rate x value x business weight (:class:`~outsidein.sense.bandit.ThompsonBandit`),
   holding out the global control group (5%: no message), and logs the probability with
   which the choice was made (for :mod:`outsidein.sense.ope`);
5. answers: stage, probability, need, action, channel, ``send_at``, probability, control,
   clues and the reasons in words (a message that is not the best bet says it explores).

What it queues (:meth:`Responder.plan`) meets the same contact policy, now and again when
due (:mod:`~outsidein.services.sense.deliver`); an ``unsubscribe`` cancels what is pending.
Texts get the first name the customer gave (kept in the state's ``profile``), the product's
name (the warehouse's ``products``, read again after a load while the server runs:
:class:`~outsidein.services.sense.catalogue.ProductNames`) and ``[sense] brand`` /
``unsubscribe_url``.

It learns from outcomes (:meth:`Responder._learn`): a click or a purchase within
``[sense] attribution_days`` (7) of a message is a response, a window passed without one a
non-response, each updating the Thompson posterior of (stage, message).  Each process adds
what it learns to the store's counts and reads everyone's back about once a second
(:class:`~outsidein.services.sense.learning.SharedCounts`); the per-customer state is in
the store, so any process serves any customer.  :meth:`Responder.sweep` (``outsidein sense
deliver``, the web app's idle writer) scores as ignored the messages of the silent.

>>> r = Responder.default()
>>> from datetime import datetime
>>> from outsidein.services.sense.events import EventIn
>>> state, d = r(None, EventIn("e1", "C1", datetime(2026, 3, 2, 10), "web", "cart_add"))
>>> d["stage"], d["need"], d["action"] is not None or d["control"]
('deciding', 'sales', True)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from outsidein.sense.bandit import ControlGroup, ThompsonBandit
from outsidein.sense.catalogue import Catalogue
from outsidein.sense.evidence import EvidenceScorer
from outsidein.sense.policy import (
    CatalogAction,
    ContactPolicy,
    CustomerContacts,
    PolicyResult,
    eligible_actions,
    not_while_awaited,
)
from outsidein.sense.sequence import LiveStageClassifier
from outsidein.sense.silence import SILENCE
from outsidein.sense.stages import (
    ATTRIBUTION_DAYS,
    OUTCOME_TYPES,
    STAGE_INDEX,
    STAGE_LABELS,
    STAGES,
)
from outsidein.services.sense.catalogue import (
    KEEP_SENT,
    ProductNames,
    catalogue_path,
    check_message,
    contacts_of,
    load_catalogue,
    message_settings,
    policy_doc,
    profile_fields,
    setting_fields,
    utc_of,
)
from outsidein.services.sense.checks import PROFILE_TYPES
from outsidein.services.sense.events import EventIn, need_words, sense
from outsidein.services.sense.learning import (
    SWEEP_BATCH,
    SharedCounts,
    pending_until,
    sweep_silent_customers,
)
from outsidein.services.sense.outbox import DeliveryPolicy, cancel_customers, plan_deliveries
from outsidein.services.sense.stage_model import configured_scorer, configured_stage_model
from outsidein.store.db import session_scope
from outsidein.workspace import Workspace

__all__ = ["DEFAULT_CONSENT", "Responder", "sweep_workspace"]

#: Channels a customer is taken to accept until an event says otherwise.
DEFAULT_CONSENT = ("email", "web", "mobile", "chat")
_SORTED: dict[frozenset[str], list[str]] = {}  # consent sets seen, sorted (few distinct)


def _contacts_dict(c: CustomerContacts, since: float) -> dict[str, Any]:
    """*c* for the store, keeping the messages sent since *since* (epoch seconds: the
    longest cap window back) and always the last one (the minimum gap counts from it)."""
    sent = c.sent
    if sent and sent[0][0] < since:
        last = max(sent)
        sent = tuple([s for s in sent if s[0] >= since]) or (last,)
    consent = _SORTED.get(c.consent)
    if consent is None:
        if len(_SORTED) > 1024:
            _SORTED.clear()
        consent = _SORTED[c.consent] = sorted(c.consent)
    return {"consent": list(consent), "opted_out": c.opted_out,
            "preferred_channel": c.preferred_channel, "timezone": c.timezone,
            "sent": [list(s) for s in sent[-KEEP_SENT:]],
            "ignored_in_a_row": c.ignored_in_a_row}


_ENGAGED = frozenset({"email_click", "checkout", "visit", "product_view"})


def _heard(c: CustomerContacts, event: EventIn) -> CustomerContacts:
    """The contact facts an event tells: consent, opt-out, preference, zone, engagement."""
    attrs = event.attributes
    if not attrs and event.type != "unsubscribe" and (
            not c.ignored_in_a_row or event.type not in _ENGAGED):
        return c  # most events tell nothing new about contact
    consent = attrs.get("consent")
    if isinstance(consent, list) and all(isinstance(x, str) for x in consent):
        c = c._replace(consent=frozenset(consent))
    if event.type == "unsubscribe":
        c = c._replace(opted_out=True)
    if isinstance(attrs.get("timezone"), str):
        c = c._replace(timezone=attrs["timezone"])
    if isinstance(attrs.get("preferred_channel"), str):
        c = c._replace(preferred_channel=attrs["preferred_channel"])
    if event.type in _ENGAGED and c.ignored_in_a_row:
        c = c._replace(ignored_in_a_row=0)  # the customer engaged
    return c


def _profile(profile: dict[str, Any] | None, event: EventIn) -> dict[str, Any] | None:
    """The customer's name as the events told it: ``first_name`` (or Segment's
    ``firstName``) on any event; ``name`` and ``last_name`` on an ``identify`` only (a
    product event's ``name`` is the product's)."""
    attrs = event.attributes

    def text(*keys: str) -> str | None:
        for k in keys:
            v = attrs.get(k)
            if isinstance(v, str) and v.strip():
                return v.strip()[:200]
        return None

    first = text("first_name", "firstName")
    ident = event.type == "identify"
    full = text("name") if ident else None
    last = text("last_name", "lastName") if ident else None
    if first is None and full is None and last is None:
        return profile
    out = dict(profile or {})
    if first is not None:
        out["first_name"] = first
    if full is not None:
        out["name"] = full
        if first is None:
            out["first_name"] = full.split()[0]
    elif first is not None or last is not None:
        out["name"] = " ".join(x for x in (out.get("first_name"), last) if x)
    return out


def _fields(stage: str, probability: float, need: str, clues: list[str]) -> dict[str, Any]:
    """A decision's fields before the response is chosen (no message yet)."""
    return {"stage": stage, "stage_probability": probability, "need": need, "action": None,
            "channel": None, "send_at": None, "probability": 1.0, "control": False,
            "clues": clues, "reasons": [f"stage: {STAGE_LABELS[stage]} ({probability:.0%})",
                                        need_words(stage, need)]}


def _no_message_for(fields: dict[str, Any], kind: str) -> None:
    fields["reasons"].append(
        "no message: an identify tells who the customer is, it asks for none"
        if kind in PROFILE_TYPES else f"no message: the catalogue has none for need "
        f"{fields['need']} at stage {STAGE_LABELS[fields['stage']]}")


@dataclass
class Responder:
    """Sense, then respond (see the module docstring); call it as a ``Decider``."""

    catalogue: Catalogue
    policy: ContactPolicy = field(default_factory=ContactPolicy)
    scorer: EvidenceScorer = field(default_factory=lambda: EvidenceScorer().fit())
    control: ControlGroup = field(default_factory=ControlGroup)
    default_consent: tuple[str, ...] = DEFAULT_CONSENT
    attribution_days: float = ATTRIBUTION_DAYS
    seed: int = 0
    stage_model: LiveStageClassifier | None = None  # None: the decayed-evidence scorer
    brand: str | None = None  # {brand} ([sense] brand)
    unsubscribe_url: str | None = None  # {unsubscribe_url}, may hold {customer_id}
    product_names: Mapping[str, str] = field(default_factory=dict)  # {product_name}
    bandit: ThompsonBandit = field(init=False)
    learning: SharedCounts = field(init=False)

    def __post_init__(self) -> None:
        # A service message answers the customer (a complaint, a support call): frequency
        # caps and the minimum gap do not hold it back; opt-out, consent and quiet hours do.
        self._service_policy = replace(self.policy, channel_caps={},
                                       global_cap=(1_000_000, 1.0), min_gap_hours=0.0)
        names = tuple(e.name for e in self.catalogue.entries)
        self._index = {n: i for i, n in enumerate(names)}
        self._entries = {e.name: e for e in self.catalogue.entries}
        self.bandit = ThompsonBandit(actions=names, n_stages=len(STAGES),
                                     values=[e.value for e in self.catalogue.entries],
                                     weights=[e.weight for e in self.catalogue.entries],
                                     random_state=self.seed).fit()
        self.learning = SharedCounts(self.bandit, STAGES)
        # per stage its expected scores and the "chosen" sentences, while bandit.version_ holds
        self._said: dict[Any, Any] = {}
        self._said_version = -1
        # messages kept for the longest cap window (and always the last one, for the gap)
        self._keep_sent_s = 86400.0 * max(
            [self.policy.global_cap[1], *(d for _, d in self.policy.channel_caps.values())])
        # (need, stage) -> its messages as the policy sees them, and the channels only
        # consent = false messages use (a service asked for: no consent; opt-out holds)
        self._candidates: dict[tuple[str, str],
                               tuple[tuple[CatalogAction, ...], frozenset[str]]] = {}
        # the rules each queued message carries, for the deliverer's check when it is due
        self._rules_doc = policy_doc(self.policy, self.default_consent)
        self._service_doc = policy_doc(self._service_policy, self.default_consent)

    def _messages_for(self, need: str, stage: str
                      ) -> tuple[tuple[CatalogAction, ...], frozenset[str]]:
        key = (need, stage)
        found = self._candidates.get(key)
        if found is None:
            entries = [e for e in self.catalogue.entries if e.need == need and e.eligible(stage)]
            free = {ch for e in entries if not e.consent for ch in e.channels}
            free -= {ch for e in entries if e.consent for ch in e.channels}
            found = self._candidates[key] = (tuple(e.as_policy_action() for e in entries),
                                             frozenset(free))
        return found

    @classmethod
    def default(cls) -> Responder:  # the shipped catalogue and the default rules
        return cls(load_catalogue())

    @classmethod
    def for_workspace(cls, root: Any, extra: Mapping[str, Any]) -> Responder:
        """From the workspace's ``[sense]`` section: ``catalogue``, ``policy``,
        ``control_share``, ``default_consent``, ``attribution_days``, ``stage_model`` and
        ``[sense.evidence]`` (the scorer's weights and half-lives)."""
        section = dict(extra.get("sense", {}))
        brand, unsubscribe = message_settings(section)
        DeliveryPolicy.from_settings(section)  # checked here too: serve names a bad one at start
        policy = ContactPolicy.from_mapping(section.get("policy", {}))
        consent = tuple(section.get("default_consent", DEFAULT_CONSENT))
        control = ControlGroup(share=float(section.get("control_share", 0.05)))
        return cls(load_catalogue(catalogue_path(section, root)), policy=policy,
                   scorer=configured_scorer(extra), control=control, default_consent=consent,
                   attribution_days=float(section.get("attribution_days", ATTRIBUTION_DAYS)),
                   stage_model=configured_stage_model(Path(root), extra), brand=brand,
                   unsubscribe_url=unsubscribe, product_names=ProductNames(Path(root)))

    def plan(self, session: Session, decisions: list[dict[str, Any]],
             states: Mapping[str, Mapping[str, Any]]) -> int:
        """Queue the chosen messages, their follow-ups and timing rules in the outbox, and
        share what was learned (a :data:`~outsidein.services.sense.events.Planner`).

        Every row is reviewed (:meth:`_review`) against the customers' contact facts as
        stored after these events: *states* (customer -> state, as
        :func:`~outsidein.services.sense.events.apply_events` has just written them: no
        second read and JSON parse of each, about 5% of the events path's time); an
        ``unsubscribe`` cancels the customer's pending messages, queued before or now.
        """
        self.learning.share(session)
        added = plan_deliveries(session, decisions, self.catalogue,
                                review=lambda rows: self._review(rows, states))
        gone = [str(d["customer_id"]) for d in decisions
                if getattr(d.get("event"), "type", None) == "unsubscribe"]
        if gone:
            cancel_customers(session, gone, "cancelled: the customer opted out of all "
                             "messages (unsubscribe)")
        return added

    def _review(self, rows: list[dict[str, Any]],
                states: Mapping[str, Mapping[str, Any]]) -> None:
        """Fill the rows' fields (first name, product name, brand, unsubscribe link), give
        each the rules it goes under, and apply them to the follow-ups and timing-rule
        messages now: cancelled (opt-out, suppression, consent) or postponed (quiet hours,
        caps, the gap), the rule in words in ``last_error``; *states*: customer -> state,
        as just stored."""
        # the messages decided now count as ignored only once their time has passed: a
        # follow-up is suppressed by the ones ignored before (and when due, by all)
        decided: dict[str, int] = {}
        for r in rows:
            if r["reason"] == "decision":
                decided[r["customer_id"]] = decided.get(r["customer_id"], 0) + 1
        for r in rows:
            state = states.get(r["customer_id"], {})
            payload, entry = r["payload"], self._entries.get(r["action"])
            fields = payload.setdefault("fields", {})
            self._fill_fields(fields, r["customer_id"], state)
            service = (entry.need if entry is not None else payload.get("need")) == "service"
            payload["contact_policy"] = self._service_doc if service else self._rules_doc
            needs_consent = entry is None or entry.consent
            if not needs_consent:
                payload["needs_consent"] = False
            if r["reason"] == "decision" or r["status"] != "pending":
                continue  # the decision's own message passed the policy when decided
            rules = self._service_policy if service else self.policy
            contacts = contacts_of(state.get("contacts"), self.default_consent)
            contacts = contacts._replace(ignored_in_a_row=max(
                contacts.ignored_in_a_row - decided.get(r["customer_id"], 0), 0))
            verdict = check_message(r["channel"], contacts, rules,
                                    r["send_at"].replace(tzinfo=UTC).timestamp(),
                                    needs_consent=needs_consent)
            if verdict is not None:
                status, later, words = verdict
                r.update(status=status, last_error=words[:500])
                if later is not None:
                    r["send_at"] = r["next_attempt_at"] = utc_of(later)

    def _fill_fields(self, fields: dict[str, Any], customer: str,
                     state: Mapping[str, Any]) -> None:
        fields.update(profile_fields(state))
        name = self.product_names.get(str(fields.get("product_id") or ""))
        if name:
            fields["product_name"] = name
        fields.update(setting_fields(self.brand, self.unsubscribe_url, customer))

    def sweep(self, session: Session, now: datetime | None = None) -> int:
        """Score as ignored the messages of customers silent past the attribution window;
        return how many customers were swept (in the caller's write transaction)."""
        return sweep_silent_customers(session, self.expire, self.learning, now)

    def expire(self, state: Mapping[str, Any], now: float) -> dict[str, Any]:
        """*state* with the messages whose window closed by *now* scored as ignored."""
        pending = self._learn(state.get("pending", []), None, now)
        return {**state, "pending": pending,
                "pending_until": pending_until(pending, self._window_s)}

    def __call__(self, state: Mapping[str, Any] | None,
                 event: EventIn) -> tuple[dict[str, Any], dict[str, Any]]:
        state = dict(state or {})
        sensed = sense(self.scorer, state, event, self.stage_model)
        # decided as of the customer's latest time: a late event (a complaint that arrives
        # after a later click, say) is answered now, not before messages already sent; its
        # outcome is credited as of when it happened
        now = max(event.epoch, sensed.evidence.ts or event.epoch)
        stage, need = sensed.stage, sensed.need
        contacts = _heard(contacts_of(state.get("contacts"), self.default_consent), event)
        profile = state.get("profile")
        if event.attributes:
            profile = _profile(profile, event)
        pending = self._learn(state.get("pending", []), event, event.epoch)
        fields = _fields(stage, sensed.probability, need, sensed.clues)
        candidates, free = ((), None) if event.type in PROFILE_TYPES else \
            self._messages_for(need, stage)  # an identify (who they are) asks for none
        if candidates:
            rules = self._service_policy if need == "service" else self.policy
            if need == "service" and pending and not self.scorer.asks_for_service(
                    sensed.evidence, now):
                # onboarding, uncapped, not asked for: once at a time, not once per event
                candidates, waits = not_while_awaited(candidates, pending, now)
                fields["reasons"] += waits
            seen = contacts._replace(consent=contacts.consent | free) if free else contacts
            result = eligible_actions(candidates, seen, now, rules, stage=stage,
                                      clue_channel=event.channel)
            if not result.eligible and event.type == SILENCE and (opens := [  # none waits
                    t for f in result.filtered if f.rule == "quiet_hours" and (t := f.retry_at)]):
                now = min(opens)  # a silence asks for no answer now: its message waits
                fields["reasons"].append("a silence: decided for when the quiet hours end")
                result = eligible_actions(candidates, seen, now, rules, stage=stage,
                                          clue_channel=event.channel)
            pending, contacts = self._respond(event, fields, result, contacts, pending, now)
        else:
            _no_message_for(fields, event.type)
        state = self._state(sensed.evidence.to_dict(), contacts, pending, now)
        if sensed.history is not None:
            state["history"] = sensed.history
        if profile:
            state["profile"] = profile
        return state, fields

    def _state(self, evidence: dict[str, Any], contacts: CustomerContacts,
               pending: list[Any], now: float) -> dict[str, Any]:
        """The customer's state to keep: evidence, contact facts, messages awaiting outcome."""
        return {"evidence": evidence,
                "contacts": _contacts_dict(contacts, now - self._keep_sent_s),
                "pending": pending, "pending_until": pending_until(pending, self._window_s)}

    def _respond(self, event: EventIn, fields: dict[str, Any], result: PolicyResult,
                 contacts: CustomerContacts, pending: list[Any], now: float
                 ) -> tuple[list[Any], CustomerContacts]:
        """Say what the contact policy removed, choose among the rest, and note a message
        sent in the customer's pending outcomes and contact history."""
        reasons = fields["reasons"]
        reasons += [f"not {f.action}: {f.reason}" for f in result.filtered]
        if not result.eligible:
            reasons.append("no message now: every message for this need was ruled out")
            return pending, contacts
        stage = fields["stage"]
        self._choose(event, stage, result.eligible, fields, now)
        if fields["action"] is None:
            return pending, contacts
        return ([*pending, [now, fields["action"], STAGE_INDEX[stage]]][-5:],
                contacts._replace(sent=(*contacts.sent, (now, fields["channel"])),
                                  ignored_in_a_row=contacts.ignored_in_a_row + 1))

    @property
    def _window_s(self) -> float:
        return self.attribution_days * 86400.0

    def _learn(self, pending: list[Any], event: EventIn | None, now: float) -> list[Any]:
        """Credit the customer's recent messages with this event; return those still open.

        An outcome (:data:`~outsidein.sense.stages.OUTCOME_TYPES`: a click or a purchase)
        within the attribution window is a response (1) to every message sent in it; a
        message whose window has passed without one is a non-response (0).  Each updates
        the Thompson posterior of (the stage it was sent in, the message).  Without an
        event (the sweep), only the closed windows are scored.
        """
        window = self._window_s
        still: list[Any] = []
        outcome = event is not None and event.type in OUTCOME_TYPES
        for ts, action, stage in pending:
            index = self._index.get(str(action))
            if index is None:
                continue
            if now - float(ts) > window:
                self.learning.record(int(stage), index, 0.0)
            elif outcome and now >= float(ts):
                self.learning.record(int(stage), index, 1.0)
            else:
                still.append([ts, action, stage])
        return still

    def _choose(self, event: EventIn, stage: str, eligible: Any, fields: dict[str, Any],
                now: float) -> None:
        scores_of = self._said
        if self._said_version != self.bandit.version_ or len(scores_of) > 4096:
            scores_of.clear()  # the posteriors moved: the expected scores with them
            self._said_version = self.bandit.version_
        idx = [self._index[e.action] for e in eligible]
        action, prob = self.bandit.decide(event.customer_id, STAGE_INDEX[stage], idx,
                                          control=self.control)
        fields["probability"] = prob
        if action is None:
            fields["control"] = True
            fields["reasons"].append(f"no message: the customer is in the control group "
                                     f"({self.control.share:.0%} of customers hear nothing, so "
                                     "the lift is measured, not assumed)")
            return
        name = self.bandit.actions[action]
        chosen = next(e for e in eligible if e.action == name)
        fields.update(action=name, channel=chosen.channel,
                      send_at=datetime.fromtimestamp(now, UTC).replace(tzinfo=None))
        k = STAGE_INDEX[stage]
        key = (k, tuple(idx), action, chosen.channel, chosen.why_channel, prob)
        said = scores_of.get(key)
        if said is None:
            scores = scores_of.get(k)
            if scores is None:
                scores = scores_of[k] = self.bandit.expected_scores(k).tolist()
            others = ", ".join(f"{self.bandit.actions[i]} {scores[i]:.2f}" for i in idx
                               if i != action)
            explores = any(scores[i] > scores[action] for i in idx)  # not the best bet
            said = (f"chosen: {name} by {chosen.channel} ({chosen.why_channel}); expected "
                    f"score {scores[action]:.2f}" + (f" against {others}" if others else "")
                    + f"; chosen with probability {prob:.0%}" + (
                        " (exploring: Thompson sampling tries a message whose response rate is "
                        "still uncertain)" if explores else ""))
            scores_of[key] = said
        fields["reasons"].append(said)


def sweep_workspace(ws: Workspace, now: datetime | None = None) -> int:
    """Score as ignored every message whose customer stayed silent past the attribution
    window (``outsidein sense sweep``); return how many customers were swept."""
    responder = Responder.for_workspace(ws.root, ws.config.extra)
    total = 0
    while True:
        with session_scope(ws.store_url) as session:
            responder.learning.share(session, force=True)  # start from everyone's counts
            swept = responder.sweep(session, now)
        total += swept
        if swept < SWEEP_BATCH:
            return total
