"""What the customer 360 holds: one :class:`CustomerView` of :class:`Section` values.

A section is one panel of the page (who the customer is, value, orders, ...): its
headline ``figures``, its ``rows`` (recent first) and, when the warehouse or the store
holds nothing for it, ``missing``: which data would fill it and how to load it.  A
missing section is not an error: the page and the API show what is known.

>>> s = Section("nps", "Net Promoter answers", missing="no NPS answer recorded")
>>> s.available, s.to_dict()["missing"]
(False, 'no NPS answer recorded')
>>> nps_category(9), nps_category(7), nps_category(3)
('promoter', 'passive', 'detractor')
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["CustomerView", "SearchHit", "Section", "nps_category"]


@dataclass(frozen=True)
class Section:
    """One panel of the customer 360.

    Parameters
    ----------
    key
        Stable name (``profile``, ``value``, ``history``, ``orders``, ``interactions``,
        ``service_costs``, ``referrals``, ``nps``, ``insights``, ``prospect``; later
        capabilities add theirs, e.g. ``journey``, ``segment``).
    title
        The panel's heading, in words.
    figures
        Headline numbers and facts, name -> value (money in the workspace currency,
        shares as fractions 0-1, times as naive UTC ``datetime``).
    rows
        The panel's list, most recent first (at most the limit asked for).
    missing
        None when the panel has data; else what would fill it, e.g. "no service costs
        loaded: load them with 'outsidein load service_costs FILE'".
    note
        One sentence a reader needs (a cut-off list, where a figure comes from).
    """

    key: str
    title: str
    figures: dict[str, Any] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)
    missing: str | None = None
    note: str = ""

    @property
    def available(self) -> bool:
        return self.missing is None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "available": self.available}


@dataclass(frozen=True)
class CustomerView:
    """Everything known about one customer (or prospect), as the 360 page shows it.

    ``kind`` is ``"customer"`` or ``"prospect"``; ``name`` comes from a name-like
    attribute when the customers file brought one; ``as_of`` is the last order in the
    warehouse (what "now" means for the value figures).
    """

    customer_id: str
    kind: str
    name: str | None
    currency: str
    as_of: datetime | None
    sections: tuple[Section, ...]

    def section(self, key: str) -> Section:
        """The section named *key*; ``KeyError`` if the view has none."""
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(key)

    def to_dict(self) -> dict[str, Any]:
        return {"customer_id": self.customer_id, "kind": self.kind, "name": self.name,
                "currency": self.currency, "as_of": self.as_of,
                "sections": [s.to_dict() for s in self.sections]}

    def __repr__(self) -> str:
        shown = [s.key for s in self.sections if s.available]
        return f"CustomerView({self.kind} {self.customer_id!r}, sections with data: {shown})"


@dataclass(frozen=True)
class SearchHit:
    """One search result: a customer or a prospect, with what matched."""

    kind: str
    id: str
    label: str
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def nps_category(score: float) -> str:
    """The Net Promoter group of a 0-10 answer: promoter (9-10), passive (7-8), detractor."""
    if score >= 9:
        return "promoter"
    return "passive" if score >= 7 else "detractor"
