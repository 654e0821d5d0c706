"""The public survey page over HTTP: a one-time link, partial saves, submission, CSRF,
problem+json, and nothing identifying in the server's logs."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from outsidein.services.culture.importing import instrument_items
from outsidein.services.culture.instrument import load_instrument
from outsidein.services.culture.tokens import invite
from outsidein.services.culture.waves import add_department, add_org, add_role, open_wave
from outsidein.store.db import session_scope
from outsidein.store.models.auth import AuditEvent
from outsidein.store.models.culture import CultureDraft, CultureInvitation, CultureResponse
from outsidein.workspace import Workspace

INSTRUMENT = load_instrument()


def make_wave(ws: Workspace, name: str, tokens: int = 4) -> list[str]:
    with session_scope(ws.store_url) as s:
        add_org(s, f"Org {name}")
        add_department(s, f"Org {name}", "Sales")
        add_department(s, f"Org {name}", "Service")
        add_role(s, f"Org {name}", "staff")
        open_wave(s, name, INSTRUMENT.version, instrument_items(INSTRUMENT),
                  comment_prompt=INSTRUMENT.comment)
        return [i.token for i in invite(s, name, f"Org {name}", count=tokens)]


def form_of(html: str) -> dict[str, str]:
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html)
    dep = re.search(r'<option value="(\d+)"[^>]*>Sales</option>', html)
    assert csrf and dep, html[:500]
    return {"csrf_token": csrf.group(1), "department": dep.group(1), "role": "staff"}


def all_answers(value: int = 4) -> dict[str, str]:
    return {f"q_{it.id}": str(min(value, it.scale_max)) for it in INSTRUMENT.items}


def test_a_respondent_saves_part_comes_back_and_submits_once(site: Any) -> None:
    tokens = make_wave(site.ws, "http-1")
    anon = site.client()
    page = anon.get(f"/survey/{tokens[0]}")
    assert page.status_code == 200 and "Your answers are anonymous" in page.text
    assert page.text.count('type="radio"') == sum(
        it.scale_max - it.scale_min + 1 for it in INSTRUMENT.items)
    form = form_of(page.text)
    part = {**form, "action": "save", "q_cus1": "2", "q_cus2": "5", "comment": "so far"}
    r = anon.post(f"/survey/{tokens[0]}", data=part)
    assert r.status_code == 303 and r.headers["location"].endswith("?saved=1#survey-status")

    # Later, another browser with the same link: the answers are there.
    again = site.client().get(f"/survey/{tokens[0]}")
    assert re.search(r'name="q_cus1" value="2" checked', again.text)
    assert re.search(r'name="q_cus2" value="5" checked', again.text)
    assert "so far</textarea>" in again.text and "2 of 39 questions answered" in again.text

    # Submitting with questions left blank: 422, the page again, the first blank named.
    r = anon.post(f"/survey/{tokens[0]}", data={**part, "action": "submit"})
    assert r.status_code == 422 and "37 questions not answered yet" in r.text
    assert 'aria-describedby="q_cus3-error"' in r.text

    r = anon.post(f"/survey/{tokens[0]}", data={**form, **all_answers(), "action": "submit",
                                               "comment": "fine"})
    assert r.status_code == 303
    done = anon.get(f"/survey/{tokens[0]}")
    assert "Thank you" in done.text and 'type="radio"' not in done.text
    r = anon.post(f"/survey/{tokens[0]}", data={**form, **all_answers(), "action": "submit"})
    assert r.status_code == 409 and "Thank you" in r.text
    with session_scope(site.ws.store_url, write=False) as s:
        assert s.scalar(select(func.count()).select_from(CultureDraft)) == 0
        resp = s.scalars(select(CultureResponse)).all()
        assert len(resp) == 1 and resp[0].comment == "fine" and resp[0].answers["cus1"] == 4
        assert s.scalar(select(CultureInvitation.used).where(
            CultureInvitation.token == tokens[0])) is True
        assert s.scalars(select(AuditEvent.action).where(
            AuditEvent.action.like("culture.%"))).all() == [
            "culture.org.add", "culture.department.add", "culture.department.add",
            "culture.role.add", "culture.wave.open", "culture.invite"]  # no respondent's act


def test_wrong_links_csrf_and_bad_values_answer_as_the_app_does(site: Any) -> None:
    tokens = make_wave(site.ws, "http-2")
    anon = site.client()
    assert anon.get("/survey/not-a-real-token-at-all").status_code == 404
    page = anon.get(f"/survey/{tokens[1]}")
    form = form_of(page.text)
    r = anon.post(f"/survey/{tokens[1]}", data={**form, "csrf_token": "x", "action": "save"})
    assert r.status_code == 403
    r = anon.post(f"/survey/{tokens[1]}", data={**form, "action": "save", "q_cus1": "9"})
    assert r.status_code == 422 and "expected a whole number from 1 to 5" in r.text
    r = anon.post(f"/survey/{tokens[1]}", data={**form, "action": "save", "department": "999"})
    assert r.status_code == 422 and "choose one from the list" in r.text

    # The page's autosave: JSON, the CSRF token in a header, problem+json on errors.
    url = f"/api/v1/survey/{tokens[1]}/draft"
    r = anon.put(url, json={"q_cus1": "3"})
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    head = {"X-CSRF-Token": form["csrf_token"]}
    r = anon.put(url, json={"q_cus1": "3", "q_cus2": "8"}, headers=head)
    assert r.status_code == 422 and r.json()["detail"].startswith("cus2 '8'")
    r = anon.put(url, json={"q_cus1": "3", "q_cus2": "4"}, headers=head)
    assert r.status_code == 200 and r.json() == {"answered": 2, "items": 39}
    r = anon.put(f"/api/v1/survey/{'z' * 32}/draft", json={}, headers=head)
    assert r.status_code == 404 and r.json()["title"] == "Not found"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_access_log_never_holds_a_token_or_the_address_of_a_respondent(
        tmp_path: Path) -> None:
    root = tmp_path / "acme"
    ws = Workspace.init(root)
    ws.close()
    tokens = make_wave(ws, "logged")
    port = _free_port()
    exe = Path(sys.executable).with_name("outsidein")
    proc = subprocess.Popen([str(exe), "--workspace", str(root), "serve", "--port", str(port),
                             "--no-outbox"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, "OUTSIDEIN_DEBUG": "0"})
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as c:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if c.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
            page = c.get(f"/survey/{tokens[0]}")
            form = form_of(page.text)
            assert c.post(f"/survey/{tokens[0]}", data={**form, **all_answers(),
                                                        "action": "submit"}).status_code == 303
            c.put(f"/api/v1/survey/{tokens[1]}/draft", json={"q_cus1": "2"},
                  headers={"X-CSRF-Token": form["csrf_token"]})
            c.get("/survey/nobody-has-this-token-xyz")
            c.get("/healthz")
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    log = out.decode()
    survey_lines = [ln for ln in log.splitlines() if "/survey/" in ln]
    assert len(survey_lines) == 4, log  # GET, POST, PUT, the unknown link
    assert all(t not in log for t in tokens) and "nobody-has-this-token" not in log
    assert all("/survey/…" in ln and "127.0.0.1" not in ln for ln in survey_lines), survey_lines
    assert any("127.0.0.1" in ln and "/healthz" in ln for ln in log.splitlines()), \
        "other requests are still logged with their client"
    with session_scope(ws.store_url, write=False) as s:
        assert s.scalar(select(func.count()).select_from(CultureResponse)) == 1


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(var, raising=False)
