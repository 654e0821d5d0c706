"""``outsidein serve`` refuses to start when the sense-and-respond settings do not load."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

from outsidein.services.sense.catalogue import DEFAULT_CATALOGUE
from outsidein.workspace import Workspace

OUTSIDEIN = Path(sys.executable).parent / "outsidein"


def test_serve_refuses_a_broken_action_catalogue_and_names_file_line_and_field(
        tmp_path: Path) -> None:
    shipped = files("outsidein.services.sense").joinpath(DEFAULT_CATALOGUE).read_text("utf-8")
    broken = shipped.replace('channels = [', 'channels = ["socail", ', 1)
    assert broken != shipped
    line = next(i for i, t in enumerate(broken.splitlines(), 1) if "socail" in t)
    said = _refused(tmp_path, '\n[sense]\ncatalogue = "cat.toml"\n', {"cat.toml": broken})
    assert f"cat.toml line {line}" in said and "field channels" in said and "'socail'" in said


def _refused(tmp_path: Path, settings: str, extra: dict[str, str] | None = None) -> str:
    """What ``serve`` says when it refuses *settings* appended to outsidein.toml (with the
    *extra* files written in the workspace first); a server that starts anyway would run
    until the timeout: the test fails either way."""
    ws = Workspace.init(tmp_path / "acme")
    ws.close()
    for name, text in (extra or {}).items():
        (ws.root / name).write_text(text)
    with (ws.root / "outsidein.toml").open("a") as f:
        f.write(settings)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTSIDEIN_")}
    r = subprocess.run([str(OUTSIDEIN), "--workspace", str(ws.root), "serve", "--port",
                        str(port)], capture_output=True, text=True, timeout=60,
                       env={**env, "COLUMNS": "300"})
    assert r.returncode == 2, r.stderr
    return " ".join(r.stderr.split())


def test_serve_refuses_a_bad_segment_mapping_instead_of_failing_every_segment_post(
        tmp_path: Path) -> None:
    said = _refused(tmp_path, '\n[sense.segment.events]\n"Product Viewed" = "product_veiw"\n')
    assert "product_veiw" in said and "segment" in said


def test_serve_refuses_a_webhook_for_a_channel_that_does_not_exist(tmp_path: Path) -> None:
    said = _refused(tmp_path, '\n[sense.webhooks]\nsms = "https://hooks.example.com/sms"\n')
    assert "sms" in said and "webhooks" in said
