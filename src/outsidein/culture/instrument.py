"""The survey instrument as values: items, their components and scales, checked at load.

Pure: :func:`parse_instrument` turns TOML text into a frozen :class:`Instrument`, or raises
:class:`~outsidein.errors.ConfigError` naming the source, the line, the item, the field and the
problem; :func:`build_instrument` does the checking on an already-parsed document and raises
:class:`InstrumentProblem` with the path of the bad value.  Reading files is
:mod:`outsidein.services.culture.instrument`'s job.

>>> inst = parse_instrument('''
... version = "demo-1"
... [[items]]
... id = "co1"
... component = "customer_orientation"
... text = "We know what our customers will need next year."
... [[items]]
... id = "co2"
... component = "customer_orientation"
... text = "Customer complaints get lost here."
... reverse = true
... [[items]]
... id = "co3"
... component = "customer_orientation"
... text = "We measure how satisfied customers are."
... ''')
>>> inst.version, inst.item_ids, inst["co2"].reverse
('demo-1', ('co1', 'co2', 'co3'), True)
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from outsidein.tomltext import parse_toml, problem_error

__all__ = ["COMPONENTS", "COMPONENT_LABELS", "ENGAGEMENT", "MO_COMPONENTS", "PERFORMANCE",
           "RESERVED_COLUMNS", "Instrument", "InstrumentProblem", "Item", "build_instrument",
           "parse_instrument"]

#: the six market-orientation components (MKTOR's three and MARKOR's three behaviours)
MO_COMPONENTS: tuple[str, ...] = (
    "customer_orientation", "competitor_orientation", "interfunctional_coordination",
    "intelligence_generation", "intelligence_dissemination", "responsiveness")
ENGAGEMENT = "engagement"
PERFORMANCE = "performance"
#: every component an item may belong to, in reporting order
COMPONENTS: tuple[str, ...] = (*MO_COMPONENTS, ENGAGEMENT, PERFORMANCE)
COMPONENT_LABELS: dict[str, str] = {
    "customer_orientation": "Customer orientation",
    "competitor_orientation": "Competitor orientation",
    "interfunctional_coordination": "Interfunctional coordination",
    "intelligence_generation": "Intelligence generation",
    "intelligence_dissemination": "Intelligence dissemination",
    "responsiveness": "Responsiveness",
    "engagement": "Engagement",
    "performance": "Performance",
    "market_orientation": "Market orientation",
}
#: column names of a responses table that cannot be item ids
RESERVED_COLUMNS: tuple[str, ...] = (
    "org", "department", "role", "wave", "comment", "industry", "employees", "size_band",
    "respondent", "market_orientation", *COMPONENTS)

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_TOP_KEYS = {"version", "name", "comment", "scale_min", "scale_max", "items"}
_ITEM_KEYS = {"id", "component", "text", "scale_min", "scale_max", "reverse"}
_MIN_ITEMS = 3  # a factor needs three indicators to be identified on its own


class InstrumentProblem(ValueError):
    """A bad value: where it is (a path into the document), which field, what is wrong."""

    def __init__(self, path: tuple[str | int, ...], field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.path, self.field, self.problem = path, field, problem


@dataclass(frozen=True)
class Item:
    """One survey statement, answered on a ``scale_min``..``scale_max`` agreement scale."""

    id: str
    component: str
    text: str
    scale_min: int = 1
    scale_max: int = 5
    reverse: bool = False

    @property
    def points(self) -> int:
        """How many answer points the scale has (5 or 7)."""
        return self.scale_max - self.scale_min + 1

    def to_dict(self) -> dict[str, Any]:
        """The item as ``outsidein culture instrument --json`` lists it."""
        return {"id": self.id, "component": self.component, "text": self.text,
                "scale_min": self.scale_min, "scale_max": self.scale_max,
                "reverse": self.reverse}


@dataclass(frozen=True)
class Instrument:
    """A versioned questionnaire: the items in file order and the free-text question."""

    version: str
    items: tuple[Item, ...]
    name: str = "Market culture survey"
    comment: str = "Anything else you would like to say?"

    def __getitem__(self, item_id: str) -> Item:
        for it in self.items:
            if it.id == item_id:
                return it
        raise KeyError(item_id)

    def __contains__(self, item_id: object) -> bool:
        return any(it.id == item_id for it in self.items)

    def __repr__(self) -> str:
        parts = ", ".join(f"{c}: {len(self.items_for(c))}" for c in self.components)
        return f"Instrument(version={self.version!r}, {len(self.items)} items; {parts})"

    @property
    def item_ids(self) -> tuple[str, ...]:
        """Every item id, in file order."""
        return tuple(it.id for it in self.items)

    @property
    def components(self) -> tuple[str, ...]:
        """The components that have items, in :data:`COMPONENTS` order."""
        present = {it.component for it in self.items}
        return tuple(c for c in COMPONENTS if c in present)

    @property
    def mo_components(self) -> tuple[str, ...]:
        """The market-orientation components that have items."""
        return tuple(c for c in self.components if c in MO_COMPONENTS)

    @property
    def score_columns(self) -> tuple[str, ...]:
        """The score columns of :func:`~outsidein.culture.score_respondents`."""
        return (*self.components, "market_orientation")

    def items_for(self, component: str) -> tuple[Item, ...]:
        """The items of *component*, in file order."""
        return tuple(it for it in self.items if it.component == component)

    def factors(self, components: Sequence[str] | None = None) -> dict[str, tuple[str, ...]]:
        """``{component: item ids}`` for a CFA (default: the market-orientation components).

        >>> inst = build_instrument({"version": "1", "items": [
        ...     {"id": f"co{i}", "component": "customer_orientation", "text": "t"}
        ...     for i in (1, 2, 3)]})
        >>> inst.factors()
        {'customer_orientation': ('co1', 'co2', 'co3')}
        """
        comps = self.mo_components if components is None else tuple(components)
        return {c: tuple(it.id for it in self.items_for(c)) for c in comps}

    def to_dict(self) -> dict[str, Any]:
        """``{"version", "name", "comment", "items": [...]}`` (the ``--json`` listing)."""
        return {"version": self.version, "name": self.name, "comment": self.comment,
                "items": [it.to_dict() for it in self.items]}


def _text(v: Any, path: tuple[str | int, ...], field: str) -> str:
    if not isinstance(v, str) or not v.strip():
        raise InstrumentProblem(path, field, f"must be a non-empty text, got {v!r}")
    return v.strip()


def _int(v: Any, path: tuple[str | int, ...], field: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise InstrumentProblem(path, field, f"must be a whole number, got {v!r}")
    return v


def build_instrument(doc: Mapping[str, Any]) -> Instrument:
    """Check the parsed instrument document *doc* and build the :class:`Instrument`.

    Raises :class:`InstrumentProblem` for the first bad value.

    >>> try:
    ...     build_instrument({"version": "1", "items": [{"id": "x", "component": "mood"}]})
    ... except InstrumentProblem as p:
    ...     print(p.path, p.field, p.problem[:26])
    ('items', 0, 'component') component 'mood' is not a component;
    """
    for k in doc:
        if k not in _TOP_KEYS:
            raise InstrumentProblem((k,), k, "unknown field; expected one of "
                                    + ", ".join(sorted(_TOP_KEYS)))
    version = doc.get("version")
    if isinstance(version, int) and not isinstance(version, bool):
        version = str(version)
    version = _text(version, ("version",), "version")
    name = _text(doc.get("name", "Market culture survey"), ("name",), "name")
    comment = _text(doc.get("comment", "Anything else you would like to say?"),
                    ("comment",), "comment")
    lo = _int(doc.get("scale_min", 1), ("scale_min",), "scale_min")
    hi = _int(doc.get("scale_max", 5), ("scale_max",), "scale_max")
    raw = doc.get("items")
    if not isinstance(raw, list) or not raw:
        raise InstrumentProblem(("items",), "items", "the file needs [[items]] tables")
    items: list[Item] = []
    seen: set[str] = set()
    for i, d in enumerate(raw):
        path: tuple[str | int, ...] = ("items", i)
        if not isinstance(d, Mapping):
            raise InstrumentProblem(path, "items", f"must be a table, got {d!r}")
        for k in d:
            if k not in _ITEM_KEYS:
                raise InstrumentProblem((*path, k), k, "unknown field; expected one of "
                                        + ", ".join(sorted(_ITEM_KEYS)))
        if "id" not in d:
            raise InstrumentProblem(path, "id", "missing")
        iid = _text(d["id"], (*path, "id"), "id")
        if not _ID.match(iid):
            raise InstrumentProblem((*path, "id"), "id", f"{iid!r} must be lower-case letters, "
                                    "digits and _ starting with a letter")
        if iid in seen:
            raise InstrumentProblem((*path, "id"), "id", f"{iid!r} is used twice")
        if iid in RESERVED_COLUMNS:
            raise InstrumentProblem((*path, "id"), "id", f"{iid!r} is a reserved column name")
        seen.add(iid)
        comp = d.get("component")
        if comp not in COMPONENTS:
            raise InstrumentProblem((*path, "component"), "component",
                                    f"{comp!r} is not a component; expected one of "
                                    + ", ".join(COMPONENTS))
        if "text" not in d:
            raise InstrumentProblem(path, "text", "missing")
        text = _text(d["text"], (*path, "text"), "text")
        smin = _int(d.get("scale_min", lo), (*path, "scale_min"), "scale_min")
        smax = _int(d.get("scale_max", hi), (*path, "scale_max"), "scale_max")
        if smax - smin + 1 not in (5, 7):
            bad = "scale_max" if "scale_max" in d or "scale_min" not in d else "scale_min"
            raise InstrumentProblem((*path, bad), bad, f"the scale {smin}..{smax} has "
                                    f"{smax - smin + 1} points; it must have 5 or 7")
        rev = d.get("reverse", False)
        if not isinstance(rev, bool):
            raise InstrumentProblem((*path, "reverse"), "reverse",
                                    f"must be true or false, got {rev!r}")
        items.append(Item(iid, str(comp), text, smin, smax, rev))
    inst = Instrument(version, tuple(items), name, comment)
    if not inst.mo_components:
        raise InstrumentProblem(("items",), "component", "no market-orientation items; expected "
                                "items for at least one of " + ", ".join(MO_COMPONENTS))
    for c in inst.components:
        n = len(inst.items_for(c))
        if c != PERFORMANCE and n < _MIN_ITEMS:
            last = max(i for i, it in enumerate(items) if it.component == c)
            raise InstrumentProblem(("items", last, "component"), "component",
                                    f"{c!r} has {n} item(s); a component needs at least "
                                    f"{_MIN_ITEMS} to be measured")
    return inst


def parse_instrument(text: str, source: str = "instrument") -> Instrument:
    """Parse and check the TOML instrument *text*; *source* names it in error messages.

    >>> from outsidein.errors import ConfigError
    >>> try:
    ...     parse_instrument('version = "1"\\n[[items]]\\nid = "co1"\\ncomponent = "cust"\\n',
    ...                      "my.toml")
    ... except ConfigError as e:
    ...     print(str(e)[:56])
    my.toml line 4: [[items]] #1 'co1', field component: 'cu
    """
    doc = parse_toml(text, source)
    try:
        return build_instrument(doc)
    except InstrumentProblem as p:
        raise problem_error(source, text, doc, p.path, p.field, p.problem,
                            name_key="id") from p
