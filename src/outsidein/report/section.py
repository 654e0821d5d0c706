"""One section of the HTML report, and the helpers sections use to show figures and tables.

>>> import pandas as pd
>>> "<table" in table_html(pd.DataFrame({"decile": [1], "clv": [1234.5]}))
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Section", "figure_html", "table_html"]


@dataclass(frozen=True)
class Section:
    """One report section: a title, an anchor and ready HTML (figures as Plotly divs)."""

    title: str
    anchor: str
    body_html: str
    summary: str = ""
    figures: tuple[Any, ...] = field(default_factory=tuple)


def figure_html(fig: Any) -> str:
    """A Plotly figure as a <div> (the page embeds plotly.js once)."""
    return fig.to_html(full_html=False, include_plotlyjs=False)


def table_html(df: Any, *, max_rows: int = 25, float_format: str = "{:,.2f}") -> str:
    """A pandas DataFrame as a compact HTML table."""
    # focusable: a wide table scrolls sideways, and the keyboard must reach it (axe)
    return df.head(max_rows).to_html(
        index=False, border=0, classes="tbl", float_format=float_format.format, escape=True
    ).replace("<table ", '<table tabindex="0" ', 1)
