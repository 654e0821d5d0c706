"""The HTML reports of a workspace, as the web app serves them to people who are logged in.

``outsidein analyze`` (and ``outsidein demo``) write ``reports/report.html``; the web app serves
the newest report at ``/reports/latest`` and each report by its file name.  A name is a plain
file name ending in ``.html`` inside the workspace's ``reports/`` folder, never a path: anything
else is "not found", so no request reads outside that folder.

The report is one self-contained page with its scripts inline (plotly.js and the figures); the
web app allows exactly those scripts by their sha256 (:attr:`Report.script_hashes`) in the
page's Content-Security-Policy, so no other script can run in it.

>>> import tempfile
>>> from outsidein.workspace import Workspace
>>> with Workspace.init(tempfile.mkdtemp()) as ws:
...     _ = (ws.reports_dir / "report.html").write_text("<script>1+1</script>")
...     r = latest_report(ws)
...     r.name, r.script_hashes
('report.html', ('sha256-Shsh2HauAMjtXE0c3gnGH4phtQ/jcKgBsQwzmDHzcKs=',))
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from outsidein.errors import NotFoundError
from outsidein.workspace import Workspace

__all__ = ["Report", "latest_report", "report_by_name", "HOW_TO_REPORT"]

HOW_TO_REPORT = "run 'outsidein analyze' (or 'outsidein report') to write it"
#: A report's file name: letters, digits, '_', '-' and '.', ending in .html; never a path.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,120}\.html")
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?:\s[^>]*)?>(.*?)</script>",
                            re.DOTALL | re.IGNORECASE)


@dataclass(frozen=True)
class Report:
    """One report file and the hashes of its inline scripts (for the CSP)."""

    name: str
    path: Path
    script_hashes: tuple[str, ...]


@lru_cache(maxsize=8)
def _hashes(path: str, mtime_ns: int, size: int) -> tuple[str, ...]:
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    out = []
    for body in _INLINE_SCRIPT.findall(text):
        digest = hashlib.sha256(body.encode("utf-8")).digest()
        out.append("sha256-" + base64.b64encode(digest).decode("ascii"))
    return tuple(dict.fromkeys(out))


def _report(path: Path) -> Report:
    st = path.stat()
    return Report(name=path.name, path=path,
                  script_hashes=_hashes(str(path), st.st_mtime_ns, st.st_size))


def _reports(ws: Workspace) -> list[Path]:
    folder = (ws.root / "reports").resolve()
    if not folder.is_dir():
        return []
    return [p for p in folder.iterdir()
            if _NAME.fullmatch(p.name) and p.is_file() and p.resolve().parent == folder]


def latest_report(ws: Workspace) -> Report:
    """The newest report (by modification time); :class:`NotFoundError` says how to make one."""
    found = _reports(ws)
    if not found:
        raise NotFoundError(f"no report in {ws.root / 'reports'} yet; {HOW_TO_REPORT}")
    return _report(max(found, key=lambda p: (p.stat().st_mtime_ns, p.name)))


def report_by_name(ws: Workspace, name: str) -> Report:
    """The report file *name* in ``reports/`` (a plain ``.html`` file name, never a path).

    >>> import tempfile
    >>> from outsidein.workspace import Workspace
    >>> with Workspace.init(tempfile.mkdtemp()) as ws:  # doctest: +ELLIPSIS
    ...     report_by_name(ws, "../outsidein.toml")
    Traceback (most recent call last):
    ...
    outsidein.errors.NotFoundError: no report named '../outsidein.toml'; reports are .html ...
    """
    match = {p.name: p for p in _reports(ws)}.get(name) if _NAME.fullmatch(name or "") else None
    if match is None:
        raise NotFoundError(f"no report named {name!r}; reports are .html files in reports/")
    return _report(match)
