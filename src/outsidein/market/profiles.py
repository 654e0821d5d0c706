"""A cluster's profile in words a manager recognises.

Each cluster is compared with all customers: who they are (business or consumer), which
product types they over-buy (share of revenue at least 1.25 times the overall share),
where they buy (the channel they use at least 1.2 times as much as everyone), how often
(orders a year) and how much (revenue against the average), and whether they need more
service than most.

>>> overall = ClusterProfile(customers=1000, revenue=500.0, orders_per_year=6.0,
...     type_share={"tools": 0.2, "office": 0.2, "grocery": 0.6},
...     channel_share={"web": 0.5, "store": 0.5}, contacts=1.0, business_share=0.4)
>>> trade = ClusterProfile(customers=200, revenue=900.0, orders_per_year=14.0,
...     type_share={"tools": 0.5, "office": 0.3, "grocery": 0.2},
...     channel_share={"web": 0.3, "store": 0.7}, contacts=1.0, business_share=0.9)
>>> describe(trade, overall)
'business customers buying tools and office, in store, monthly, high value'
>>> short_name(trade, overall)
'Tools & office · business · high value'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["ClusterProfile", "describe", "frequency_words", "short_name"]

_CHANNEL_WORDS = {"web": "online", "mobile": "on mobile", "store": "in store",
                  "call_center": "by phone", "chat": "through chat", "email": "by email",
                  "social": "through social media"}


@dataclass(frozen=True)
class ClusterProfile:
    """A cluster's (or all customers') mean figures, as the warehouse computes them."""

    customers: int
    revenue: float
    orders_per_year: float
    type_share: Mapping[str, float] = field(default_factory=dict)
    channel_share: Mapping[str, float] = field(default_factory=dict)
    contacts: float = 0.0
    business_share: float = 0.0


def _over(share: Mapping[str, float], base: Mapping[str, float], factor: float,
          top: int) -> list[str]:
    ratios = {k: v / base[k] for k, v in share.items() if base.get(k, 0) > 0 and v > 0.02}
    return [k for k, r in sorted(ratios.items(), key=lambda kv: -kv[1]) if r >= factor][:top]


def frequency_words(orders_per_year: float) -> str:
    """How often, in words.

    >>> frequency_words(50), frequency_words(11), frequency_words(1.5)
    ('weekly', 'monthly', 'once or twice a year')
    """
    for limit, words in ((40, "weekly"), (20, "every two or three weeks"), (9, "monthly"),
                         (3.5, "every few months")):
        if orders_per_year >= limit:
            return words
    return "once or twice a year"


def _value(p: ClusterProfile, overall: ClusterProfile) -> str:
    ratio = p.revenue / overall.revenue if overall.revenue > 0 else 1.0
    if ratio >= 1.5:
        return "high value"
    if ratio <= 0.6:
        return "low value"
    return "average value"


def _who(p: ClusterProfile) -> tuple[str, str]:
    if p.business_share >= 0.7:
        return "business customers", "business"
    if p.business_share <= 0.3:
        return "consumers", "consumers"
    return "consumers and businesses", "mixed"


def _types(p: ClusterProfile, overall: ClusterProfile) -> list[str]:
    return [t.replace("_", " ") for t in _over(p.type_share, overall.type_share, 1.25, 2)]


def describe(p: ClusterProfile, overall: ClusterProfile) -> str:
    """One line: who, what they over-buy, where, how often, how much (see the module doc)."""
    who, _ = _who(p)
    types = _types(p, overall)
    what = f"buying {' and '.join(types)}" if types else "buying a bit of everything"
    channels = _over(p.channel_share, overall.channel_share, 1.2, 1)
    where = _CHANNEL_WORDS.get(channels[0], channels[0].replace("_", " ")) if channels \
        else "across channels"
    parts = [f"{who} {what}", where, frequency_words(p.orders_per_year), _value(p, overall)]
    if overall.contacts > 0 and p.contacts >= 1.5 * overall.contacts:
        parts.append("many service contacts")
    return ", ".join(parts)


def short_name(p: ClusterProfile, overall: ClusterProfile) -> str:
    """A short name for tables: main types · who · value.

    >>> all_ = ClusterProfile(customers=10, revenue=100.0, orders_per_year=4.0,
    ...                       type_share={"a": 0.5, "b": 0.5}, business_share=0.5)
    >>> short_name(all_, all_)
    'Mixed baskets · mixed · average value'
    """
    types = _types(p, overall)
    what = " & ".join(types).capitalize() if types else "Mixed baskets"
    return f"{what} · {_who(p)[1]} · {_value(p, overall)}"
