"""The Culture page's figures: a department x component heat map, the trend across waves,
the benchmark, comments, all through the engine's one anonymity rule set.

:func:`culture_view` reads one organisation's responses in one wave (default: the latest wave
with responses, and the workspace's own organisation: ``[culture] org`` in outsidein.toml,
else the one with most responses) and gives a :class:`CultureView`.  Every group score in it
comes from :func:`outsidein.culture.anonymity.disclosed_scores` (fewer than 5 respondents:
no score; complementary suppression across departments *and* roles), every comment from
:func:`~outsidein.culture.anonymity.disclosed_comments` (fewer than 10: none), both through
:mod:`outsidein.services.culture.groups`.  The benchmark (percentile gauges, gap-driver items)
comes from :mod:`outsidein.services.culture.benchmark`.

>>> band(72.0), band(100.0), band(None)
('heat-3', 'heat-4', 'hidden-cell')
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import func, select

from outsidein.culture.anonymity import ALL
from outsidein.culture.instrument import COMPONENT_LABELS, Instrument
from outsidein.culture.links import cross_lagged, engagement_link, performance_link
from outsidein.culture.scoring import score_respondents
from outsidein.errors import NotFoundError
from outsidein.services.culture.benchmark import benchmark, org_level
from outsidein.services.culture.groups import RULES, group_comments, group_scores
from outsidein.services.culture.responses import org_table, wave_instrument, wave_responses
from outsidein.services.culture.waves import WaveInfo, list_waves
from outsidein.store.db import session_scope
from outsidein.store.models.culture import CultureOrg, CultureResponse

if TYPE_CHECKING:
    from outsidein.workspace import Workspace

__all__ = ["CultureView", "band", "culture_view", "focal_org", "responses_by_org", "trend_figure",
           "wave_levels"]

_COLOURS = ("#1f6feb", "#d1242f", "#2da44e", "#bf8700", "#8250df", "#0a7f86", "#cf222e",
            "#57606a", "#6e7781")


def band(value: float | None) -> str:
    """The heat map's CSS class for a 0-100 score (``hidden-cell`` when not shown)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "hidden-cell"
    return f"heat-{min(4, max(0, int(value // 20) if value < 100 else 4))}"


def _num(v: Any) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else round(float(v), 1)


@dataclass
class CultureView:
    """One organisation in one wave, as the Culture page shows it."""

    waves: list[WaveInfo] = field(default_factory=list)
    wave: str | None = None
    illustrative: bool = False
    orgs: list[str] = field(default_factory=list)
    org: str | None = None
    n: int = 0
    columns: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    headline: dict[str, Any] = field(default_factory=dict)
    heat: list[dict[str, Any]] = field(default_factory=list)
    trend: dict[str, Any] | None = None
    comments: list[str] = field(default_factory=list)
    comments_note: str = ""
    benchmark: dict[str, Any] = field(default_factory=dict)
    links: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """No wave has responses yet."""
        return self.wave is None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["waves"] = [w.to_dict() for w in self.waves]
        return out


def focal_org(ws: Workspace, counts: dict[str, int]) -> str | None:
    """``[culture] org`` of outsidein.toml when it answered, else the first organisation added
    (the company itself, or the consultant's first client) among those that answered."""
    named = (ws.config.extra.get("culture") or {}).get("org")
    if isinstance(named, str) and named in counts:
        return named
    return next(iter(counts), None)


def _heat(table: pd.DataFrame, org: str, columns: Sequence[str]) -> list[dict[str, Any]]:
    rows = []
    mine = table[table["org"] == org]
    for r in mine.to_dict(orient="records"):
        if r["dimension"] == "all":
            continue
        cells = [{"column": c, "value": _num(r[c]) if r["show_score"] else None,
                  "band": band(_num(r[c]) if r["show_score"] else None)} for c in columns]
        rows.append({"dimension": r["dimension"], "group": r["group"], "n": int(r["n"]),
                     "shown": bool(r["show_score"]), "reason": r["reason"], "cells": cells})
    order = {"department": 0, "role": 1}
    return sorted(rows, key=lambda r: (order.get(r["dimension"], 2), r["group"]))


def trend_figure(points: list[dict[str, Any]], columns: Sequence[str]) -> dict[str, Any] | None:
    """Scores of the organisation across waves (shown ones only) as a Plotly line chart."""
    if len(points) < 2:
        return None
    data = []
    for i, c in enumerate(columns):
        ys = [p["scores"].get(c) for p in points]
        if all(y is None for y in ys):
            continue
        data.append({"type": "scatter", "mode": "lines+markers",
                     "name": COMPONENT_LABELS.get(c, c), "x": [p["wave"] for p in points],
                     "y": ys, "line": {"color": _COLOURS[i % len(_COLOURS)],
                                       "width": 4 if c == "market_orientation" else 2},
                     "hovertemplate": "%{x}: %{y:.0f}<extra>" + COMPONENT_LABELS.get(c, c)
                     + "</extra>"})
    return {"data": data, "layout": {
        "title": {"text": "Scores across waves (0-100)"}, "height": 380,
        "yaxis": {"title": {"text": "score"}, "range": [0, 100]},
        "xaxis": {"type": "category"}, "legend": {"orientation": "h", "y": -0.25},
        "margin": {"t": 50, "l": 50, "r": 20, "b": 60}}}


def wave_levels(ws: Workspace, waves: Sequence[WaveInfo]) -> dict[str, pd.DataFrame]:
    """Organisation-level rows (:func:`~outsidein.services.culture.benchmark.org_level`) of
    each wave with responses, oldest first: what the trend and the benchmark read."""
    levels: dict[str, pd.DataFrame] = {}
    with session_scope(ws.store_url, write=False) as s:
        orgs = org_table(s)
        for w in waves:
            if not w.responses:
                continue
            wave, frame = wave_responses(s, w.id)
            levels[w.name] = org_level(frame, wave_instrument(wave), orgs,
                                       illustrative=w.illustrative)
    return levels


def _trend(levels: dict[str, pd.DataFrame], org: str,
           columns: Sequence[str]) -> list[dict[str, Any]]:
    points = []
    for name, table in levels.items():
        row = table[(table["org"] == org) & table["shown"]]
        if len(row):
            points.append({"wave": name, "scores": {c: _num(row[c].iloc[0]) if c in row
                                                    else None for c in columns}})
    return points


def responses_by_org(ws: Workspace, wave_id: int) -> dict[str, int]:
    """Respondents per organisation in a wave, in the order the organisations were added."""
    with session_scope(ws.store_url, write=False) as s:
        rows = s.execute(select(CultureOrg.name, func.count())
                         .join(CultureResponse, CultureResponse.org_id == CultureOrg.id)
                         .where(CultureResponse.wave_id == wave_id)
                         .group_by(CultureOrg.id, CultureOrg.name)
                         .order_by(CultureOrg.id)).all()
    return {str(o): int(n) for o, n in rows}


#: Views already computed, by store, wave, organisation and the state of every wave (ids,
#: response counts, status): a new response or a closed wave makes a new key.
_VIEWS: dict[tuple[Any, ...], CultureView] = {}
_VIEWS_MAX = 32


def culture_view(ws: Workspace, wave: str | None = None, org: str | None = None) -> CultureView:
    """The page's figures for *org* in *wave* (see the module doc); kept in memory until a
    response arrives or a wave changes, so a page seen again costs a few milliseconds.

    Raises
    ------
    NotFoundError
        A named wave or organisation that has no responses.
    """
    with session_scope(ws.store_url, write=False) as s:
        waves = list_waves(s)
    key = (ws.store_url, wave, org, (ws.config.extra.get("culture") or {}).get("org"),
           tuple((w.id, w.responses, w.status) for w in waves))
    hit = _VIEWS.get(key)
    if hit is None:
        hit = _compute(ws, waves, wave, org)
        if len(_VIEWS) >= _VIEWS_MAX:
            _VIEWS.clear()
        _VIEWS[key] = hit
    return hit


def _compute(ws: Workspace, waves: list[WaveInfo], wave: str | None,
             org: str | None) -> CultureView:
    answered = [w for w in waves if w.responses]
    if wave is None and not answered:
        return CultureView(waves=waves)
    chosen = answered[-1] if wave is None else next((w for w in waves if w.name == wave), None)
    if chosen is None:
        raise NotFoundError(f"wave {wave!r} not found; known: "
                            f"{', '.join(w.name for w in waves) or 'none'}")
    counts = responses_by_org(ws, chosen.id)
    name = org if org is not None else focal_org(ws, counts)
    if name is None or name not in counts:
        raise NotFoundError(f"organisation {org!r} has no responses in wave {chosen.name!r}; "
                            f"with responses: {', '.join(sorted(counts)) or 'none'}")
    with session_scope(ws.store_url, write=False) as s:
        wave_row, frame = wave_responses(s, chosen.id)
        inst = wave_instrument(wave_row)
    view = CultureView(waves=waves, wave=chosen.name, illustrative=chosen.illustrative,
                       orgs=sorted(counts), org=name, n=counts[name],
                       columns=list(inst.score_columns),
                       labels={c: COMPONENT_LABELS.get(c, c) for c in inst.score_columns})
    scores = score_respondents(frame, inst)
    table = group_scores(scores, inst.score_columns)
    top = table[(table["org"] == name) & (table["dimension"] == "all")].iloc[0]
    view.headline = {"n": int(top["n"]), "shown": bool(top["show_score"]),
                     "reason": str(top["reason"]),
                     "scores": {c: _num(top[c]) for c in inst.score_columns}}
    view.heat = _heat(table, name, inst.score_columns)
    _comments(view, frame, name)
    levels = wave_levels(ws, answered)
    cols = _trend_columns(inst)
    view.trend = trend_figure(_trend(levels, name, cols), cols)
    view.benchmark = benchmark(levels, inst, chosen.name, name)
    view.links = _links(levels, chosen.name)
    view.notes.append(f"Scores run from 0 (every answer at the bottom of the scale) to 100 (every "
                      f"answer at the top), reverse-keyed questions turned round. A group "
                      f"needs {RULES.min_scores} respondents for a score and "
                      f"{RULES.min_comments} for its comments; a larger group is hidden too "
                      "when showing it would let a smaller one be worked out by subtraction.")
    return view


def _links(levels: dict[str, pd.DataFrame], wave: str) -> list[str]:
    """Culture and performance, culture and engagement across the organisations shown in
    *wave*; and whether a rise in customer focus came before a rise in engagement, across
    consecutive waves up to *wave* (organisation-level scores, shown ones only)."""
    upto: list[pd.DataFrame] = []
    for i, (name, table) in enumerate(levels.items()):
        upto.append(table[table["shown"]].assign(wave_order=i))
        if name == wave:
            break
    now = upto[-1]
    out = []
    if {"market_orientation", "performance"} <= set(now.columns):
        out.append(performance_link(now).words)
    if {"market_orientation", "engagement"} <= set(now.columns):
        out.append(engagement_link(now).words)
    panel = pd.concat(upto, ignore_index=True)
    if len(upto) >= 2 and {"customer_orientation", "engagement"} <= set(panel.columns):
        out.append(cross_lagged(panel, unit="org", wave="wave_order").words)
    return out


def _trend_columns(inst: Instrument) -> list[str]:
    return ["market_orientation", *[c for c in inst.score_columns
                                    if c not in ("market_orientation", "performance")]]


def _comments(view: CultureView, frame: pd.DataFrame, org: str) -> None:
    c = group_comments(frame)
    mine = c[(c["org"] == org) & (c["group"] == ALL)]
    counted = mine["comment"].astype(str).value_counts()
    view.comments = [f"{text} ({n} people)" if n > 1 else str(text)
                     for text, n in sorted(counted.items(), key=lambda kv: (-kv[1], kv[0]))]
    if view.n < RULES.min_comments:
        view.comments_note = (f"Comments are shown for groups of at least {RULES.min_comments} "
                              f"respondents; {org} has {view.n} in this wave.")
