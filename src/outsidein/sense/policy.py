"""Contact policy as pure functions: which actions may go to a customer now, and by which channel.

:func:`eligible_actions` applies, in this order: opt-out; suppression after N ignored
messages in a row; the global frequency cap; the minimum gap since the last message; the
action's stages; then for each of the action's channels consent, the per-channel cap and
quiet hours in the customer's time zone.  The channel is the first that passes among: the
channel of the clue (the interaction that triggered the decision), the customer's
preferred channel, then the action's channels in catalogue order.  Every action removed
comes back with the rule that removed it, in words.

Choices made here
-----------------
* Caps are ``(max messages, per days)`` over a sliding window ending now.
* Quiet hours are ``[start, end)`` local hours and may wrap midnight (21 -> 8); they apply to
  :attr:`ContactPolicy.quiet_channels` only (on-site messages are not an interruption);
  a send blocked by them carries ``retry_at``, the end of the quiet hours (for the outbox's
  ``send_at``).  The customer's zone is an IANA name (stdlib :mod:`zoneinfo`).
* Times are Unix seconds.  Nothing here reads a clock: ``now`` is passed in.
* **What does not change between decisions is worked out once.**  For a *tuple* of actions
  (the catalogue's messages for a need, as the live decider keeps them), the stage rule's
  removals and each action's channel order are kept per (stage, clue channel, preferred
  channel); each decision then only looks at the customer's channels (consent, caps,
  quiet hours) and the result made for the same state of those channels is reused (with
  quiet hours, the decision's local time and retry time written into it).  A list is looked
  at afresh on every call.  ``tests/sense/test_policy.py`` checks that the kept answers
  equal the fresh ones over 3,000 random customers, words and retry times included.  The
  words of a rule are made once per its numbers (``_WORDS``).

How it is wired: ``[sense.policy]`` in ``outsidein.toml`` fills :class:`ContactPolicy`
(:meth:`ContactPolicy.from_mapping`); each customer's state in the store keeps their
:class:`CustomerContacts` (consent, preference, zone, recent sends, ignored count); the
action catalogue file gives the :class:`CatalogAction` list.

>>> pol = ContactPolicy()
>>> cust = CustomerContacts(consent=frozenset({"email"}), timezone="Europe/Paris")
>>> act = CatalogAction("tips", "advice", channels=("email",))
>>> late = 1767218400.0   # 2025-12-31 23:00 in Paris
>>> res = eligible_actions([act], cust, late, pol)
>>> res.eligible, res.filtered[0].rule
((), 'quiet_hours')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from outsidein.errors import ConfigError
from outsidein.sense.clock import in_quiet, local_hour, quiet_end

__all__ = ["CatalogAction", "ContactPolicy", "CustomerContacts", "Eligible", "Filtered",
           "PolicyResult", "eligible_actions", "local_hour", "not_while_awaited"]

_DAY = 86400.0


@dataclass(frozen=True)
class ContactPolicy:
    """The contact rules (a later ``[sense.policy]`` section of ``outsidein.toml``).

    Attributes
    ----------
    channel_caps
        Channel -> (max messages, per days).
    global_cap
        (max messages over all channels, per days).
    min_gap_hours
        Least time between two messages to one customer.
    quiet_hours
        (start, end) local hours during which interrupting channels stay silent.
    quiet_channels
        Channels that quiet hours apply to.
    max_ignored
        Messages ignored in a row after which the customer gets no more until they engage.
    default_timezone
        Zone for customers without one.
    """

    channel_caps: Mapping[str, tuple[int, float]] = field(default_factory=lambda: {
        "email": (2, 7.0), "mobile": (2, 7.0), "call_center": (1, 14.0), "web": (3, 7.0),
        "chat": (2, 7.0)})
    global_cap: tuple[int, float] = (3, 7.0)
    min_gap_hours: float = 24.0
    quiet_hours: tuple[int, int] = (21, 8)
    quiet_channels: tuple[str, ...] = ("email", "mobile", "call_center")
    max_ignored: int = 3
    default_timezone: str = "UTC"

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = "outsidein.toml [sense.policy]"
                     ) -> ContactPolicy:
        """Build from a TOML section; a bad key or value raises :class:`ConfigError` naming it.

        >>> ContactPolicy.from_mapping({"global_cap": [2, 7], "max_ignored": 4}).global_cap
        (2, 7.0)
        """
        known = set(cls.__dataclass_fields__)
        for key in data:
            if key not in known:
                raise ConfigError(f"{source}: unknown key {key!r}; expected one of "
                                  f"{', '.join(sorted(known))}")
        kw: dict[str, Any] = dict(data)
        try:
            if "channel_caps" in kw:
                kw["channel_caps"] = {ch: (int(v[0]), float(v[1]))
                                      for ch, v in kw["channel_caps"].items()}
            if "global_cap" in kw:
                kw["global_cap"] = (int(kw["global_cap"][0]), float(kw["global_cap"][1]))
            if "quiet_hours" in kw:
                kw["quiet_hours"] = (int(kw["quiet_hours"][0]), int(kw["quiet_hours"][1]))
            if "quiet_channels" in kw:
                kw["quiet_channels"] = tuple(kw["quiet_channels"])
        except (TypeError, ValueError, IndexError, KeyError) as exc:
            raise ConfigError(f"{source}: caps are [max messages, per days] and quiet_hours "
                              f"[start hour, end hour]; got {exc}") from exc
        pol = cls(**kw)
        try:
            ZoneInfo(pol.default_timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"{source}: default_timezone {pol.default_timezone!r} is not an "
                              "IANA time zone (e.g. 'Europe/Paris')") from exc
        for h in pol.quiet_hours:
            if not 0 <= h <= 23:
                raise ConfigError(f"{source}: quiet_hours {pol.quiet_hours}: hours 0-23")
        return pol


class CustomerContacts(NamedTuple):
    """What the policy needs to know about one customer (immutable; ``_replace`` to change)."""

    consent: frozenset[str] = frozenset()
    opted_out: bool = False
    preferred_channel: str | None = None
    timezone: str | None = None
    #: recent messages as (ts, channel); older than the longest cap window may be dropped
    sent: tuple[tuple[float, str], ...] = ()
    ignored_in_a_row: int = 0

    def with_send(self, ts: float, channel: str, keep: int | None = None) -> CustomerContacts:
        """These contacts with a message sent at *ts* on *channel* (and only the last *keep*
        sends, if given): what a decision that sends does to them.

        >>> CustomerContacts().with_send(1.0, "email").with_send(2.0, "web", keep=1).sent
        ((2.0, 'web'),)
        """
        sent = self[4]
        if keep is not None:  # at most *keep* (>= 1) with the new one
            sent = sent[max(len(sent) - keep + 1, 0):]
        # tuple.__new__: without the generated __new__ and _replace's Python steps
        return _new(CustomerContacts, (self[0], self[1], self[2], self[3],  # type: ignore[no-any-return]
                                       (*sent, (ts, channel)), self[5]))


@dataclass(frozen=True)
class CatalogAction:
    """One message of the catalogue, as far as the policy is concerned."""

    name: str
    need: str
    channels: tuple[str, ...] = ("email",)
    stages: tuple[str, ...] = ()  # empty: any stage
    value: float = 1.0
    weight: float = 1.0


class Eligible(NamedTuple):
    """An action that may be sent now, and the channel chosen for it."""

    action: str
    channel: str
    why_channel: str


class Filtered(NamedTuple):
    """An action removed by a rule: the rule's name and the reason in words."""

    action: str
    rule: str
    reason: str
    retry_at: float | None = None


class PolicyResult(NamedTuple):
    """The actions that may go now (with their channel) and those removed (with the rule)."""

    eligible: tuple[Eligible, ...]
    filtered: tuple[Filtered, ...]

    def reasons(self) -> list[str]:
        """One line per removed action: ``"<action>: <reason>"``."""
        return [f"{f.action}: {f.reason}" for f in self.filtered]


# builds a NamedTuple without its generated ``__new__`` (a Python call): for the results
# made on every decision
_new = tuple.__new__

# words and channel blocks met again and again (a rule's numbers -> its words), made once
_WORDS: dict[tuple[Any, ...], Any] = {}


def _remember(key: tuple[Any, ...], words: Any, memo: dict[Any, Any] = _WORDS) -> Any:
    if len(memo) > 4096:  # a cache of pure results, bounded
        memo.clear()
    memo[key] = words
    return words


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


# A channel's block: None (open), (rule, words, retry_at), or ("quiet_hours", channel) whose
# words (the local time) and retry time are the decision's, written in when it is answered
_Block = tuple[str, str, float | None] | tuple[str, str] | None


def _verdict(order: tuple[tuple[str, str], ...], blocks: list[_Block]) -> tuple[Any, ...]:
    """The first open channel of ``order``, or the rule that closed them all, in words
    (with quiet hours, ``("quiet", rule, template)``: ``template.format(head, tail)`` gives
    the words, with the decision's local time: :func:`_quiet_now`).

    ``blocks`` holds each of the order's channels' block, as far as they were looked at.
    """
    for (ch, because), block in zip(order, blocks, strict=False):
        if block is None:
            return ("open", ch, because)
    if not blocks:
        return ("channels", "the action has no channel", None)
    why: list[tuple[str, ...]] = blocks  # type: ignore[assignment]
    # the rule shown is the first channel's that is more than a missing consent
    rule = next((b[0] for b in why if b[0] != "consent"), "consent")
    if any(len(b) == 2 for b in why):  # a quiet channel's words: head + channel + tail
        return ("quiet", rule, "; ".join(["{0}" + _literal(b[1]) + "{1}" if len(b) == 2
                                          else _literal(b[1]) for b in why]))
    if len(why) == 1:
        return why[0]
    retry = [b[2] for b in why if b[2] is not None]  # type: ignore[misc]
    return (rule, "; ".join(b[1] for b in why), min(retry) if retry else None)


def _literal(words: str) -> str:
    """*words* in a :meth:`str.format` template, as they are."""
    return words.replace("{", "{{").replace("}", "}}")


def _channel_order(chans: tuple[str, ...], clue: str | None, preferred: str | None
                   ) -> tuple[tuple[str, str], ...]:
    """Channels to try, each with why: the clue's, the preferred, then catalogue order."""
    out: list[tuple[str, str]] = []
    if clue in chans:
        out.append((clue, "channel of the clue"))  # type: ignore[arg-type]
    if preferred in chans and preferred != clue:
        out.append((preferred, "preferred channel"))  # type: ignore[arg-type]
    out += [(ch, "catalogue order") for ch in chans if ch not in (clue, preferred)]
    return tuple(out)


class _Context:
    """What a tuple of actions comes to for one (stage, clue channel, preferred channel).

    ``steps`` has one item per action, in the tuple's order: the :class:`Filtered` the
    stage rule made of it, or ``(name, k)`` with ``k`` its channel order in ``orders``
    (actions with the same channels share one verdict per decision).  ``channels`` are the
    orders' channels, each once.  ``results`` keeps the :class:`PolicyResult` made for
    each state of those channels seen (with quiet hours: the eligible, and the removals
    whose words and retry time are each decision's to write, :func:`_verdict`).
    """

    __slots__ = ("channels", "orders", "results", "steps")

    def __init__(self, steps: tuple[Filtered | tuple[str, int], ...],
                 orders: tuple[tuple[tuple[str, str], ...], ...]):
        self.steps = steps
        self.orders = orders
        self.channels = tuple(dict.fromkeys(ch for order in orders for ch, _ in order))
        self.results: dict[tuple[Any, ...], Any] = {}

    def result(self, blocks: list[_Block]) -> Any:
        """What the channels' *blocks* (one per channel of :attr:`channels`) come to."""
        blocked = dict(zip(self.channels, blocks, strict=True))
        verdicts: list[tuple[Any, ...]] = []
        for order in self.orders:
            seen: list[_Block] = []
            for ch, _ in order:
                seen.append(blocked[ch])
                if seen[-1] is None:
                    break
            verdicts.append(_verdict(order, seen))
        ok: list[Eligible] = []
        gone: list[Any] = []
        for step in self.steps:
            if isinstance(step, Filtered):
                gone.append(step)
                continue
            name, k = step
            v = verdicts[k]
            if v[0] == "open":
                ok.append(Eligible(name, v[1], v[2]))
            elif v[0] == "quiet":
                gone.append((name, v[1], v[2]))  # its words written per decision
            else:
                gone.append(Filtered(name, v[0], v[1], v[2]))
        late = any(g.__class__ is not Filtered for g in gone)  # quiet hours: words to write
        return (tuple(ok), tuple(gone)) if late else PolicyResult(tuple(ok), tuple(gone))


class _Plan:
    """A tuple of actions compiled for the policy: names, and one :class:`_Context` per
    (stage, clue channel, preferred channel) met.  Nothing in it depends on a customer's
    contacts or on the time: those are checked per decision."""

    __slots__ = ("actions", "contexts", "names")

    def __init__(self, actions: Sequence[CatalogAction]):
        self.actions = actions
        self.names = tuple(a.name for a in actions)
        self.contexts: dict[tuple[str | None, str | None, str | None], _Context] = {}

    def all_out(self, rule: str, reason: str, retry_at: float | None = None) -> PolicyResult:
        """Every action removed by *rule*, for *reason*."""
        return _new(PolicyResult, ((), tuple([  # type: ignore[no-any-return]
            _new(Filtered, (n, rule, reason, retry_at)) for n in self.names])))

    def context(self, stage: str | None, clue: str | None, preferred: str | None) -> _Context:
        key = (stage, clue, preferred)
        ctx = self.contexts.get(key)
        if ctx is None:
            steps: list[Filtered | tuple[str, int]] = []
            orders: dict[tuple[tuple[str, str], ...], int] = {}
            for a in self.actions:
                if stage is not None and a.stages and stage not in a.stages:
                    steps.append(Filtered(a.name, "stage", f"not for stage {stage} (only "
                                          f"{', '.join(a.stages)})"))
                    continue
                order = _channel_order(a.channels, clue, preferred)
                steps.append((a.name, orders.setdefault(order, len(orders))))
            ctx = _Context(tuple(steps), tuple(orders))
            if len(self.contexts) < 4096:  # a cache of pure results, bounded
                self.contexts[key] = ctx
        return ctx


# tuple of actions (by identity; the entry keeps it alive, so its id is not reused) -> plan
_PLANS: dict[int, _Plan] = {}


def _plan(actions: Sequence[CatalogAction]) -> _Plan:
    """The compiled plan of *actions*: cached for a tuple (immutable, and its actions are
    frozen), made afresh for a list (which could change between calls)."""
    if actions.__class__ is not tuple:
        return _Plan(actions)
    plan = _PLANS.get(id(actions))
    if plan is None or plan.actions is not actions:
        if len(_PLANS) > 1024:
            _PLANS.clear()
        plan = _PLANS[id(actions)] = _Plan(actions)
    return plan


def eligible_actions(actions: Sequence[CatalogAction], customer: CustomerContacts, now: float,
                     policy: ContactPolicy, *, stage: str | None = None,
                     clue_channel: str | None = None) -> PolicyResult:
    """The actions that may go to ``customer`` at ``now``, each with its channel; the rest with
    the rule that removed them.

    Parameters
    ----------
    actions
        The catalogue (or the part of it relevant to the decision).  Pass a tuple when the
        same actions are decided on again and again: what does not depend on the customer
        or the time (the stage rule, the channel orders) is then worked out once.
    customer
        Consent, opt-out, preference, time zone, recent sends and ignored count.
    now
        Unix seconds.
    policy
        The contact rules.
    stage
        The sensed stage: actions limited to other stages are removed.
    clue_channel
        Channel of the interaction that triggered the decision (tried first).
    """
    plan = _plan(actions)
    if customer.opted_out:
        return plan.all_out("opt_out", "the customer opted out of all messages")
    ignored, max_ignored = customer.ignored_in_a_row, policy.max_ignored
    key: tuple[Any, ...]
    if max_ignored and ignored >= max_ignored:
        key = ("suppressed", ignored, max_ignored, max_ignored.__class__)
        words = _WORDS.get(key) or _remember(key, (
            f"suppressed: the last {ignored} messages were ignored (limit {max_ignored}) until "
            "the customer engages"))
        return plan.all_out("suppressed", words)
    sent = customer.sent
    if sent:
        g_max, g_days = policy.global_cap
        window = g_days * _DAY
        n_recent, first, last = 0, now, -1e300
        for ts_, _ in sent:  # plain loop: a handful of sends, faster than generators
            if last < ts_ <= now:  # the gap is to the last send before: one planned later
                last = ts_  # (a catch-up's follow-ups) read "-648 hours ago" and held it
            if now - ts_ < window:
                n_recent += 1
                if ts_ < first:
                    first = ts_
        if n_recent >= g_max:
            key = ("global_cap", n_recent, g_max, g_max.__class__, g_days)
            words = _WORDS.get(key) or _remember(key, (
                f"global frequency cap: {_plural(n_recent, 'message')} in the last "
                f"{g_days:g} days (limit {g_max})"))
            return plan.all_out("global_cap", words, first + window)
        gap_h = (now - last) / 3600.0
        if gap_h < policy.min_gap_hours:
            return plan.all_out("min_gap", f"minimum gap: last message {gap_h:.1f} hours ago "
                                f"(at least {policy.min_gap_hours:g} hours between messages)",
                                last + policy.min_gap_hours * 3600.0)
    ctx = plan.context(stage, clue_channel, customer.preferred_channel)
    quiet: tuple[str, str, float] | tuple[()] | None = None
    consent, caps, quiet_channels = customer.consent, policy.channel_caps, policy.quiet_channels
    # each channel's block now: None (open), (rule, words, retry_at) or ("quiet_hours",
    # channel), whose words and retry time are this decision's (``quiet``)
    blocks: list[_Block] = []
    for ch in ctx.channels:
        out: _Block = None
        if ch not in consent:
            key = ("consent", ch)
            out = _WORDS.get(key) or _remember(key, ("consent", f"no consent for {ch}", None))
        elif sent and ch in caps:
            c_max, c_days = caps[ch]
            window, n = c_days * _DAY, 0
            for ts_, ch_ in sent:
                if ch_ == ch and now - ts_ < window:
                    n += 1
            if n >= c_max:
                key = ("channel_cap", ch, n, c_max, c_max.__class__, c_days)
                out = _WORDS.get(key) or _remember(key, (
                    "channel_cap", f"{ch} frequency cap: {_plural(n, 'message')} in the last "
                    f"{c_days:g} days (limit {c_max})", None))
        if out is None and ch in quiet_channels:
            if quiet is None:  # once per decision: is it quiet now, and until when
                quiet = _quiet_now(customer, now, policy)
            if quiet:
                out = ("quiet_hours", ch)
        blocks.append(out)
    key = tuple(blocks)
    found = ctx.results.get(key)
    if found is None:
        found = ctx.result(blocks)
        if len(ctx.results) > 1024:  # a cache of pure results, bounded
            ctx.results.clear()
        ctx.results[key] = found
    if found.__class__ is PolicyResult:
        return found  # type: ignore[return-value]
    eligible, steps = found  # with quiet hours: their words and retry time are now's
    head, tail, retry_at = quiet  # type: ignore[misc]
    return _new(PolicyResult, (eligible, tuple([  # type: ignore[no-any-return]
        step if step.__class__ is Filtered
        else _new(Filtered, (step[0], step[1], step[2].format(head, tail), retry_at))
        for step in steps])))


def _quiet_now(customer: CustomerContacts, now: float, policy: ContactPolicy
               ) -> tuple[str, str, float] | tuple[()]:
    """Quiet hours now: the words before and after a channel's name, and their end; or ()."""
    tz = customer.timezone or policy.default_timezone
    start, end = policy.quiet_hours
    hour = local_hour(now, tz)
    if not in_quiet(hour, start, end):
        return ()
    key = ("quiet", start, end)
    head = _WORDS.get(key) or _remember(key, f"quiet hours {start:02d}:00-{end:02d}:00 for ")
    minute = int(round((hour % 1) * 60)) % 60
    return (head, f" ({int(hour):02d}:{minute:02d} in {tz})", quiet_end(now, hour, end))


# (actions, names awaited) -> the actions without them (one tuple: eligible_actions' plan)
_WITHOUT: dict[tuple[Any, frozenset[str]], tuple[CatalogAction, ...]] = {}


def not_while_awaited(actions: tuple[CatalogAction, ...], sent: Sequence[Sequence[Any]],
                      now: float) -> tuple[tuple[CatalogAction, ...], list[str]]:
    """*actions* without those *sent* (``[ts, name, ...]``) whose outcome is still awaited,
    and why: uncapped messages go once at a time, not once per event.

    >>> act = CatalogAction("onboarding", "service")
    >>> not_while_awaited((act,), [[0.0, "onboarding", 3]], 5400.0)[1]
    ['not onboarding: sent 1.5 hours ago and still awaiting its outcome (once until then)']
    """
    waiting = {str(p[1]): float(p[0]) for p in sent}
    gone = frozenset(a.name for a in actions if a.name in waiting)
    if not gone:
        return actions, []
    kept = _WITHOUT.get((actions, gone))
    if kept is None:
        kept = _remember((actions, gone), tuple(a for a in actions if a.name not in gone), _WITHOUT)
    return kept, [f"not {n}: sent {max(now - waiting[n], 0.0) / 3600.0:.1f} hours ago and still "
                  "awaiting its outcome (once until then)" for n in sorted(gone)]
