"""HTML to PDF with the system's headless Chromium (the same browser the tests drive).

Why not a Python PDF library: the alignment review is HTML with CSS tables, and Chromium
prints it exactly as a manager sees it on screen; WeasyPrint would add native dependencies.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from outsidein.errors import ConfigError

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--no-pdf-header-footer"]


def chromium() -> str:
    """Path of a Chromium binary (``$OUTSIDEIN_CHROMIUM`` or ``chromium`` on PATH)."""
    path = os.environ.get("OUTSIDEIN_CHROMIUM") or shutil.which("chromium") \
        or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not path:
        raise ConfigError("PDF export needs Chromium: install it (apt-get install chromium) "
                          "or set OUTSIDEIN_CHROMIUM; the HTML export works without it")
    return path


def html_to_pdf(html: str, *, timeout: float = 60.0) -> bytes:
    """Print *html* (a whole document, no network needed) to PDF bytes."""
    with tempfile.TemporaryDirectory(prefix="outsidein-pdf-") as tmp:
        src, out = Path(tmp) / "page.html", Path(tmp) / "page.pdf"
        src.write_text(html, encoding="utf-8")
        cmd = [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp}/profile",
               f"--print-to-pdf={out}", src.as_uri()]
        try:
            subprocess.run(cmd, check=True, capture_output=True, timeout=timeout)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            raise ConfigError(f"Chromium could not print the PDF ({exc}); "
                              "use the HTML export instead") from exc
        if not out.is_file():
            raise ConfigError("Chromium wrote no PDF; use the HTML export instead")
        return out.read_bytes()
