"""``import outsidein.culture`` stays light: semopy (about a second to import) is loaded only
when a factor analysis runs."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_engine_does_not_import_semopy() -> None:
    code = ("import sys, outsidein.culture, outsidein.services.culture.views; "
            "print('semopy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False", out.stderr
