"""Shared CLI plumbing: the workspace from the global option, JSON output, progress bars."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from outsidein.workspace import Workspace


console = Console()
console_err = Console(stderr=True)

JSON_OPTION = typer.Option("--json", help="print the result as JSON on stdout")


@dataclass
class State:
    workspace_dir: Path

    def open(self) -> Workspace:
        from outsidein.workspace import Workspace  # loaded when the command runs (start-up)
        return Workspace.open(self.workspace_dir)


def workspace(ctx: typer.Context) -> Workspace:
    """The workspace named by ``--workspace`` / ``OUTSIDEIN_WORKSPACE`` / the current folder."""
    state: State = ctx.find_root().obj
    return state.open()


def _default(o: Any) -> Any:
    if isinstance(o, datetime | date):
        return o.isoformat()
    if isinstance(o, Path):
        return str(o)
    if hasattr(o, "to_dict"):
        return o.to_dict()
    if hasattr(o, "item"):  # numpy scalars
        return o.item()
    if hasattr(o, "tolist"):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _clean(o: Any) -> Any:
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_clean(v) for v in o]
    return o


def print_json(payload: Any) -> None:
    """Print *payload* as JSON (NaN/inf become null; dates ISO)."""
    text = json.dumps(_clean(json.loads(json.dumps(payload, default=_default))), indent=2)
    typer.echo(text)


STEP_COLOURS = {"ok": "green", "skipped": "yellow", "missing_data": "yellow"}


def print_pipeline(report: Any) -> None:
    """One line per analysis step of a ``PipelineReport``: status, name, time, message."""
    for s in report.steps:
        colour = STEP_COLOURS.get(s.status, "red")
        console.print(f"[{colour}]{s.status:>12}[/] {s.name} ({s.seconds:.1f} s) "
                      f"{escape(s.message)}", highlight=False)


@contextmanager
def progress(enabled: bool = True) -> Iterator[Progress]:
    """A Rich progress bar on stderr (disabled for --json or when not a terminal)."""
    bar = Progress(
        SpinnerColumn(), TextColumn("[progress.description]{task.description}"), BarColumn(),
        MofNCompleteColumn(), TimeElapsedColumn(), console=console_err,
        disable=not enabled, transient=False,
    )
    with bar:
        yield bar


def show(result: Any, json_out: bool, line: str) -> None:
    """Print *result* as JSON with ``--json``, else *line* (user data: no Rich markup)."""
    if json_out:
        print_json(result)
    else:
        console.print(line, highlight=False, soft_wrap=True, markup=False)


def add_row(table: Table, *cells: Any) -> None:
    """Add a row of user data: brackets in titles are text, not Rich markup."""
    table.add_row(*(c if isinstance(c, Text) else escape(str(c)) for c in cells))


def when(value: Any) -> str:
    """A time stamp to the minute, or a dash."""
    return value.strftime("%Y-%m-%d %H:%M") if value else "—"
