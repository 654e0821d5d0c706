"""The action catalogue as values: messages, their eligibility, follow-ups and timing rules.

Pure: :func:`build_catalogue` turns the already-parsed catalogue document (a mapping, as
``tomllib`` gives it) into a frozen :class:`Catalogue`, or raises :class:`CatalogueProblem`
with the *path* of the offending value (``("actions", 2, "template")``), the field and the
problem in words.  Reading the file and turning the path into a line number is
:mod:`outsidein.services.sense.catalogue`'s job; the file format is documented there.

>>> cat = build_catalogue({"actions": [{"name": "tips", "need": "advice",
...     "template": "Hello {first_name}"}]})
>>> cat["tips"].as_policy_action()
CatalogAction(name='tips', need='advice', channels=('email',), stages=(), value=1.0, weight=1.0)
>>> cat["tips"].render({"first_name": "Ada"})
'Hello Ada'
"""

from __future__ import annotations

import math
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from outsidein.sense.policy import CatalogAction
from outsidein.sense.stages import CHANNELS, INTERACTION_TYPES, MESSAGE_NEEDS, STAGES

__all__ = ["AGENT_CHANNELS", "AUDIENCES", "TEMPLATE_FIELDS", "Catalogue", "CatalogueEntry",
           "CatalogueProblem", "CatalogueProblems", "FollowUp", "TimingRule", "build_catalogue",
           "every_problem", "template_fields"]

#: the fields a content template may use, each in ``{braces}``
TEMPLATE_FIELDS: tuple[str, ...] = (
    "customer_id", "first_name", "name", "stage", "need", "channel", "action", "product_id",
    "product_name", "brand", "unsubscribe_url")

#: who reads a message: the customer, or an agent (a task such as a call back)
AUDIENCES: tuple[str, ...] = ("customer", "agent")
#: the channels that reach the company's agents, not the customer
AGENT_CHANNELS: tuple[str, ...] = ("call_center",)

_ACTION_KEYS = {"name", "need", "channels", "stages", "value", "weight", "subject", "template",
                "segments", "value_deciles", "consent", "follow_up", "audience"}
_FOLLOW_KEYS = {"action", "after_hours", "unless"}
_TIMING_KEYS = {"name", "on", "channel", "action", "after_hours", "within_hours", "unless"}


class CatalogueProblem(ValueError):
    """A bad value: where it is (a path into the document), which field, and what is wrong."""

    def __init__(self, path: tuple[str | int, ...], field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.path, self.field, self.problem = path, field, problem


class CatalogueProblems(CatalogueProblem):
    """Several bad values at once (the first is this error's own path, field and problem):
    a user mends a file in one round, not one round per mistake."""

    def __init__(self, problems: list[CatalogueProblem]) -> None:
        first = problems[0]
        super().__init__(first.path, first.field, first.problem)
        self.problems = problems


def every_problem(p: CatalogueProblem, say: Callable[[CatalogueProblem], str]) -> str:
    """One line per bad value (a :class:`CatalogueProblems` has several), each said by
    *say*; the first line is what a single problem would say.

    >>> two = CatalogueProblems([CatalogueProblem(("a",), "a", "bad"),
    ...                          CatalogueProblem(("b",), "b", "worse")])
    >>> print(every_problem(two, str))
    a: bad (and 1 more below)
    b: worse
    """
    lines = [say(q) for q in getattr(p, "problems", [p])]
    if len(lines) > 1:
        lines[0] += f" (and {len(lines) - 1} more below)"
    return "\n".join(lines)


@dataclass(frozen=True)
class FollowUp:
    """Send ``action`` ``after_hours`` after this message, unless an ``unless`` event arrives."""

    action: str
    after_hours: float
    unless: tuple[str, ...] = ()


@dataclass(frozen=True)
class CatalogueEntry:
    """One message: what :class:`~outsidein.sense.policy.CatalogAction` needs, and more."""

    name: str
    need: str
    template: str
    channels: tuple[str, ...] = ("email",)
    stages: tuple[str, ...] = ()  # empty: any stage
    value: float = 1.0
    weight: float = 1.0
    subject: str = ""
    segments: tuple[str, ...] = ()  # empty: any segment
    value_deciles: tuple[int, int] = (1, 10)
    consent: bool = True  # needs the customer's consent for the channel
    follow_up: FollowUp | None = None
    audience: str = "customer"  # or "agent": a task for the call centre, never the customer

    def as_policy_action(self) -> CatalogAction:
        """The contact policy's view of this message."""
        return CatalogAction(self.name, self.need, self.channels, self.stages, self.value,
                             self.weight)

    def eligible(self, stage: str, segment: str | None = None,
                 value_decile: int | None = None) -> bool:
        """Whether a customer in *stage*, *segment* and *value_decile* may get it.

        >>> e = CatalogueEntry("vip", "retention", "Hi", value_deciles=(9, 10))
        >>> e.eligible("loyal", value_decile=10), e.eligible("loyal", value_decile=3)
        (True, False)
        """
        if self.stages and stage not in self.stages:
            return False
        if self.segments and segment not in self.segments:
            return False
        lo, hi = self.value_deciles
        return value_decile is None or lo <= value_decile <= hi

    def render(self, fields: Mapping[str, Any], part: str = "template") -> str:
        """The ``template`` (or ``subject``) filled with *fields*; a field not given is empty."""
        text = self.subject if part == "subject" else self.template
        return text.format_map(_Blank(fields))


class _Blank(dict[str, Any]):
    def __init__(self, fields: Mapping[str, Any]) -> None:
        super().__init__(fields)

    def __missing__(self, key: str) -> str:
        return ""


@dataclass(frozen=True)
class TimingRule:
    """After an event ``on`` (on ``channel``, if set), send ``action`` ``after_hours`` later.

    ``within_hours`` is the promise (``after_hours`` must not exceed it); an event in
    ``unless`` that arrives first cancels the message.
    """

    name: str
    on: str
    action: str
    after_hours: float = 0.0
    within_hours: float | None = None
    channel: str | None = None
    unless: tuple[str, ...] = ()

    def matches(self, event_type: str, channel: str | None) -> bool:
        """Whether an event of *event_type* on *channel* triggers this rule."""
        return event_type == self.on and (self.channel is None or channel == self.channel)


@dataclass(frozen=True)
class Catalogue:
    """The messages (in file order) and the timing rules."""

    entries: tuple[CatalogueEntry, ...]
    timing: tuple[TimingRule, ...] = ()

    @cached_property
    def _by_name(self) -> dict[str, CatalogueEntry]:
        # the first entry of a name, as a scan in file order would find it
        out: dict[str, CatalogueEntry] = {}
        for e in self.entries:
            out.setdefault(e.name, e)
        return out

    def __getitem__(self, name: str) -> CatalogueEntry:
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def policy_actions(self) -> list[CatalogAction]:
        """Every message as the contact policy sees it, in catalogue order."""
        return [e.as_policy_action() for e in self.entries]

    def for_need(self, need: str) -> list[CatalogueEntry]:
        """The messages that meet *need*."""
        return [e for e in self.entries if e.need == need]

    def rules_for(self, event_type: str, channel: str | None) -> list[TimingRule]:
        """The timing rules an event of *event_type* on *channel* triggers."""
        return [r for r in self.timing if r.matches(event_type, channel)]


def template_fields(template: str) -> list[str]:
    """The ``{placeholders}`` of *template* (a format error raises :class:`ValueError`).

    >>> template_fields("Hi {first_name}, {{literal}} see {product_name}")
    ['first_name', 'product_name']
    """
    return [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]


def _str(v: Any, path: tuple[str | int, ...], field: str, *, allow_empty: bool = False) -> str:
    if not isinstance(v, str) or (not allow_empty and not v.strip()):
        raise CatalogueProblem(path, field, f"must be a non-empty text, got {v!r}")
    return v


def _num(v: Any, path: tuple[str | int, ...], field: str, *, positive: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or v < 0 or (positive and v == 0):
        need = "a number above 0" if positive else "a number, 0 or more"
        raise CatalogueProblem(path, field, f"must be {need}, got {v!r}")
    if not math.isfinite(v):  # nan would win every choice, inf swamp it
        raise CatalogueProblem(path, field, f"must be a finite number, got {v!r}")
    return float(v)


def _names(v: Any, path: tuple[str | int, ...], field: str,
           allowed: Sequence[str] | None) -> tuple[str, ...]:
    if isinstance(v, str) or not isinstance(v, list):
        raise CatalogueProblem(path, field, f"must be a list of names, got {v!r}")
    for x in v:
        if not isinstance(x, str) or (allowed is not None and x not in allowed):
            expect = f"one of {', '.join(allowed)}" if allowed is not None else "a name"
            raise CatalogueProblem(path, field, f"{x!r} is not {expect}")
    return tuple(v)


def _keys(d: Any, allowed: set[str], path: tuple[str | int, ...], what: str) -> None:
    if not isinstance(d, Mapping):
        raise CatalogueProblem(path, what, f"must be a table, got {d!r}")
    for k in d:
        if k not in allowed:
            raise CatalogueProblem((*path, k), k, f"unknown field; expected one of "
                                   f"{', '.join(sorted(allowed))}")


def _template(v: Any, path: tuple[str | int, ...], field: str) -> str:
    text = _str(v, path, field)
    try:
        used = template_fields(text)
    except ValueError as exc:
        raise CatalogueProblem(path, field, f"is not a valid template ({exc}); write a "
                               "literal brace as {{ or }}") from exc
    for f in used:
        if f not in TEMPLATE_FIELDS:
            raise CatalogueProblem(path, field, f"unknown placeholder {{{f}}}; known: "
                                   f"{', '.join(TEMPLATE_FIELDS)}")
    return text


def _follow_up(v: Any, path: tuple[str | int, ...]) -> FollowUp:
    _keys(v, _FOLLOW_KEYS, path, "follow_up")
    if "action" not in v or "after_hours" not in v:
        raise CatalogueProblem(path, "follow_up", "needs action and after_hours")
    return FollowUp(_str(v["action"], (*path, "action"), "follow_up.action"),
                    _num(v["after_hours"], (*path, "after_hours"), "follow_up.after_hours",
                         positive=True),
                    _names(v.get("unless", []), (*path, "unless"), "follow_up.unless",
                           INTERACTION_TYPES))


def _entry(d: Any, i: int) -> CatalogueEntry:
    p: tuple[str | int, ...] = ("actions", i)
    _keys(d, _ACTION_KEYS, p, "actions")
    for k in ("name", "need", "template"):
        if k not in d:
            raise CatalogueProblem(p, k, "is missing (every action needs name, need and "
                                   "template)")
    need = _str(d["need"], (*p, "need"), "need")
    if need not in MESSAGE_NEEDS:
        raise CatalogueProblem((*p, "need"), "need", f"{need!r} is not one of "
                               f"{', '.join(MESSAGE_NEEDS)}")
    channels = _names(d.get("channels", ["email"]), (*p, "channels"), "channels", CHANNELS)
    if not channels:
        raise CatalogueProblem((*p, "channels"), "channels", "needs at least one channel")
    deciles = d.get("value_deciles", [1, 10])
    if (not isinstance(deciles, list) or len(deciles) != 2
            or not all(isinstance(x, int) and not isinstance(x, bool) for x in deciles)
            or not 1 <= deciles[0] <= deciles[1] <= 10):
        raise CatalogueProblem((*p, "value_deciles"), "value_deciles",
                               f"must be [lowest, highest] with 1 <= lowest <= highest <= 10, "
                               f"got {deciles!r}")
    consent = d.get("consent", True)
    if not isinstance(consent, bool):
        raise CatalogueProblem((*p, "consent"), "consent", f"must be true or false, got "
                               f"{consent!r}")
    if not consent and need != "service":
        raise CatalogueProblem((*p, "consent"), "consent", "false is only for a service the "
                               f"customer asked for (need service), not need {need}")
    audience = d.get("audience", "customer")
    if audience not in AUDIENCES:
        raise CatalogueProblem((*p, "audience"), "audience", f"{audience!r} is not one of "
                               f"{', '.join(AUDIENCES)}")
    if audience == "agent" and (wrong := [c for c in channels if c not in AGENT_CHANNELS]):
        raise CatalogueProblem((*p, "channels"), "channels", "an agent task (audience = "
                               f"\"agent\") goes to {', '.join(AGENT_CHANNELS)} only, never to "
                               f"the customer by {', '.join(wrong)}")
    return CatalogueEntry(
        name=_str(d["name"], (*p, "name"), "name"), need=need,
        template=_template(d["template"], (*p, "template"), "template"), channels=channels,
        stages=_names(d.get("stages", []), (*p, "stages"), "stages", STAGES),
        value=_num(d.get("value", 1.0), (*p, "value"), "value"),
        weight=_num(d.get("weight", 1.0), (*p, "weight"), "weight"),
        subject=_template(d["subject"], (*p, "subject"), "subject") if "subject" in d else "",
        segments=_names(d.get("segments", []), (*p, "segments"), "segments", None),
        value_deciles=(deciles[0], deciles[1]), consent=consent, audience=audience,
        follow_up=_follow_up(d["follow_up"], (*p, "follow_up")) if "follow_up" in d else None)


def _rule(d: Any, i: int) -> TimingRule:
    p: tuple[str | int, ...] = ("timing", i)
    _keys(d, _TIMING_KEYS, p, "timing")
    for k in ("name", "on", "action"):
        if k not in d:
            raise CatalogueProblem(p, k, "is missing (every timing rule needs name, on and "
                                   "action)")
    on = _str(d["on"], (*p, "on"), "on")
    if on not in INTERACTION_TYPES:
        raise CatalogueProblem((*p, "on"), "on", f"{on!r} is not one of "
                               f"{', '.join(INTERACTION_TYPES)}")
    channel = d.get("channel")
    if channel is not None and channel not in CHANNELS:
        raise CatalogueProblem((*p, "channel"), "channel", f"{channel!r} is not one of "
                               f"{', '.join(CHANNELS)}")
    after = _num(d.get("after_hours", 0.0), (*p, "after_hours"), "after_hours")
    within = d.get("within_hours")
    if within is not None:
        within = _num(within, (*p, "within_hours"), "within_hours", positive=True)
        if after > within:
            raise CatalogueProblem((*p, "after_hours"), "after_hours",
                                   f"{after:g} h is later than within_hours ({within:g} h)")
    return TimingRule(name=_str(d["name"], (*p, "name"), "name"), on=on,
                      action=_str(d["action"], (*p, "action"), "action"), after_hours=after,
                      within_hours=within, channel=channel,
                      unless=_names(d.get("unless", []), (*p, "unless"), "unless",
                                    INTERACTION_TYPES))


def build_catalogue(doc: Mapping[str, Any]) -> Catalogue:
    """Check *doc* (the parsed file) and build the :class:`Catalogue`.

    Raises :class:`CatalogueProblem` for a bad value, or :class:`CatalogueProblems` listing
    every bad entry when there are several (each action and timing rule is checked, then the
    names they refer to).

    >>> try:
    ...     build_catalogue({"actions": [{"name": "a", "need": "gossip", "template": "x"}]})
    ... except CatalogueProblem as p:
    ...     print(p.path, p.field)
    ('actions', 0, 'need') need
    """
    _keys(doc, {"version", "actions", "timing"}, (), "catalogue")
    if doc.get("version", 1) != 1:
        raise CatalogueProblem(("version",), "version", f"must be 1, got {doc['version']!r}")
    actions = doc.get("actions")
    if not isinstance(actions, list) or not actions:
        raise CatalogueProblem(("actions",), "actions", "needs at least one [[actions]] table")
    problems: list[CatalogueProblem] = []
    built: list[tuple[int, CatalogueEntry]] = []
    for i, d in enumerate(actions):
        try:
            built.append((i, _entry(d, i)))
        except CatalogueProblem as p:
            problems.append(p)
    seen: set[str] = set()
    for i, e in built:
        if e.name in seen:
            problems.append(CatalogueProblem(("actions", i, "name"), "name",
                                             f"{e.name!r} is used twice"))
        seen.add(e.name)
    # a name of a bad entry counts as known: its own error says what to mend
    known = seen | {str(d.get("name")) for d in actions if isinstance(d, Mapping)}
    for i, e in built:
        if e.follow_up is not None and e.follow_up.action not in known:
            problems.append(CatalogueProblem(
                ("actions", i, "follow_up", "action"), "follow_up.action",
                f"{e.follow_up.action!r} is not an action of this file"))
    timing = doc.get("timing", [])
    if not isinstance(timing, list):
        problems.append(CatalogueProblem(("timing",), "timing", "must be [[timing]] tables"))
        timing = []
    rules: list[TimingRule] = []
    for i, d in enumerate(timing):
        try:
            r = _rule(d, i)
        except CatalogueProblem as p:
            problems.append(p)
            continue
        if r.action not in known:
            problems.append(CatalogueProblem(("timing", i, "action"), "action",
                                             f"{r.action!r} is not an action of this file"))
        rules.append(r)
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise CatalogueProblems(problems)
    return Catalogue(tuple(e for _, e in built), tuple(rules))
