"""CSV that is safe to open in a spreadsheet: the one writer of every CSV export.

A text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be
read by Excel, LibreOffice or Google Sheets as a formula (OWASP "CSV injection"), so it gets
a leading single quote, which spreadsheets show as text.  Numbers are written as they are.

>>> neutralise_cell("=HYPERLINK(\\"http://x\\")")
'\\'=HYPERLINK("http://x")'
>>> to_csv([{"a": "-2", "b": -2}], ("a", "b"))
"a,b\\n'-2,-2\\n"
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["FORMULA_PREFIXES", "neutralise_cell", "to_csv"]

#: First characters a spreadsheet reads as the start of a formula (OWASP).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: Any) -> Any:
    """*value*, with a leading ``'`` if it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def to_csv(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """*rows* as CSV text with a header row; None is an empty cell, text is neutralised."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n",
                            extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: neutralise_cell("" if v is None else v) for k, v in row.items()})
    return buf.getvalue()
