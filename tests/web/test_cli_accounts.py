"""``outsidein user / department / apikey`` and ``outsidein serve`` as a user runs them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from outsidein.cli import app
from outsidein.errors import AuthenticationError, DataValidationError
from outsidein.services import accounts
from outsidein.store.db import session_scope
from outsidein.workspace import Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    w = Workspace.init(tmp_path / "acme")
    w.close()
    return w


def _run(ws: Workspace, *args: str, stdin: str | None = None) -> object:
    return CliRunner().invoke(app, ["--workspace", str(ws.root), *args], input=stdin)


def test_people_departments_and_keys_from_the_command_line(ws: Workspace) -> None:
    assert _run(ws, "department", "add", "product").exit_code == 0
    r = _run(ws, "user", "add", "Ann@Acme.test", "--name", "Ann", "--role", "member",
             "--department", "product", "--password-stdin", stdin="a long pass phrase\n")
    assert r.exit_code == 0, r.output
    assert "added ann@acme.test (member in product)" in r.output
    listed = json.loads(_run(ws, "user", "list", "--json").output)
    assert listed[0]["email"] == "ann@acme.test" and listed[0]["departments"] == ["product"]
    assert "password" not in json.dumps(listed)
    with session_scope(ws.store_url) as s:
        assert accounts.authenticate(s, "ann@acme.test", "a long pass phrase").name == "Ann"

    r = _run(ws, "apikey", "create", "crm-sync", "--scope", "insights:read", "--scope",
             "needs:read", "--json")
    key = json.loads(r.output)
    assert key["scopes"] == ["insights:read", "needs:read"]
    secret = key["secret"]
    assert secret.startswith(key["prefix"] + ".") and len(secret) > 40
    with session_scope(ws.store_url) as s:
        assert accounts.verify_api_key(s, secret).allows("needs:read")
    assert secret not in _run(ws, "apikey", "list").output
    assert _run(ws, "department", "add", "sales").exit_code == 0
    r = _run(ws, "user", "update", "ann@acme.test", "--role", "advocate", "-d", "sales",
             "--deactivate")
    assert r.exit_code == 0 and "ann@acme.test: advocate, sales, deactivated" in r.output
    with session_scope(ws.store_url) as s, pytest.raises(AuthenticationError,
                                                         match="not recognised"):
        accounts.authenticate(s, "ann@acme.test", "a long pass phrase")
    assert _run(ws, "apikey", "revoke", key["prefix"]).exit_code == 0
    with session_scope(ws.store_url) as s, pytest.raises(AuthenticationError, match="revoked"):
        accounts.verify_api_key(s, secret)


def test_bad_input_is_refused_with_a_clear_message(ws: Workspace) -> None:
    r = _run(ws, "apikey", "create", "x", "--scope", "everything")
    assert isinstance(r.exception, DataValidationError)
    assert "expected one of insights:read" in str(r.exception)
    r = _run(ws, "user", "add", "bob@acme.test", "--name", "Bob", "--role", "boss",
             "--password-stdin", stdin="a long pass phrase\n")
    assert "role 'boss': expected one of admin, advocate, member, viewer" in str(r.exception)
    r = _run(ws, "user", "add", "bob@acme.test", "--name", "Bob", "--role", "member",
             "--department", "nowhere", "--password-stdin", stdin="a long pass phrase\n")
    assert "outsidein department add nowhere" in str(r.exception)


def test_serve_runs_the_app_for_the_workspace(ws: Workspace) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen([sys.executable, "-m", "outsidein", "--workspace", str(ws.root),
                             "serve", "--port", str(port), "--log-level", "warning"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/login", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
                assert time.monotonic() < deadline, "outsidein serve did not answer in 60 s"
                time.sleep(0.3)
        assert r.status_code == 200 and "Log in" in r.text
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/insights").status_code == 401
        secret_file = ws.root / ".web-secret"
        assert secret_file.stat().st_mode & 0o777 == 0o600
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
    assert proc.returncode == 0
