"""Who is calling, and may they: sessions for people, bearer API keys for machines.

Every route but the login page and static files depends on one :class:`Require`,
which names the roles (pages) or the scope (API) it needs.  The security tests
read these objects from the app's route table, so a new route without one fails
the test suite rather than opening a hole.

- Pages: a signed session cookie naming a server-side session record (so logout, a new
  password or "log out everywhere" ends it at once); no session -> the login page;
  wrong role -> 403 page; a state-changing request needs the CSRF token.
- API (``/api/v1``): ``Authorization: Bearer <key>`` checked against the key's scopes, or
  the browser's session (the role's scopes, plus ``X-CSRF-Token`` on writes).  Routes made
  with ``Require(..., basic=True)`` (the Segment source) also take the key as HTTP Basic
  credentials, as Segment's libraries send their write key: ``base64("<key>:")``.

The check reads the store in the thread pool, never on the event loop, and writes nothing
on the request's path but an API key's ``last_used_at``, at most once a minute per key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import time
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from outsidein.access import ROLE_SCOPES, ROLES
from outsidein.errors import AuthenticationError, PermissionDeniedError
from outsidein.services.accounts import (
    TOUCH_EVERY,
    ApiKeyInfo,
    UserInfo,
    get_user,
    session_owner,
    touch_api_key,
    verify_api_key,
)
from outsidein.store.db import StoreBusyError, session_scope
from outsidein.web.security import SAFE_METHODS, check_csrf

ALL_ROLES: tuple[str, ...] = ROLES
STAFF: tuple[str, ...] = ("admin", "advocate")
ACKERS: tuple[str, ...] = ("admin", "advocate", "member")
log = logging.getLogger(__name__)
#: (store URL, key id) -> time.monotonic() of the last ``last_used_at`` write from this process.
_touched: dict[tuple[str, int], float] = {}
#: Seconds a checked API key is trusted without asking the store again, on routes that opt
#: in (``Require(..., cache_keys=True)``: the events API, thousands of calls a second).  A key
#: revoked, or its person deactivated, is refused there within this time.
KEY_CACHE_S = 5.0
_KEY_CACHE_MAX = 10_000
_key_cache: dict[tuple[str, str], tuple[float, Principal]] = {}


@dataclass(frozen=True)
class Principal:
    """The caller of one request: a person (session or their key) or a machine key."""

    kind: str  # "user" or "apikey"
    name: str  # e-mail of the person, or "apikey:<prefix>"
    role: str | None
    scopes: frozenset[str]
    user: UserInfo | None = None
    key: ApiKeyInfo | None = None
    departments: tuple[str, ...] = field(default_factory=tuple)

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user else None

    @property
    def person(self) -> UserInfo:
        """The person calling; :class:`AuthenticationError` for a key that belongs to no one."""
        if self.user is None:
            raise AuthenticationError(
                f"{self.name} belongs to no person; log in, or use an API key created for one")
        return self.user

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


def session_user(request: Request) -> UserInfo | None:
    """The person of this request's session, if it is open and they are active (blocking I/O).

    A cookie whose server-side session ended (logout, new password, "log out everywhere")
    or expired is cleared and refused.
    """
    sid = request.session.get("sid")
    if not isinstance(sid, str):
        if "uid" in request.session:
            request.session.clear()  # a cookie from before server-side sessions: log in again
        return None
    with session_scope(request.app.state.store_url, write=False) as s:
        user = session_owner(s, sid)
    if user is None:
        request.session.clear()
    return user


def _from_user(user: UserInfo) -> Principal:
    return Principal(kind="user", name=user.email, role=user.role,
                     scopes=ROLE_SCOPES.get(user.role, frozenset()), user=user,
                     departments=user.departments)


def _touch(url: str, key: ApiKeyInfo) -> None:
    """Record the key's use at most once a minute; skip (not wait) if a writer is busy."""
    now = time.monotonic()
    memo = (url, key.id)
    if now - _touched.get(memo, -1e9) < TOUCH_EVERY.total_seconds():
        return
    _touched[memo] = now
    try:
        with session_scope(url, wait=0.2) as s:
            touch_api_key(s, key.id)
    except StoreBusyError:
        _touched.pop(memo, None)  # try again on the key's next request
        log.debug("API key %s: last_used_at not written (store busy)", key.prefix)


def _from_key(url: str, secret: str) -> Principal:
    with session_scope(url, write=False) as s:
        key = verify_api_key(s, secret)
        user = get_user(s, key.user_id) if key.user_id is not None else None
    if user is not None and not user.active:
        raise AuthenticationError(f"API key {key.prefix} belongs to a deactivated user")
    _touch(url, key)
    return Principal(kind="apikey", name=f"apikey:{key.prefix}",
                     role=user.role if user else None, scopes=frozenset(key.scopes),
                     user=user, key=key, departments=user.departments if user else ())


class Require:
    """A route's access rule, used as ``Depends(Require(...))``.

    Parameters
    ----------
    roles
        Page routes: the roles that may open the page.
    scope
        API routes: the scope a key (or the person's role) must carry.
    """

    def __init__(self, *, roles: tuple[str, ...] = ALL_ROLES, scope: str | None = None,
                 cache_keys: bool = False, basic: bool = False) -> None:
        self.scope = scope
        self.cache_keys = cache_keys
        self.basic = basic
        self.api = scope is not None
        self.roles = (tuple(r for r in ALL_ROLES if scope in ROLE_SCOPES[r]) if scope
                      else tuple(roles))

    def __repr__(self) -> str:
        return f"Require(roles={self.roles!r}, scope={self.scope!r})"

    async def __call__(self, request: Request) -> Principal:
        auth = request.headers.get("authorization", "")
        secret = None
        if self.scope is not None and auth[:7].lower() == "bearer ":
            secret = auth[7:].strip()
        elif self.scope is not None and self.basic and auth[:6].lower() == "basic ":
            secret = basic_key(auth[6:].strip())
        if secret is not None and self.scope is not None:
            principal = await self._key_principal(request, secret)
            if not principal.allows(self.scope):
                raise PermissionDeniedError(
                    f"API key {principal.name[7:]} lacks scope {self.scope!r} "
                    f"(it has: {', '.join(sorted(principal.scopes))})")
            request.state.principal = principal
            return principal
        user = await run_in_threadpool(session_user, request)
        if user is None:
            raise AuthenticationError(
                "log in, or send 'Authorization: Bearer <API key>'" if self.api
                else "log in to see this page")
        principal = _from_user(user)
        if principal.role not in self.roles:
            what = f"scope {self.scope!r}" if self.scope else "this page"
            raise PermissionDeniedError(
                f"{user.email} has role {user.role!r}; {what} needs one of: "
                f"{', '.join(self.roles)}")
        if request.method not in SAFE_METHODS:
            await check_csrf(request)
        request.state.principal = principal
        return principal


    async def _key_principal(self, request: Request, secret: str) -> Principal:
        url = request.app.state.store_url
        if not self.cache_keys:
            return await run_in_threadpool(_from_key, url, secret)
        return await key_principal(url, secret)


def basic_key(credentials: str) -> str:
    """The API key in HTTP Basic *credentials*: the user name (Segment sends its write key
    so, with no password), or the password when the user name is empty.

    >>> basic_key(base64.b64encode(b"oi_abc:").decode())
    'oi_abc'
    """
    try:
        user, _, password = base64.b64decode(credentials, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise AuthenticationError("Authorization: Basic credentials are not base64 of "
                                  "'<API key>:'") from None
    if not (user or password):
        raise AuthenticationError("Authorization: Basic credentials hold no API key; send "
                                  "base64 of '<API key>:'")
    return user or password


async def key_principal(url: str, secret: str) -> Principal:
    """The principal of API key *secret*, remembered for :data:`KEY_CACHE_S` seconds (for
    the high-rate events routes: a revoked key stops working within that time)."""
    memo = (url, hashlib.sha256(secret.encode()).hexdigest())
    now = time.monotonic()
    hit = _key_cache.get(memo)
    if hit is not None and hit[0] > now:
        return hit[1]
    principal = await run_in_threadpool(_from_key, url, secret)
    if len(_key_cache) >= _KEY_CACHE_MAX:
        _key_cache.clear()
    _key_cache[memo] = (now + KEY_CACHE_S, principal)
    return principal


#: Route parameter types: ``principal: Anyone`` lets every logged-in person in, and so on.
Anyone = Annotated[Principal, Depends(Require())]
StaffOnly = Annotated[Principal, Depends(Require(roles=STAFF))]
AckersOnly = Annotated[Principal, Depends(Require(roles=ACKERS))]
AdminOnly = Annotated[Principal, Depends(Require(roles=("admin",)))]
