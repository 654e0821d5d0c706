"""The customer's local time, for quiet hours: a zone's hour of the day, fast.

:func:`local_hour` is asked on every decision that could interrupt (email, mobile, call
centre), so a zone's UTC offset is kept per quarter hour (:data:`_OFFSETS`) instead of a
:mod:`zoneinfo` conversion each time.  :func:`in_quiet` and :func:`quiet_end` read quiet
hours ``[start, end)`` that may wrap midnight.

>>> in_quiet(local_hour(0.0, "Asia/Tokyo"), 21, 8)
False
>>> quiet_end(0.0, 22.5, 8) / 3600.0
9.5
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

__all__ = ["in_quiet", "local_hour", "quiet_end"]

_OFFSETS: dict[tuple[str, int], float] = {}


def local_hour(ts: float, timezone: str) -> float:
    """Hour of the day (with fraction) at ``ts`` in ``timezone``.

    >>> local_hour(0.0, "Asia/Tokyo")
    9.0
    """
    # a zone's UTC offset changes only at transitions that fall on quarter hours (UTC) for
    # every modern rule, so it is cached per (zone, quarter hour): a look-up, not a
    # zoneinfo conversion, per decision
    key = (timezone, int(ts // 900))
    off = _OFFSETS.get(key)
    if off is None:
        u = dt.datetime.fromtimestamp(ts, ZoneInfo(timezone)).utcoffset()
        off = u.total_seconds() if u is not None else 0.0
        if len(_OFFSETS) > 65536:
            _OFFSETS.clear()
        _OFFSETS[key] = off
    return ((ts + off) % 86400.0) / 3600.0


def in_quiet(hour: float, start: int, end: int) -> bool:
    return (start <= hour < end) if start < end else (hour >= start or hour < end)


def quiet_end(ts: float, hour: float, end: int) -> float:
    wait = (end - hour) % 24.0
    return ts + wait * 3600.0
