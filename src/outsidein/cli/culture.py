"""``outsidein culture ...``: the market-culture survey, its waves, scores and benchmark.

Thin: each command calls :mod:`outsidein.services.culture` and prints a Rich table, or plain
values with ``--json``.  Commands live in this module or in a ``cli/culture_*.py`` module
whose ``register(culture_app)`` is called below.
"""

from __future__ import annotations

import typer

__all__ = ["culture_app", "register"]

culture_app = typer.Typer(
    help="Market culture: the survey, its waves, reliability, validity and the benchmark.",
    no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add ``outsidein culture`` to *app*."""
    app.add_typer(culture_app, name="culture")
