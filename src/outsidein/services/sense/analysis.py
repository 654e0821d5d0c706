"""What sense and respond has done, in figures a department head reads, and the simulator's proof.

:func:`sense_summary` reads the store's sense tables (``sense_customer_state``,
``sense_decisions``, ``sense_events``) and gives a :class:`SenseSummary`:

* the stage funnel: how many customers are at each buying stage now;
* decisions by stage and action (``no message`` while nothing was sent), with how many of
  them went to the control group;
* the control group's share of the customers decided for;
* lift against the control group, with a 95% interval, once outcomes exist: the share of
  customers who clicked or bought (an event of a type in :data:`OUTCOME_TYPES`) within
  :data:`ATTRIBUTION_DAYS` days after their first message, minus the same share in the control
  group after their first (held-out) decision.  Until there are messages, outcomes and a
  control group, :attr:`Lift.missing` says plainly what is lacking.

:meth:`SenseSummary.insights` (mappings of an insight draft's fields) is what the pipeline
step (:func:`run_sense_analysis`, in :data:`outsidein.services.pipeline.STEPS`) publishes:
"N customers are at risk right now: send them a retention message", with the funnel as
evidence.  A workspace without events
gets an empty summary and no insight (the step does nothing, quietly).

:func:`run_simulation` runs :func:`outsidein.sense.simulate.simulate_market` for
``outsidein sense simulate``; :func:`save_simulation` keeps the last result in
``results/sense_simulation.json`` (read back by :func:`read_simulation`) for the page and
the report, which draw it with :func:`comparison_figure` and :func:`learning_figure`.

>>> lift_interval(30, 100, 20, 100)                  # doctest: +ELLIPSIS
(0.1, -0.019..., 0.219...)
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, select
from sqlalchemy.exc import OperationalError, ProgrammingError

from outsidein.errors import DataValidationError
from outsidein.sense.silence import SILENCE
from outsidein.sense.simulate import POLICIES, simulate_market
from outsidein.sense.stages import ATTRIBUTION_DAYS, OUTCOME_TYPES, STAGE_LABELS, STAGES
from outsidein.store.db import session_scope
from outsidein.store.models.sense import CustomerState, Decision, SenseEvent

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from outsidein.workspace import Workspace

__all__ = ["ATTRIBUTION_DAYS", "HOW_TO_FILL", "HOW_TO_SIMULATE", "NO_OUTCOMES", "OUTCOME_TYPES",
           "POLICY_LABELS", "SIMULATION_FILE", "Lift", "SenseSummary", "comparison_figure",
           "funnel_figure", "learning_figure", "lift_interval", "read_simulation",
           "run_sense_analysis", "run_simulation", "save_simulation", "sense_summary",
           "simulation_path"]

HOW_TO_FILL = ("run 'outsidein sense replay' to put the warehouse's interactions through the "
               "engine, or send events to POST /api/v1/events (an API key with scope "
               "events:write)")
NO_OUTCOMES = ("no outcomes yet: outcome events (click, purchase) arrive through "
               "POST /api/v1/events")
HOW_TO_SIMULATE = "run 'outsidein sense simulate' (e.g. --seed 21 --customers 3000 --weeks 40)"
#: Where the last ``outsidein sense simulate`` result lives, relative to the workspace folder.
SIMULATION_FILE = Path("results") / "sense_simulation.json"
#: The simulator's policies in words.
POLICY_LABELS: dict[str, str] = {
    "sense_and_respond": "Sense and respond",
    "push": "Push (the same sales message to everyone, weekly)",
    "none": "No message",
    "oracle": "Oracle (knows every customer's true stage)",
}
_COLOURS = {"sense_and_respond": "#1f6feb", "push": "#d1242f", "none": "#6e7781",
            "oracle": "#2da44e"}


def lift_interval(treated_yes: int, treated: int, control_yes: int,
                  control: int, z: float = 1.96) -> tuple[float, float, float]:
    """Difference of two conversion shares (treated - control) with a normal 95% interval.

    >>> lift_interval(10, 10, 0, 10)
    (1.0, 1.0, 1.0)
    """
    p1, p0 = treated_yes / treated, control_yes / control
    se = math.sqrt(p1 * (1 - p1) / treated + p0 * (1 - p0) / control)
    diff = p1 - p0
    return round(diff, 10), diff - z * se, diff + z * se


@dataclass(frozen=True)
class Lift:
    """Messaged customers' conversion share minus the control group's, with its interval."""

    treated: int = 0
    treated_converted: int = 0
    control: int = 0
    control_converted: int = 0
    lift: float | None = None
    low: float | None = None
    high: float | None = None
    missing: str | None = None

    @property
    def treated_rate(self) -> float | None:
        """Share of messaged customers who clicked or bought after their first message."""
        return self.treated_converted / self.treated if self.treated else None

    @property
    def control_rate(self) -> float | None:
        """The same share in the control group (no message)."""
        return self.control_converted / self.control if self.control else None


@dataclass(frozen=True)
class SenseSummary:
    """The store's sense tables in figures (see the module doc)."""

    customers: int = 0
    events: int = 0  # the customers' own (the events API, Segment, a replay)
    silences: int = 0  # stage changes by silence (the sweep's events, not the customers')
    decisions: int = 0
    funnel: list[dict[str, Any]] = field(default_factory=list)
    by_action: list[dict[str, Any]] = field(default_factory=list)
    control_customers: int = 0
    decided_customers: int = 0
    outcome_events: int = 0
    messages: int = 0
    lift: Lift = field(default_factory=Lift)
    last_event: str | None = None
    attribution_days: int = ATTRIBUTION_DAYS

    @property
    def empty(self) -> bool:
        """No event has reached the engine yet."""
        return self.events == 0 and self.customers == 0

    @property
    def control_share(self) -> float | None:
        """Share of the customers decided for who are in the control group."""
        return self.control_customers / self.decided_customers if self.decided_customers else None

    def stage_count(self, stage: str) -> int:
        """Customers at *stage* now."""
        return next((int(r["customers"]) for r in self.funnel if r["stage"] == stage), 0)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (the lift with its rates)."""
        out = asdict(self)
        out["control_share"] = self.control_share
        out["lift"].update(treated_rate=self.lift.treated_rate,
                           control_rate=self.lift.control_rate)
        return out

    def insights(self) -> list[dict[str, Any]]:
        """The finding for the departments: customers at risk now (none while nobody is).

        Each is a mapping of :class:`~outsidein.services.share.InsightDraft`'s fields, which
        :func:`outsidein.services.publish.publish_analysis_insights` publishes.
        """
        at_risk = self.stage_count("at_risk")
        if self.empty or at_risk == 0 or self.customers == 0:
            return []
        share = at_risk / self.customers
        lapsed = self.stage_count("lapsed")
        verb = "has" if lapsed == 1 else "have"
        statement = (f"{at_risk:,} of the {self.customers:,} customers the engine has sensed "
                     f"({share:.0%}) show the clues of drifting away right now (fewer visits, "
                     f"complaints, unsubscribes); {lapsed:,} more {verb} already lapsed. "
                     "Next: send the at-risk customers a retention message this week.")
        figures = {"customers_at_risk": at_risk, "customers_sensed": self.customers,
                   "share_at_risk": round(share, 4), "customers_lapsed": lapsed,
                   **{f"stage_{r['stage']}": int(r["customers"]) for r in self.funnel}}
        evidence: dict[str, Any] = {
            "figures": figures, "link": "/sense", "chart": funnel_figure(self.funnel),
            "next_action": {"text": "send the at-risk customers a retention message",
                            "count": at_risk}}
        return [{"key": "sense.at_risk",
                 "title": f"{_people(at_risk)} at risk right now: send them a retention message",
                 "statement": statement, "evidence": evidence,
                 "departments": ("marketing", "service", "sales"),
                 "priority": "high" if share >= 0.05 else "medium", "source": "sense"}]


def _people(n: int) -> str:
    """*n* customers and the verb.

    >>> _people(1), _people(1200)
    ('1 customer is', '1,200 customers are')
    """
    return f"{n:,} customer is" if n == 1 else f"{n:,} customers are"


def _funnel(session: Session) -> tuple[list[dict[str, Any]], int]:
    counts = dict(session.execute(
        select(CustomerState.stage, func.count()).group_by(CustomerState.stage)).all())
    total = int(sum(counts.values()))
    order = list(STAGES) + sorted(s for s in counts if s not in STAGES)
    rows = [{"stage": s, "label": STAGE_LABELS.get(s, s.replace("_", " ")),
             "customers": int(counts.get(s, 0)),
             "share": (int(counts.get(s, 0)) / total) if total else 0.0} for s in order]
    return rows, total


def _by_action(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Decision.stage, Decision.action, func.count(),
               func.count(func.distinct(Decision.customer_id)),
               func.sum(case((Decision.control.is_(True), 1), else_=0)))
        .group_by(Decision.stage, Decision.action)).all()
    rank = {s: i for i, s in enumerate(STAGES)}
    out = [{"stage": s, "label": STAGE_LABELS.get(s, s), "action": a or "no message",
            "decisions": int(n), "customers": int(c), "control": int(k or 0)}
           for s, a, n, c, k in rows]
    return sorted(out, key=lambda r: (rank.get(r["stage"], 99), -r["decisions"]))


def _first_times(session: Session, *, control: bool) -> dict[str, datetime]:
    """Each customer's first message (or first held-out decision) time: the event's ts."""
    q = (select(Decision.customer_id, func.min(SenseEvent.ts))
         .join(SenseEvent, SenseEvent.id == Decision.event_pk)
         .where(Decision.control.is_(control)))
    if not control:
        q = q.where(Decision.action.is_not(None))
    return {c: t for c, t in session.execute(q.group_by(Decision.customer_id)).all()}


def _converted(session: Session, first: dict[str, datetime], days: int) -> int:
    if not first:
        return 0
    window = timedelta(days=days)
    hits: set[str] = set()
    ids = list(first)
    for i in range(0, len(ids), 500):
        q = (select(SenseEvent.customer_id, SenseEvent.ts)
             .where(SenseEvent.type.in_(OUTCOME_TYPES))
             .where(SenseEvent.customer_id.in_(ids[i:i + 500])))
        for c, ts in session.execute(q).all():
            if first[c] < ts <= first[c] + window:
                hits.add(c)
    return len(hits)


def _lift(session: Session, outcomes: int, messages: int, days: int) -> Lift:
    if outcomes == 0:
        return Lift(missing=NO_OUTCOMES)
    if messages == 0:
        return Lift(missing=("no message has been sent yet (every decision so far is 'no "
                             "message'), so there is no lift to measure"))
    treated, held = _first_times(session, control=False), _first_times(session, control=True)
    if not held:
        return Lift(treated=len(treated), missing=("no customer is in the control group yet, "
                                                   "so lift cannot be measured"))
    t_yes, c_yes = _converted(session, treated, days), _converted(session, held, days)
    diff, low, high = lift_interval(t_yes, len(treated), c_yes, len(held))
    return Lift(len(treated), t_yes, len(held), c_yes, diff, low, high)


def _attribution_days(ws: Workspace) -> int:
    raw = (ws.config.extra.get("sense") or {}).get("attribution_days", ATTRIBUTION_DAYS)
    try:
        return max(1, int(raw))
    except (TypeError, ValueError) as exc:
        raise DataValidationError(f"outsidein.toml [sense] attribution_days: expected a whole "
                                  f"number of days, got {raw!r}") from exc


def sense_summary(ws: Workspace, *, detail: bool = True) -> SenseSummary:
    """The funnel, decisions, control share and lift from the store (see the module doc).

    With ``detail=False`` only the funnel and the counts of customers and events (what the
    overview's tile shows: a few milliseconds where the decisions take a few tenths of a
    second on 300,000 events).
    """
    days = _attribution_days(ws)
    with session_scope(ws.store_url, write=False) as s:
        try:
            total, silences = s.execute(select(  # one scan for both counts
                func.count(), func.count().filter(SenseEvent.type == SILENCE))).one()
        except (OperationalError, ProgrammingError):  # a store without the sense tables
            return SenseSummary()
        events, silences = int(total or 0) - int(silences or 0), int(silences or 0)
        funnel, customers = _funnel(s)
        if events == 0 and customers == 0:
            return SenseSummary()
        if not detail:
            return SenseSummary(customers=customers, events=events, silences=silences,
                                funnel=funnel, attribution_days=days)
        decisions = int(s.scalar(select(func.count()).select_from(Decision)) or 0)
        decided = int(s.scalar(select(func.count(func.distinct(Decision.customer_id)))) or 0)
        control = int(s.scalar(select(func.count(func.distinct(Decision.customer_id)))
                               .where(Decision.control.is_(True))) or 0)
        messages = int(s.scalar(select(func.count()).select_from(Decision)
                                .where(Decision.action.is_not(None),
                                       Decision.control.is_(False))) or 0)
        outcomes = int(s.scalar(select(func.count()).select_from(SenseEvent)
                                .where(SenseEvent.type.in_(OUTCOME_TYPES))) or 0)
        last = s.scalar(select(func.max(SenseEvent.ts)))
        return SenseSummary(
            customers=customers, events=events, silences=silences, decisions=decisions,
            funnel=funnel, by_action=_by_action(s), control_customers=control,
            decided_customers=decided,
            outcome_events=outcomes, messages=messages, lift=_lift(s, outcomes, messages, days),
            last_event=last.isoformat(sep=" ", timespec="minutes") if last else None,
            attribution_days=days)


def run_sense_analysis(ws: Workspace) -> SenseSummary:
    """The pipeline step: the summary, whose :meth:`~SenseSummary.insights` get published.

    A workspace without events gets an empty summary: nothing to publish, no error.
    """
    return sense_summary(ws)


def funnel_figure(funnel: list[dict[str, Any]]) -> dict[str, Any]:
    """The stage funnel as a Plotly bar chart (a figure dict).

    >>> funnel_figure([{"label": "deciding", "customers": 3}])["data"][0]["x"]
    [3]
    """
    counts = [int(r["customers"]) for r in funnel]
    xaxis: dict[str, Any] = {"title": {"text": "customers"}, "rangemode": "tozero",
                             "tickformat": ",d"}
    if max(counts, default=0) < 10:
        xaxis["dtick"] = 1
    return {"data": [{"type": "bar", "orientation": "h", "y": [r["label"] for r in funnel],
                      "x": counts, "marker": {"color": "#1f6feb"},
                      "hovertemplate": "%{y}: %{x:,} customers<extra></extra>"}],
            "layout": {"title": {"text": "Customers at each stage now"}, "xaxis": xaxis,
                       "yaxis": {"autorange": "reversed", "automargin": True},
                       "margin": {"t": 50, "l": 20, "r": 20, "b": 50}, "height": 340}}


def run_simulation(seed: int = 21, customers: int = 3000, weeks: int = 40) -> dict[str, Any]:
    """Run the market simulator's four policies; its dict without the decision log.

    Raises
    ------
    DataValidationError
        Too few customers or weeks to compare anything.
    """
    if customers < 100 or weeks < 4:
        raise DataValidationError("simulate: use at least 100 customers and 4 weeks "
                                  f"(got {customers} customers, {weeks} weeks)")
    out = simulate_market(seed=seed, customers=customers, weeks=weeks)
    out.pop("log", None)
    result: dict[str, Any] = json.loads(json.dumps(out, default=_plain))
    result["generated_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return result


def share_words(sim: dict[str, Any]) -> tuple[str, str | None]:
    """The share of the oracle's gain in words ("75% (95% interval 71% to 80%)"), and a
    caveat when the simulated market was too small to judge by (None otherwise).  Results
    kept before the interval existed give the share alone."""
    share = sim.get("share_of_oracle_gain")
    if share is None or share != share:  # NaN: the oracle gained nothing over no message
        return "no measurable share", ("the oracle gained no conversion over sending nothing: "
                                       "simulate more customers or more weeks")
    words = f"{share:.0%}"
    interval = sim.get("share_of_oracle_gain_interval")
    if interval:
        words += f" (95% interval {interval[0]:.0%} to {interval[1]:.0%})"
    if sim.get("judgeable", True):
        return words, None
    return words, (f"too small to judge: over {sim.get('weeks')} weeks the oracle gains only "
                   f"{int(sim.get('oracle_gain_conversions') or 0):,} conversions over sending "
                   f"nothing among {int(sim.get('customers') or 0):,} customers, so the share "
                   "moves a lot from one seed to the next; simulate more customers or more "
                   "weeks (3,000 over 40 weeks give an interval about a tenth wide)")


def _plain(o: Any) -> Any:
    if hasattr(o, "tolist"):  # numpy arrays and scalars
        return o.tolist()
    raise TypeError(f"not JSON: {type(o).__name__}")


def simulation_path(ws: Workspace) -> Path:
    """``<workspace>/results/sense_simulation.json``."""
    return ws.root / SIMULATION_FILE


def save_simulation(ws: Workspace, result: dict[str, Any]) -> Path:
    """Keep *result* (from :func:`run_simulation`) atomically: a reader never sees half."""
    path = simulation_path(ws)
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=1), encoding="utf-8")
    tmp.replace(path)
    return path


def read_simulation(ws: Workspace) -> dict[str, Any] | None:
    """The last stored simulation, or None (none run, or a file not in its layout)."""
    path = simulation_path(ws)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    policies = doc.get("policies") if isinstance(doc, dict) else None
    if not isinstance(policies, dict) or not all(isinstance(policies.get(p), dict)
                                                 for p in POLICIES):
        return None
    return dict(doc)


def comparison_figure(sim: dict[str, Any]) -> dict[str, Any]:
    """Conversions, messages and opt-outs of the four policies, side by side (three panels).

    One trace per policy (its colour in the legend), a bar in each panel.
    """
    data = []
    for p in (p for p in POLICIES if p in sim["policies"]):
        name = POLICY_LABELS[p].split(" (")[0]
        for i, key in enumerate(("conversions", "messages", "opt_outs")):
            sfx = str(i + 1) if i else ""
            data.append({"type": "bar", "name": name, "legendgroup": p, "showlegend": i == 0,
                         "x": [key.replace("_", "-")], "y": [sim["policies"][p].get(key, 0)],
                         "marker": {"color": _COLOURS[p]}, "xaxis": f"x{sfx}",
                         "yaxis": f"y{sfx}",
                         "hovertemplate": name + ": %{y:,} %{x}<extra></extra>"})
    layout: dict[str, Any] = {
        "title": {"text": "Four policies, the same customers"}, "barmode": "group",
        "legend": {"orientation": "h", "y": -0.08}, "bargap": 0.15,
        "height": 380, "margin": {"t": 70, "l": 50, "r": 10, "b": 40},
        "annotations": [{"text": t, "showarrow": False, "xref": "paper", "yref": "paper",
                         "x": x, "y": 1.08, "xanchor": "center"}
                        for t, x in (("conversions", 0.14), ("messages sent", 0.5),
                                     ("opt-outs", 0.86))]}
    for i, dom in enumerate(((0, 0.28), (0.36, 0.64), (0.72, 1.0))):
        sfx = str(i + 1) if i else ""
        layout[f"xaxis{sfx}"] = {"domain": list(dom), "anchor": f"y{sfx}",
                                 "showticklabels": False}
        layout[f"yaxis{sfx}"] = {"anchor": f"x{sfx}", "rangemode": "tozero"}
    return {"data": data, "layout": layout}


def learning_figure(sim: dict[str, Any]) -> dict[str, Any]:
    """Cumulative conversions week by week: how fast sense and respond learns to catch up."""
    data = []
    for p in POLICIES:
        weekly = sim["policies"].get(p, {}).get("conversions_by_week") or []
        total, cum = 0, []
        for n in weekly:
            total += int(n)
            cum.append(total)
        data.append({"type": "scatter", "mode": "lines", "name": POLICY_LABELS[p].split(" (")[0],
                     "x": list(range(1, len(cum) + 1)), "y": cum,
                     "line": {"color": _COLOURS[p], "dash": "dot" if p == "oracle" else "solid"}})
    return {"data": data,
            "layout": {"title": {"text": "Conversions so far, week by week"},
                       "xaxis": {"title": {"text": "week"}},
                       "yaxis": {"title": {"text": "conversions (cumulative)"},
                                 "rangemode": "tozero"},
                       "legend": {"orientation": "h", "y": -0.25}, "height": 360,
                       "margin": {"t": 50, "l": 60, "r": 20, "b": 60}}}
