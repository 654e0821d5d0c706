"""Security matrix generated from the app's route table, CSRF, API-key scopes, headers.

Every route the app serves is checked: an anonymous caller is sent to the login page
(pages) or gets 401 problem+json (API); a person whose role is not allowed gets 403;
an API key without the route's scope gets 403.  A new route without an access rule
fails :func:`test_every_route_declares_who_may_call_it`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from outsidein.access import ROLES
from outsidein.errors import ConfigError
from outsidein.services import accounts
from outsidein.store.db import session_scope
from outsidein.web import PUBLIC_ROUTES, RouteInfo, create_app, route_table
from outsidein.web.security import SECRET_FILE, session_secret

ALL_SCOPES = ("insights:read", "insights:write", "acks:write", "needs:read", "needs:write",
              "answers:read", "value:read")


def _url(route: RouteInfo, site: Any) -> str:
    return (route.path.replace("{insight_id}", str(site.insight_id))
            .replace("{prefix}", "oi_00000000").replace("{customer_id}", "1"))


def _call(client: Any, method: str, url: str, api: bool, **kw: Any) -> Any:
    if method == "GET":
        return client.get(url, **kw)
    if api:
        return client.request(method, url, json={}, **kw)
    return client.request(method, url, data={"placeholder": "x"}, **kw)


def _guarded(site: Any) -> list[tuple[RouteInfo, str]]:
    out = []
    for route in route_table(site.app):
        if route.path in PUBLIC_ROUTES:
            continue
        for method in sorted(route.methods - {"HEAD"}):
            out.append((route, method))
    return out


def _is_problem(r: Any, status: int) -> bool:
    if r.status_code != status or not r.headers["content-type"].startswith(
            "application/problem+json"):
        return False
    body = r.json()
    return {"type", "title", "status", "detail", "instance"} <= body.keys() \
        and body["status"] == status


def test_every_route_declares_who_may_call_it(site: Any) -> None:
    table = route_table(site.app)
    assert len(table) > 30
    missing = [r.path for r in table if r.rule is None and r.path not in PUBLIC_ROUTES]
    assert missing == [], f"routes without a Require(...) access rule: {missing}"


def test_anonymous_is_sent_to_login_or_refused_with_401(site: Any) -> None:
    anon = site.client()
    failures = []
    for route, method in _guarded(site):
        url = _url(route, site)
        r = _call(anon, method, url, route.api)
        if route.api:
            ok = _is_problem(r, 401) and r.headers.get("www-authenticate", "").startswith("Bearer")
        else:
            ok = r.status_code == 303 and r.headers["location"].startswith("/login?next=")
        if not ok:
            failures.append(f"{method} {url} -> {r.status_code}")
    assert failures == []


def test_a_person_of_the_wrong_role_gets_403(site: Any) -> None:
    clients = {role: site.login(site.ROLE_USER[role]) for role in ROLES}
    failures, checked = [], 0
    for route, method in _guarded(site):
        assert route.rule is not None
        for role in ROLES:
            if role in route.rule.roles:
                continue
            url = _url(route, site)
            r = _call(clients[role], method, url, route.api)
            checked += 1
            ok = _is_problem(r, 403) if route.api else (
                r.status_code == 403 and "Forbidden" in r.text and "text/html" in
                r.headers["content-type"])
            if not ok:
                failures.append(f"{role}: {method} {url} -> {r.status_code}")
    assert checked > 20
    assert failures == []


def test_the_allowed_role_gets_in(site: Any) -> None:
    viewer = site.login("viewer")
    for path in ("/", "/insights", f"/insights/{site.insight_id}", "/answers", "/value",
                 "/alla", "/needs", "/alignment", "/docs"):
        r = viewer.get(path)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
    admin = site.login("admin")
    assert admin.get("/admin").status_code == 200
    advocate = site.login("advocate")
    r = advocate.get(f"/insights/{site.insight_id}/status")
    assert r.status_code == 200 and "product" in r.text


def test_an_api_key_cannot_do_more_than_its_scope(site: Any) -> None:
    failures = []
    for route, method in _guarded(site):
        if not route.api:
            continue
        assert route.rule is not None and route.rule.scope
        url = _url(route, site)
        others = [s for s in ALL_SCOPES if s != route.rule.scope]
        weak = site.client(headers={"Authorization": f"Bearer {site.api_key(*others)}"})
        r = _call(weak, method, url, True)
        if not _is_problem(r, 403) or route.rule.scope not in r.json()["detail"]:
            failures.append(f"without {route.rule.scope}: {method} {url} -> {r.status_code}")
        strong = site.client(headers={"Authorization": f"Bearer {site.api_key(route.rule.scope)}"})
        r = _call(strong, method, url, True)
        if r.status_code in (401, 403):
            failures.append(f"with {route.rule.scope}: {method} {url} -> {r.status_code}")
    assert failures == []


def test_a_revoked_or_forged_key_is_refused(site: Any) -> None:
    secret = site.api_key("insights:read")
    c = site.client(headers={"Authorization": f"Bearer {secret}"})
    assert c.get("/api/v1/insights").status_code == 200
    admin = site.login("admin")
    prefix = secret.split(".")[0]
    r = admin.post(f"/admin/apikeys/{prefix}/revoke",
                   data={"csrf_token": admin.headers["X-CSRF-Token"]})
    assert r.status_code == 303
    r = c.get("/api/v1/insights")
    assert _is_problem(r, 401) and "revoked" in r.json()["detail"]
    forged = site.client(headers={"Authorization": f"Bearer {prefix}.not-the-secret"})
    assert _is_problem(forged.get("/api/v1/insights"), 401)
    assert _is_problem(site.client(headers={"Authorization": "Bearer x"}).get("/api/v1/insights"),
                       401)


def test_forms_without_or_with_a_wrong_csrf_token_are_refused(site: Any) -> None:
    admin = site.login("admin")
    good = admin.headers.pop("X-CSRF-Token")
    posts = [(r, m) for r, m in _guarded(site) if m == "POST" and not r.api]
    assert len(posts) >= 6
    for route, _ in posts:
        url = _url(route, site)
        for token in (None, "wrong-" + good[6:]):
            data = {"email": "evil@acme.test", "name": "Evil", "password": "x" * 12,
                    "role": "admin", "title": "t", "statement": "s", "departments": "product",
                    "version_hash": site.insight_hash}
            if token:
                data["csrf_token"] = token
            r = admin.post(url, data=data)
            assert r.status_code == 403 and "CSRF" in r.text, (url, token, r.status_code)
    users = admin.get("/admin").text
    assert "evil@acme.test" not in users
    # An HTMX request must carry the token in the header.
    r = admin.post(f"/insights/{site.insight_id}/ack", headers={"HX-Request": "true"},
                   data={"version_hash": site.insight_hash})
    assert r.status_code == 403
    # The API called with the browser's session needs the header too.
    r = admin.post("/api/v1/insights", json={"title": "t", "statement": "s",
                                             "departments": ["product"]})
    assert _is_problem(r, 403) and "CSRF" in r.json()["detail"]
    # Logging in needs the token of the login form.
    anon = site.client()
    r = anon.post("/login", data={"email": site.PEOPLE["admin"][0], "password": "x" * 12})
    assert r.status_code == 403


def test_login_refuses_a_wrong_password_and_open_redirects(site: Any) -> None:
    c = site.client()
    csrf_of, PEOPLE = site.csrf_of, site.PEOPLE

    token = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"email": PEOPLE["member"][0], "password": "wrong password!",
                               "csrf_token": token})
    assert r.status_code == 401 and "not recognised" in r.text
    r = c.post("/login", data={"email": PEOPLE["member"][0], "password": site.PASSWORD,
                               "csrf_token": token, "next": "//evil.example/"})
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    # Logging out ends the session.
    token = csrf_of(c.get("/").text)
    assert c.post("/logout", data={"csrf_token": token}).status_code == 303
    assert c.get("/").status_code == 303


def test_security_headers_on_pages_and_api(site: Any) -> None:
    viewer = site.login("viewer")
    for path in ("/", "/api/v1/insights", "/login"):
        r = viewer.get(path)
        csp = r.headers["content-security-policy"]
        if path.startswith("/api/"):  # JSON: nothing may load or run, no nonce needed
            assert csp == "default-src 'none'; frame-ancestors 'none'"
        else:
            assert "script-src 'self' 'nonce-" in csp and "unsafe-inline" not in csp.split(
                "script-src")[1].split(";")[0]
        assert "frame-ancestors 'none'" in csp
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["cache-control"] == "no-store"
        assert "strict-transport-security" not in r.headers  # plain HTTP: no OUTSIDEIN_HTTPS


@pytest.mark.parametrize(("flag", "tls"), [("1", True), ("0", False), (None, False)])
def test_hsts_and_secure_cookie_exactly_when_served_over_tls(
        workspace: Any, live_server: Any, monkeypatch: pytest.MonkeyPatch, flag: str | None,
        tls: bool) -> None:
    if flag is None:
        monkeypatch.delenv("OUTSIDEIN_HTTPS", raising=False)
    else:
        monkeypatch.setenv("OUTSIDEIN_HTTPS", flag)
    # A proxy ends TLS and forwards plain HTTP: only the setting says the site is HTTPS.
    with live_server(create_app(workspace.root)) as server:
        r = httpx.get(server.url + "/login", timeout=30)
    assert r.status_code == 200
    assert r.headers.get("strict-transport-security") == ("max-age=31536000" if tls else None)
    assert ("secure" in r.headers["set-cookie"].lower().split("; ")) == tls


def test_a_short_session_secret_is_refused(tmp_path: Path, workspace: Any) -> None:
    (tmp_path / SECRET_FILE).write_text("x" * 31, encoding="ascii")
    with pytest.raises(ConfigError, match="31 characters, expected at least 32"):
        session_secret(tmp_path)
    (tmp_path / SECRET_FILE).write_text("y" * 32 + "\n", encoding="ascii")
    assert session_secret(tmp_path) == "y" * 32
    (workspace.root / SECRET_FILE).write_text("short", encoding="ascii")
    with pytest.raises(ConfigError, match=f"{SECRET_FILE}: session secret has 5 characters"):
        create_app(workspace.root)


def test_a_new_session_secret_is_long_and_private(tmp_path: Path) -> None:
    secret = session_secret(tmp_path)
    assert len(secret) >= 32 and session_secret(tmp_path) == secret
    assert (tmp_path / SECRET_FILE).stat().st_mode & 0o777 == 0o600


def test_api_errors_are_problem_json(site: Any) -> None:
    c = site.client(headers={"Authorization": f"Bearer {site.api_key('insights:read')}"})
    assert _is_problem(c.get("/api/v1/insights/999999"), 404)
    r = c.get("/api/v1/insights/not-a-number")
    assert _is_problem(r, 422) and "insight_id" in r.json()["detail"]
    assert _is_problem(c.get("/api/v1/no-such-route"), 404)


def test_password_guessing_is_slowed_per_client_not_locked(site: Any) -> None:
    with session_scope(site.ws.store_url) as s:
        accounts.create_user(s, email="target@acme.test", name="Target",
                             password=site.PASSWORD, role="viewer")
    c = site.client()
    token = site.csrf_of(c.get("/login").text)
    codes = [c.post("/login", data={"email": "target@acme.test", "password": f"guess {i:04d}",
                                    "csrf_token": token}).status_code
             for i in range(accounts.FREE_FAILURES + 2)]
    # The free tries are answered; the one after the first back-off started waits (2 s).
    assert codes == [401] * (accounts.FREE_FAILURES + 1) + [429]
    assert site.login("viewer").get("/").status_code == 200  # other people are unaffected
