"""Browser security: the session secret, CSRF tokens and security headers.

- The session cookie is signed (Starlette's ``SessionMiddleware``, itsdangerous) with a
  secret generated once per workspace and kept in ``<workspace>/.web-secret`` (mode 0600),
  so every uvicorn worker and every restart signs alike.
- Every state-changing form and HTMX request carries the session's CSRF token, in the
  ``csrf_token`` form field or the ``X-CSRF-Token`` header; the comparison is constant-time.
- Every response gets a strict Content-Security-Policy (scripts only from this server, plus
  inline scripts that carry the per-request nonce), ``X-Frame-Options: DENY`` and friends.
- A browser that logged in gets a signed device cookie (OWASP "device cookies"): its
  failed logins are counted apart from everyone else's, so guessing from elsewhere never
  keeps that person out (:func:`outsidein.services.accounts.authenticate`).
- An app told it is served over TLS (``OUTSIDEIN_HTTPS=1``, :attr:`outsidein.config.Settings.https`;
  usually behind a proxy that ends TLS) also sends ``Strict-Transport-Security`` and marks the
  session cookie ``Secure``.
"""

from __future__ import annotations

import base64
import hmac
import os
import secrets
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from outsidein.errors import ConfigError, PermissionDeniedError

SECRET_FILE = ".web-secret"
#: Shortest session secret accepted: itsdangerous signs with it, so it must resist guessing.
MIN_SECRET_LENGTH = 32
HSTS = b"max-age=31536000"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DEVICE_COOKIE = "outsidein_device"
DEVICE_MAX_AGE = 180 * 24 * 3600


def session_secret(ws_root: Path) -> str:
    """The workspace's session-signing secret, created (0600) on first use.

    Raises
    ------
    ConfigError
        When the stored secret is shorter than :data:`MIN_SECRET_LENGTH` characters.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as ws:
    ...     first = session_secret(Path(ws))
    ...     first == session_secret(Path(ws)) and len(first) >= MIN_SECRET_LENGTH
    True
    """
    path = Path(ws_root) / SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        secret = path.read_text(encoding="ascii").strip()
        if len(secret) < MIN_SECRET_LENGTH:
            raise ConfigError(
                f"{path}: session secret has {len(secret)} characters, expected at least "
                f"{MIN_SECRET_LENGTH}; delete the file and restart to make a new one") from None
        return secret
    secret = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secret)
    return secret


def csrf_token(request: Request) -> str:
    """The session's CSRF token (created on first use), masked afresh for each page.

    A page carries ``mask + (token XOR mask)``, never the token itself, so the compressed
    size of a gzipped page says nothing about it (BREACH); :func:`check_csrf` unmasks.

    >>> class R: session = {}
    >>> a, b = csrf_token(R()), csrf_token(R())
    >>> a != b and _unmask(a) == _unmask(b) == R.session["csrf"]
    True
    """
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    raw = str(token).encode("ascii")
    mask = secrets.token_bytes(len(raw))
    return base64.urlsafe_b64encode(mask + bytes(a ^ b for a, b in zip(raw, mask, strict=True))
                                    ).decode("ascii")


def _unmask(sent: str) -> str | None:
    """The token inside a masked one (None if *sent* is not one)."""
    try:
        blob = base64.urlsafe_b64decode(sent.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return None
    half = len(blob) // 2
    if not half or len(blob) % 2:
        return None
    raw = bytes(a ^ b for a, b in zip(blob[half:], blob[:half], strict=True))
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        return None


def rotate_csrf(request: Request) -> str:
    """A fresh token (after login, so a token seen before login is worthless after)."""
    request.session["csrf"] = secrets.token_urlsafe(32)
    return str(request.session["csrf"])


async def check_csrf(request: Request) -> None:
    """Refuse a state-changing request whose CSRF token is missing or wrong (403)."""
    if request.method in SAFE_METHODS:
        return
    expected = request.session.get("csrf")
    sent = request.headers.get(CSRF_HEADER)
    if not sent:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()  # Starlette caches it for the route
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    token = _unmask(sent) if sent else None
    if not expected or not token or not hmac.compare_digest(str(expected), token):
        raise PermissionDeniedError(
            "CSRF token missing or wrong: reload the page and try again")


def _device_signer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="outsidein-device")


def device_of(request: Request, secret: str, email: str) -> str | None:
    """The device id in this browser's device cookie if it was issued for *email*.

    >>> from starlette.requests import Request
    >>> device_of(Request({"type": "http", "headers": []}), "s" * 32, "ann@acme.test") is None
    True
    """
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return None
    try:
        data = _device_signer(secret).loads(raw, max_age=DEVICE_MAX_AGE)
    except BadSignature:
        return None
    ok = isinstance(data, dict) and data.get("e") == email.strip().lower()
    return str(data.get("n")) if ok and data.get("n") else None


def set_device(response: Response, secret: str, email: str, device: str | None, *,
               https: bool) -> None:
    """Give the browser a device cookie for *email* (keeping its device id if it had one)."""
    value = _device_signer(secret).dumps({"e": email.strip().lower(),
                                          "n": device or secrets.token_urlsafe(16)})
    response.set_cookie(DEVICE_COOKIE, value, max_age=DEVICE_MAX_AGE, httponly=True,
                        samesite="lax", secure=https, path="/")


def _csp(nonce: str) -> str:
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        # Plotly and htmx set element styles at run time; styles cannot run code.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


#: The API's answers are JSON (or problem+json), never a page: they may load and run
#: nothing, and no page may frame them (OWASP's REST security cheat sheet).  No nonce to
#: draw: the events API answers thousands of requests a second (the nonce's random bytes
#: were 3% of the server's time under single events, ``benchmarks/bench_events.py``).
API_CSP = b"default-src 'none'; frame-ancestors 'none'"


class SecurityHeadersMiddleware:
    """Adds security headers and, for pages, a per-request CSP nonce
    (``request.state.csp_nonce``); the API's answers get :data:`API_CSP`.

    Parameters
    ----------
    app
        The ASGI app to wrap.
    https
        The app is served over TLS: send ``Strict-Transport-Security`` too.
    """

    def __init__(self, app: ASGIApp, *, https: bool = False) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        api = path.startswith("/api/")  # JSON only: nothing runs, nothing needs a nonce
        nonce = "" if api else secrets.token_urlsafe(16)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["csp_nonce"] = nonce
        static = path.startswith("/static/")
        policy = API_CSP if api else _csp(nonce).encode()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                extra = {
                    b"content-security-policy": policy,
                    b"x-frame-options": b"DENY",
                    b"x-content-type-options": b"nosniff",
                    b"referrer-policy": b"same-origin",
                    b"cross-origin-opener-policy": b"same-origin",
                    b"permissions-policy": b"camera=(), microphone=(), geolocation=()",
                }
                if not static:
                    extra[b"cache-control"] = b"no-store"
                if self.https:
                    extra[b"strict-transport-security"] = HSTS
                headers += [(k, v) for k, v in extra.items() if k not in names]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
