"""``outsidein market ...``: stratify customers, basket rules, context lift and the KPI watch.

Thin: each command calls :mod:`outsidein.services.market` and prints a Rich table, or plain
values with ``--json``.  Commands live in this module or in a ``cli/market_*.py`` module
whose ``register(market_app)`` is called below.
"""

from __future__ import annotations

import typer

__all__ = ["market_app", "register"]

market_app = typer.Typer(
    help="Market sensing: segments, baskets, what events drive, and KPIs that changed.",
    no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add ``outsidein market`` to *app*."""
    app.add_typer(market_app, name="market")
