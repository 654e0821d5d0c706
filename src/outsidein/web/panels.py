"""The overview's tiles: what a :class:`Panel` holds and the ones still waiting for their data.

The overview route (:mod:`outsidein.web.routes.pages`) lists the functions that make its tiles
in :data:`~outsidein.web.routes.pages.PANELS`.  A tile whose capability does not exist yet is
a placeholder from here that says what will fill it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from outsidein.workspace import Workspace


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


def stage_funnel_pending(ws: Workspace) -> Panel:
    """The buying-stage funnel tile until sense-and-respond measures it.

    >>> stage_funnel_pending(None).note   # the workspace is not read yet
    'not yet measured — comes with sense-and-respond'
    """
    return Panel("stage_funnel", "Buying-stage funnel", None,
                 "not yet measured — comes with sense-and-respond")


def culture_pending(ws: Workspace) -> Panel:
    """The market-culture score tile until the culture survey measures it.

    >>> culture_pending(None).value is None
    True
    """
    return Panel("culture", "Market-culture score", None,
                 "not yet measured — comes with the culture survey")
