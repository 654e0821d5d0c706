"""Run every analysis that exists, in order, and publish their insights.

``outsidein analyze`` and ``outsidein demo`` call :func:`run_analyses`.  Each
step is a ``"module:function"`` taking the workspace (and, if it asks for
them, ``progress`` and ``outputs``: the results of the earlier steps); a
step whose module is not installed yet is skipped, and a step that lacks
data records the clear message of its :class:`MissingDataError` instead of
stopping the others.  Later capabilities (market sensing, sense and respond,
culture) add their step to :data:`STEPS`.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from outsidein.errors import MissingDataError, OutsideInError

if TYPE_CHECKING:
    from rich.progress import Progress

    from outsidein.workspace import Workspace

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Step:
    name: str
    target: str
    title: str


STEPS: tuple[Step, ...] = (
    Step("value", "outsidein.value.service:run", "customer value (BTYD models, CLV)"),
    Step("five_questions", "outsidein.value.questions:answer_five_questions",
         "the five crucial questions"),
    Step("insights", "outsidein.services.publish:publish_analysis_insights",
         "publish insights to the departments"),
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


def _resolve(target: str) -> Any:
    module, func = target.split(":")
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return None
        raise
    return getattr(mod, func, None)


def run_analyses(ws: Workspace, progress: Progress | None = None,
                 only: set[str] | None = None) -> PipelineReport:
    """Run each available step of :data:`STEPS` on *ws* and report what happened."""
    results = []
    outputs: dict[str, Any] = {}
    for step in STEPS:
        if only and step.name not in only:
            continue
        fn = _resolve(step.target)
        if fn is None:
            results.append(StepResult(step.name, "skipped", 0.0, "not available in this build"))
            continue
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
