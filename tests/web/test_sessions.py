"""Sessions end when they should, and guessing passwords never locks a person out.

A real browser-like HTTP client against the live server: a cookie copied before logout,
a password change or "log out everywhere" is refused afterwards; someone guessing the
admin's password is slowed, while the admin's own browser (which logged in before) still
logs in.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from outsidein.services import accounts
from outsidein.store.db import session_scope

SESSION_COOKIE = "outsidein_session"


def _new_user(site: Any, email: str, role: str = "member") -> None:
    with session_scope(site.ws.store_url) as s:
        accounts.create_user(s, email=email, name=email.split("@")[0], password=site.PASSWORD,
                             role=role, departments=["product"])


def _login(site: Any, email: str, password: str | None = None,
           client: httpx.Client | None = None) -> tuple[httpx.Client, httpx.Response]:
    c = client or site.client()
    c.headers.pop("X-CSRF-Token", None)  # the token of an earlier session
    token = site.csrf_of(c.get("/login").text)
    r = c.post("/login", data={"email": email, "password": password or site.PASSWORD,
                               "csrf_token": token, "next": "/"})
    if r.status_code == 303:
        c.headers["X-CSRF-Token"] = site.csrf_of(c.get("/").text)
    return c, r


def _replay(site: Any, cookie: str) -> httpx.Response:
    """A fresh client presenting a copied session cookie."""
    return site.client(cookies={SESSION_COOKIE: cookie}).get("/")


def _logged_in(r: httpx.Response) -> bool:
    return r.status_code == 200


def test_logout_ends_the_session_even_for_a_copied_cookie(site: Any) -> None:
    _new_user(site, "leaver@acme.test")
    c, r = _login(site, "leaver@acme.test")
    assert r.status_code == 303
    cookie = c.cookies[SESSION_COOKIE]
    assert _logged_in(_replay(site, cookie))
    assert c.post("/logout").status_code == 303
    refused = _replay(site, cookie)
    assert refused.status_code == 303 and refused.headers["location"].startswith("/login")
    api = site.client(cookies={SESSION_COOKIE: cookie}).get("/api/v1/insights")
    assert api.status_code == 401


def test_a_new_password_ends_every_session_of_that_person_only(site: Any) -> None:
    _new_user(site, "changer@acme.test")
    _new_user(site, "bystander@acme.test")
    laptop, _ = _login(site, "changer@acme.test")
    phone, _ = _login(site, "changer@acme.test")
    other, _ = _login(site, "bystander@acme.test")
    cookies = [laptop.cookies[SESSION_COOKIE], phone.cookies[SESSION_COOKIE]]
    with session_scope(site.ws.store_url) as s:
        accounts.update_user(s, "changer@acme.test", password="a brand new passphrase")
    for cookie in cookies:
        assert _replay(site, cookie).status_code == 303
    assert _logged_in(other.get("/"))
    _, r = _login(site, "changer@acme.test", password="a brand new passphrase")
    assert r.status_code == 303


def test_log_out_everywhere_ends_other_browsers_too(site: Any) -> None:
    _new_user(site, "lostlaptop@acme.test")
    laptop, _ = _login(site, "lostlaptop@acme.test")
    desk, _ = _login(site, "lostlaptop@acme.test")
    laptop_cookie = laptop.cookies[SESSION_COOKIE]
    assert _logged_in(laptop.get("/"))
    r = desk.post("/logout-everywhere")
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert _replay(site, laptop_cookie).status_code == 303
    assert laptop.get("/").status_code == 303


def _guess_until_waiting(site: Any, c: httpx.Client, email: str, at_least: int) -> int:
    """Post wrong passwords (bounded) until the server asks to wait *at_least* seconds."""
    token = site.csrf_of(c.get("/login").text)
    deadline = time.monotonic() + 60
    codes = []
    for i in range(40):
        assert time.monotonic() < deadline
        r = c.post("/login", data={"email": email, "password": f"guess {i:04d}",
                                   "csrf_token": token})
        codes.append(r.status_code)
        if r.status_code == 429:
            wait = int(r.headers["retry-after"])
            if wait >= at_least:
                return wait
            time.sleep(wait + 0.2)
        else:
            assert r.status_code == 401, r.text
    raise AssertionError(f"never slowed down: {codes}")


def test_guessing_slows_the_guesser_but_never_locks_out_the_admin(site: Any) -> None:
    email = "boss@acme.test"
    _new_user(site, email, role="admin")
    admin, r = _login(site, email)
    assert r.status_code == 303 and admin.cookies.get("outsidein_device")
    admin.post("/logout")

    attacker = site.client()
    wait = _guess_until_waiting(site, attacker, email, at_least=4)
    assert 4 <= wait <= accounts.MAX_BACKOFF.total_seconds()
    # While it waits, even the right password from the guesser is not tried.
    _, r = _login(site, email, client=attacker)
    assert r.status_code == 429 and "try again in" in r.text
    # The admin's own browser logged in before: it logs in at once.
    _, r = _login(site, email, client=admin)
    assert r.status_code == 303
    assert _logged_in(admin.get("/"))


def test_back_off_is_per_client_and_grows(site: Any) -> None:
    email = "throttled@acme.test"
    _new_user(site, email)
    url = site.ws.store_url
    for _ in range(accounts.FREE_FAILURES + 1):
        with session_scope(url) as s:
            accounts.record_failed_login(s, email, client="203.0.113.7")
    with session_scope(url) as s:
        try:
            accounts.authenticate(s, email, site.PASSWORD, client="203.0.113.7")
        except accounts.LoginThrottledError as exc:
            first = exc.retry_after
        else:
            raise AssertionError("the guessing client was not slowed")
    with session_scope(url) as s:  # another client, same account: not slowed
        assert accounts.authenticate(s, email, site.PASSWORD, client="198.51.100.2").email == email
    for _ in range(3):
        with session_scope(url) as s:
            accounts.record_failed_login(s, email, client="203.0.113.7")
    with session_scope(url) as s:
        try:
            accounts.authenticate(s, email, site.PASSWORD, client="203.0.113.7")
        except accounts.LoginThrottledError as exc:
            assert exc.retry_after > first * 4
        else:
            raise AssertionError("the guessing client was not slowed")
