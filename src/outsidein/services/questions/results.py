"""The saved five answers: one path, one writer, one reader of ``results/five_questions.json``.

``outsidein answer`` writes the file (:func:`save_answers`); the web pages, the
API, the report and the insight publisher read it back through
:func:`read_answers`, which checks the layout documented in
:mod:`outsidein.services.questions.model` and returns :class:`StoredAnswers`.
A file that is not that layout is one clear error that says how to rebuild it.

>>> doc = {"version": 1, "generated_at": "2026-11-28T10:00:00+00:00",
...        "period": {"start": None, "end": None}, "top_n": 25, "seconds": 1.0,
...        "answers": {"advocates": {"name": "advocates", "question": "Who are our advocates?",
...                    "title": "", "headline": "Not answered yet: no referrals",
...                    "missing_data": "no referrals", "figures": {}, "next_action": None,
...                    "rows": [], "tables": {}, "table": "answer_advocates",
...                    "departments": ["marketing"], "priority": "low"}}}
>>> stored = StoredAnswers.from_dict(doc, source="example")
>>> stored["advocates"].missing_data
'no referrals'
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from outsidein.errors import DataValidationError, NotFoundError

if TYPE_CHECKING:
    from outsidein.workspace import Workspace

__all__ = ["HOW_TO_ANSWER", "RESULT_FILE", "StoredAnswer", "StoredAnswers", "read_answers",
           "result_path", "save_answers"]

#: Where the summary lives, relative to the workspace folder.
RESULT_FILE = Path("results") / "five_questions.json"
HOW_TO_ANSWER = "run 'outsidein answer' in the workspace (after 'outsidein demo' or loading data)"


def result_path(ws: Workspace) -> Path:
    """``<workspace>/results/five_questions.json``."""
    return ws.root / RESULT_FILE


class Saveable(Protocol):
    """What :func:`save_answers` writes: the five answers (``FiveAnswers``) as JSON text."""

    def to_json(self) -> str: ...


def save_answers(ws: Workspace, result: Saveable) -> Path:
    """Write *result* (a ``FiveAnswers``) atomically: a reader never sees half a file."""
    path = result_path(ws)
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(result.to_json(), encoding="utf-8")
    tmp.replace(path)
    return path


@dataclass(frozen=True)
class StoredAnswer:
    """One answer as saved: the fields of the documented JSON layout."""

    name: str
    question: str
    title: str
    headline: str
    missing_data: str | None
    figures: dict[str, Any]
    next_action: dict[str, Any] | None
    rows: list[dict[str, Any]]
    tables: dict[str, list[dict[str, Any]]]
    table: str
    departments: tuple[str, ...]
    priority: str
    plot: dict[str, Any] | None = None
    caveats: tuple[str, ...] = ()
    value_basis: str | None = None

    @property
    def next_action_text(self) -> str:
        """The next action in words ('' when there is none)."""
        return str(self.next_action.get("text", "")) if self.next_action else ""

    def to_dict(self) -> dict[str, Any]:
        """The answer in the saved layout."""
        return {"name": self.name, "question": self.question, "title": self.title,
                "headline": self.headline, "missing_data": self.missing_data,
                "figures": dict(self.figures), "next_action": self.next_action,
                "rows": list(self.rows), "tables": dict(self.tables), "table": self.table,
                "departments": list(self.departments), "priority": self.priority,
                "plot": self.plot, "caveats": list(self.caveats),
                "value_basis": self.value_basis}

    @classmethod
    def from_dict(cls, name: str, entry: Any, *, source: str) -> StoredAnswer:
        """Check one entry of ``answers`` and build it; a wrong layout is a clear error."""
        if not isinstance(entry, dict):
            raise _layout_error(source, f"answer {name!r} is not an object")
        missing = [k for k in ("question", "headline") if not isinstance(entry.get(k), str)]
        if missing:
            raise _layout_error(source, f"answer {name!r} has no {' or '.join(missing)}")
        next_action = entry.get("next_action")
        plot = entry.get("plot")
        return cls(
            name=str(entry.get("name") or name), question=entry["question"],
            title=str(entry.get("title") or ""), headline=entry["headline"],
            missing_data=(str(entry["missing_data"]) if entry.get("missing_data") else None),
            figures=_mapping(entry.get("figures"), source, name, "figures"),
            next_action=next_action if isinstance(next_action, dict) else None,
            rows=[r for r in _sequence(entry.get("rows"), source, name, "rows")
                  if isinstance(r, dict)],
            tables=_mapping(entry.get("tables"), source, name, "tables"),
            table=str(entry.get("table") or ""),
            departments=tuple(str(d) for d in _sequence(entry.get("departments"), source, name,
                                                        "departments")),
            priority=str(entry.get("priority") or "medium"),
            plot=plot if isinstance(plot, dict) else None,
            caveats=tuple(str(c) for c in _sequence(entry.get("caveats"), source, name,
                                                    "caveats")),
            value_basis=(str(entry["value_basis"]) if entry.get("value_basis") else None))


@dataclass(frozen=True)
class StoredAnswers:
    """The saved summary: when and for which period the five answers were made."""

    answers: tuple[StoredAnswer, ...]
    version: int = 1
    generated_at: str | None = None
    period: dict[str, Any] = field(default_factory=dict)
    top_n: int | None = None
    seconds: float | None = None
    value_basis: str | None = None

    def __getitem__(self, name: str) -> StoredAnswer:
        for a in self.answers:
            if a.name == name:
                return a
        raise NotFoundError(f"no stored answer {name!r}; {HOW_TO_ANSWER}")

    def __iter__(self) -> Any:
        return iter(self.answers)

    def meta(self) -> dict[str, Any]:
        """The file's top-level fields other than the answers."""
        return {"version": self.version, "generated_at": self.generated_at,
                "period": dict(self.period), "top_n": self.top_n, "seconds": self.seconds,
                "value_basis": self.value_basis}

    def to_dict(self) -> dict[str, Any]:
        """The saved layout (``answers`` keyed by name)."""
        return {**self.meta(), "answers": {a.name: a.to_dict() for a in self.answers}}

    @classmethod
    def from_dict(cls, doc: Any, *, source: str) -> StoredAnswers:
        """Check the documented layout of *doc* (read from *source*) and build it."""
        if not isinstance(doc, dict) or not isinstance(doc.get("answers"), dict):
            raise _layout_error(source, "expected an object with an 'answers' object")
        answers = tuple(StoredAnswer.from_dict(str(k), v, source=source)
                        for k, v in doc["answers"].items())
        period = doc.get("period")
        return cls(answers=answers, version=int(doc.get("version") or 1),
                   generated_at=doc.get("generated_at"),
                   period=period if isinstance(period, dict) else {},
                   top_n=doc.get("top_n"), seconds=doc.get("seconds"),
                   value_basis=(str(doc["value_basis"]) if doc.get("value_basis") else None))


def read_answers(ws: Workspace) -> StoredAnswers | None:
    """The saved five answers, or ``None`` when ``outsidein answer`` has not run yet.

    Raises
    ------
    DataValidationError
        The file is not valid JSON or not the documented layout.
    """
    path = result_path(ws)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataValidationError(f"{path}: not valid JSON ({exc}); {HOW_TO_ANSWER} again") \
            from exc
    return StoredAnswers.from_dict(doc, source=str(path))


def _layout_error(source: str, what: str) -> DataValidationError:
    return DataValidationError(f"{source}: not the five-answers layout ({what}); "
                               f"{HOW_TO_ANSWER} again")


def _mapping(value: Any, source: str, name: str, key: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _layout_error(source, f"answer {name!r}: {key} is not an object")
    return value


def _sequence(value: Any, source: str, name: str, key: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _layout_error(source, f"answer {name!r}: {key} is not a list")
    return value
