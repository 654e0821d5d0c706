"""QA: ``outsidein sense catalogue [FILE]`` checks an action catalogue after each edit, so a
marketing engineer corrects it without starting the server (which refuses a bad one) and
without a way to see the next mistake.

Found by a new user: there was no command to check a catalogue; the only check was
``serve`` refusing to start.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from outsidein.workspace import Workspace

BAD = """\
[[actions]]
name = "hello"
need = "awarenes"
template = "Hi {first_name}"
"""


def _run(*args: str) -> tuple[int, str]:
    """The command as a user runs it (errors become one line and an exit code in main)."""
    r = subprocess.run([sys.executable, "-m", "outsidein", *args], capture_output=True,
                       text=True, timeout=120, env={"COLUMNS": "200", "PATH": ""})
    return r.returncode, r.stdout + r.stderr


def test_a_mistake_is_one_line_naming_file_line_and_field_then_the_fix_is_listed(
        tmp_path: Path) -> None:
    p = tmp_path / "my.toml"
    p.write_text(BAD, encoding="utf-8")
    code, out = _run("sense", "catalogue", str(p))
    assert code == 2, out
    assert f"{p} line 3: [[actions]] #1 'hello', field need: 'awarenes'" in " ".join(
        out.split())
    p.write_text(BAD.replace("awarenes", "awareness"), encoding="utf-8")
    code, out = _run("sense", "catalogue", str(p), "--json")
    assert code == 0, out
    doc = json.loads(out)
    assert [a["name"] for a in doc["actions"]] == ["hello"] and doc["timing"] == []


def test_without_a_file_it_checks_the_workspaces_catalogue(workspace: Workspace) -> None:
    workspace.close()  # the command opens it, as a user's would
    code, out = _run("--workspace", str(workspace.root), "sense", "catalogue", "--json")
    assert code == 0, out
    assert "service_callback" in [a["name"] for a in json.loads(out)["actions"]]
    (workspace.root / "cat.yaml").write_text("actions:\n  - name: x\n    need: sales\n"
                                             "    channels: [pigeon]\n    template: hi\n")
    toml = workspace.root / "outsidein.toml"
    toml.write_text(toml.read_text() + '\n[sense]\ncatalogue = "cat.yaml"\n')
    code, out = _run("--workspace", str(workspace.root), "sense", "catalogue")
    assert code == 2 and "cat.yaml line 4: actions #1 'x', field channels:" in " ".join(
        out.split()), out
