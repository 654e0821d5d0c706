"""Run every analysis that exists, in order, and publish their insights.

``outsidein analyze`` and ``outsidein demo`` call :func:`run_analyses`.  Each
step is a use-case function taking the workspace (and, if it asks for them,
``progress`` and ``outputs``: the results of the earlier steps), imported
plainly, so a broken module fails loudly at import.  A step that lacks data
records the clear message of its :class:`MissingDataError` instead of
stopping the others.  Later capabilities (market sensing, sense and respond,
culture) add their step to :data:`STEPS` before ``insights``.

>>> [s.name for s in STEPS]
['value', 'five_questions', 'sense', 'market_segments', 'market_watch', 'market_context',
 'culture', 'insights']
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from outsidein.errors import MissingDataError, OutsideInError
from outsidein.services.culture.analysis import run_culture
from outsidein.services.market.context import run_market_context
from outsidein.services.market.segments import run_segments
from outsidein.services.market.watch import run_market_watch
from outsidein.services.publish import publish_analysis_insights
from outsidein.services.questions import answer_five_questions
from outsidein.services.sense.analysis import run_sense_analysis
from outsidein.services.value import run as run_value

if TYPE_CHECKING:
    from rich.progress import Progress

    from outsidein.workspace import Workspace

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Step:
    """One analysis: its name in reports, the use case that runs it, a title for progress."""

    name: str
    run: Callable[..., Any]
    title: str


STEPS: tuple[Step, ...] = (
    Step("value", run_value, "customer value (BTYD models, CLV)"),
    Step("five_questions", answer_five_questions, "the five crucial questions"),
    Step("sense", run_sense_analysis, "sense and respond: customers at each buying stage"),
    Step("market_segments", run_segments, "market: segments, clusters, availability"),
    Step("market_watch", run_market_watch, "market watch: KPIs that changed"),
    Step("market_context", run_market_context, "market: products that context events drive"),
    Step("culture", run_culture, "market culture: the survey's standing and gaps"),
    Step("insights", publish_analysis_insights, "publish insights to the departments"),
)


@dataclass(frozen=True)
class StepResult:
    name: str
    status: str  # "ok", "skipped", "missing_data", "failed"
    seconds: float
    message: str = ""


@dataclass(frozen=True)
class PipelineReport:
    steps: tuple[StepResult, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return all(s.status in ("ok", "skipped", "missing_data") for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "steps": [s.__dict__ for s in self.steps]}


def run_analyses(ws: Workspace, progress: Progress | None = None,
                 only: set[str] | None = None) -> PipelineReport:
    """Run each available step of :data:`STEPS` on *ws* and report what happened."""
    results = []
    outputs: dict[str, Any] = {}
    for step in STEPS:
        if only and step.name not in only:
            continue
        fn = step.run
        task = progress.add_task(step.title, total=None) if progress else None
        t0 = time.perf_counter()
        params = inspect.signature(fn).parameters
        kwargs: dict[str, Any] = {}
        if "progress" in params:
            kwargs["progress"] = progress
        if "outputs" in params:
            kwargs["outputs"] = outputs
        try:
            outputs[step.name] = fn(ws, **kwargs)
            status, message = "ok", ""
        except OutsideInError as exc:
            status = "missing_data" if isinstance(exc, MissingDataError) else "failed"
            message = str(exc)
            log.info("step %s: %s", step.name, exc)  # the report carries the message
        results.append(StepResult(step.name, status, round(time.perf_counter() - t0, 2), message))
        if progress and task is not None:
            progress.update(task, total=1, completed=1)
    return PipelineReport(tuple(results))
