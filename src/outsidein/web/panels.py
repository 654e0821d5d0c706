"""The overview's tiles: what a :class:`Panel` holds, the KPI tiles with their trend lines
(:func:`kpi_panel`, figures from :mod:`outsidein.services.kpis`) and the ones still waiting for
their data.

The overview route (:mod:`outsidein.web.routes.pages`) lists the functions that make its tiles
in :data:`~outsidein.web.routes.pages.PANELS`.  A tile whose capability does not exist yet is
a placeholder from here that says what will fill it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from outsidein.services.kpis import Kpi, month_label
from outsidein.workspace import Workspace

__all__ = ["FLASH", "AlertSource", "Panel", "PanelSource", "Sparkline", "kpi_panel",
           "sparkline"]


@dataclass(frozen=True)
class Panel:
    """One overview tile: a title, a headline figure and an optional Plotly figure dict."""

    key: str
    title: str
    value: str | None
    note: str = ""
    figure: dict[str, Any] | None = None
    link: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


#: Makes one overview tile from the workspace.
PanelSource = Callable[[Workspace], Panel]
#: Gives the latest alerts (newest first, at most *limit*): mappings with title/message and ts.
AlertSource = Callable[[Workspace, int], Iterable[Mapping[str, Any]]]


#: Session key of a one-line message shown once on the next page (e.g. "Reminder queued ...").
FLASH = "flash"


@dataclass(frozen=True)
class Sparkline:
    """A small trend line drawn as inline SVG (no chart library on the overview).

    ``points`` are SVG polyline coordinates in a *width* x *height* box; ``label`` says the
    trend in words for screen readers.
    """

    points: str
    width: int
    height: int
    last_x: float
    last_y: float
    label: str


def _short(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value * 100:.1f}%"
    if unit == "$":
        return f"${value:,.0f}"
    return f"{value:,.0f} {unit}".rstrip()


def _month(key: str) -> str:
    return month_label(key) if len(key) == 7 and key[4] == "-" else key


def sparkline(series: Sequence[tuple[str, float]], unit: str, *, width: int = 160,
              height: int = 40, pad: float = 3.0) -> Sparkline | None:
    """The SVG polyline of a monthly *series* (oldest first); None with fewer than two points.

    >>> s = sparkline([("2025-01", 10.0), ("2025-02", 30.0), ("2025-03", 20.0)], "$",
    ...               width=100, height=20, pad=0)
    >>> s.points
    '0.0,20.0 50.0,0.0 100.0,10.0'
    >>> s.label
    'from $10 in Jan 2025 to $20 in Mar 2025 (lowest $10, highest $30)'
    """
    if len(series) < 2:
        return None
    values = [v for _, v in series]
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    step = (width - 2 * pad) / (len(values) - 1)
    coords = [(pad + i * step, pad + (height - 2 * pad) * (1 - (v - lo) / span))
              for i, v in enumerate(values)]
    if hi == lo:
        coords = [(x, height / 2) for x, _ in coords]
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    label = (f"from {_short(values[0], unit)} in {_month(series[0][0])} to "
             f"{_short(values[-1], unit)} in {_month(series[-1][0])} "
             f"(lowest {_short(lo, unit)}, highest {_short(hi, unit)})")
    return Sparkline(points=points, width=width, height=height, last_x=round(coords[-1][0], 1),
                     last_y=round(coords[-1][1], 1), label=label)


def kpi_panel(kpi: Kpi) -> Panel:
    """The overview tile of one KPI: its figure with its unit, the period, and its trend line.

    >>> from outsidein.services.kpis import Kpi, month_label
    >>> p = kpi_panel(Kpi("revenue", "Revenue", "$", 1500.0, "Dec 2025",
    ...                   (("2025-11", 1000.0), ("2025-12", 1500.0)), note="in Dec 2025"))
    >>> p.value, p.extra["change"]
    ('$1,500', '+50.0% on the month before')
    """
    if kpi.value is None or kpi.missing:
        return Panel(kpi.key, kpi.title, None, kpi.missing or "not measured yet", link=kpi.link)
    change = kpi.change
    words = None if change is None else f"{change * 100:+.1f}% on the month before"
    if change is not None and kpi.unit == "%":
        points = (kpi.series[-1][1] - kpi.series[-2][1]) * 100
        words = f"{points:+.1f} points on the month before"
    return Panel(kpi.key, kpi.title, kpi.display, kpi.note, link=kpi.link,
                 extra={"sparkline": sparkline(kpi.series, kpi.series_unit or kpi.unit),
                        "change": words, "raw": kpi.value,
                        "unit": kpi.unit, "period": kpi.period})
