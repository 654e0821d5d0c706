"""The ``outsidein`` command line (Typer + Rich). Thin: it calls services and formats results.

Exit codes: 0 ok, 1 failure, 2 bad usage or input.  User errors print one
red line, never a traceback (set ``OUTSIDEIN_DEBUG=1`` to see one).
Each area registers its commands from its own module (``outsidein.cli.<area>``).
"""

from __future__ import annotations

import inspect
import logging
import re
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from outsidein.cli import (
    accounts,
    answer,
    culture,
    data,
    demo,
    insights,
    loads,
    market,
    report,
    sense,
    serve,
    share,
    value,
)
from outsidein.cli._common import State, console_err
from outsidein.config import Settings
from outsidein.errors import ConfigError, OutsideInError

try:  # Typer >= 0.20 vendors click as typer._click; older Typer runs on the real click
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover - older Typer
    from click import exceptions as click_exceptions  # type: ignore[no-redef]

__all__ = ["app", "main"]

app = typer.Typer(
    name="outsidein",
    help=("Outside-In: integrated customer data, the five crucial questions, "
          "and shared customer truth."),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    ctx: typer.Context,
    workspace: Annotated[
        Path | None,
        typer.Option("--workspace", "-w",
                     help="workspace folder (default: $OUTSIDEIN_WORKSPACE or the current folder)"),
    ] = None,
) -> None:
    ctx.obj = State(workspace_dir=workspace.expanduser().resolve() if workspace
                    else Settings.from_env().workspace_dir)


for _module in (data, loads, demo, value, answer, report, serve, insights, share, accounts,
                sense, market, culture):
    _module.register(app)

_LIST_ITEM = re.compile(r"^\s*([-*\u2022]|\d+[.)])\s|^\s{2,}\S")


def reflow(text: str | None) -> str | None:
    r"""A docstring's paragraphs as running text: lines broken in the source join up, so Rich
    wraps them to the terminal (Typer keeps the source's breaks after the first paragraph,
    which left lines of one word at 80 columns).  List items and indented lines stay.

    >>> reflow("First.\n\nIt fills each journey. Each\ninteraction once.\n\n- a\n- b")
    'First.\n\nIt fills each journey. Each interaction once.\n\n- a\n- b'
    """
    if not text:
        return text
    out: list[str] = []
    for para in inspect.cleandoc(text).split("\n\n"):
        lines: list[str] = []
        for line in para.split("\n"):
            if lines and not _LIST_ITEM.match(line) and not _LIST_ITEM.match(lines[-1]):
                lines[-1] = f"{lines[-1].rstrip()} {line.strip()}"
            elif lines and _LIST_ITEM.match(lines[-1]) and not _LIST_ITEM.match(line) \
                    and line[:1].isspace():
                lines[-1] = f"{lines[-1].rstrip()} {line.strip()}"  # an item's next line
            else:
                lines.append(line)
        out.append("\n".join(lines))
    return "\n\n".join(out)


def _reflow_help(typer_app: typer.Typer) -> None:
    """Every command's and group's help, reflowed (:func:`reflow`)."""
    for cmd in typer_app.registered_commands:
        cmd.help = reflow(cmd.help or (inspect.getdoc(cmd.callback) if cmd.callback else None))
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _reflow_help(group.typer_instance)


_reflow_help(app)


def _setup_logging(debug: bool) -> None:
    """Library warnings as one plain line each on stderr; tracebacks only with OUTSIDEIN_DEBUG."""

    class _Plain(logging.Formatter):
        def formatException(self, ei: object) -> str:  # noqa: N802 - logging's name
            return super().formatException(ei) if debug else ""  # type: ignore[arg-type]

        def format(self, record: logging.LogRecord) -> str:
            if not debug:
                record.exc_info, record.exc_text = None, None
            return super().format(record)

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Plain("%(levelname)s: %(message)s"))
    root = logging.getLogger("outsidein")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.WARNING)
    root.propagate = False


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point with the error-to-exit-code mapping."""
    try:
        debug = Settings.from_env().debug
    except ConfigError as exc:  # a bad OUTSIDEIN_* variable: one red line, like any user error
        console_err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False,
                          soft_wrap=True)
        sys.exit(exc.exit_code)
    _setup_logging(debug)
    try:
        rc = app(args=argv, standalone_mode=False)
        if isinstance(rc, int) and rc:
            sys.exit(rc)
    except OutsideInError as exc:
        if debug:
            raise
        console_err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False,
                          soft_wrap=True)
        sys.exit(exc.exit_code)
    except typer.Abort:
        console_err.print("[red]aborted[/]")
        sys.exit(1)
    except KeyboardInterrupt:
        console_err.print("[red]interrupted: nothing was changed by the interrupted step[/]")
        sys.exit(130)
    except Exception as exc:  # click usage errors and the unexpected
        click_exc = _click_exceptions()
        if isinstance(exc, typer.Exit):
            sys.exit(exc.exit_code)
        if isinstance(exc, click_exc.ClickException):
            exc.show()
            sys.exit(2 if isinstance(exc, click_exc.UsageError) else 1)
        if debug:
            raise
        console_err.print(
            f"[bold red]error:[/] unexpected {type(exc).__name__}: {escape(str(exc))} "
            "(set OUTSIDEIN_DEBUG=1 for the traceback)", highlight=False, soft_wrap=True)
        sys.exit(1)


def _click_exceptions():  # type: ignore[no-untyped-def]
    """Click's exception module (Typer >= 0.20 vendors click as ``typer._click``)."""
    return click_exceptions
