"""People, departments and API keys: the use cases behind ``outsidein user`` and the web login.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second
recommended profile).  API keys are ``<prefix>.<token>`` with a 32-byte random
token; only a SHA-256 hash of the whole secret is stored.

>>> from outsidein.store.db import session_scope
>>> with session_scope(ws.store_url) as s:                       # doctest: +SKIP
...     create_department(s, "product")
...     user = create_user(s, email="ann@acme.test", name="Ann", password="long pass phrase",
...                        role="member", departments=["product"])
...     key, secret = create_api_key(s, name="ci", scopes=["insights:read"])
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from outsidein.access import ROLES, SCOPES
from outsidein.errors import (
    AuthenticationError,
    ConflictError,
    DataValidationError,
    NotFoundError,
)
from outsidein.store.models.auth import (
    ApiKey,
    AuditEvent,
    Department,
    LoginThrottle,
    Membership,
    User,
    WebSession,
)
from outsidein.store.models.base import utcnow

MIN_PASSWORD_LENGTH = 10
#: Failed logins one client may make for one account before each further try must wait
#: (2 s, then 4 s, 8 s, ... up to MAX_BACKOFF).  The account itself is never locked.
FREE_FAILURES = 5
#: Failed logins from all untrusted browsers together, per account, before they back off;
#: a browser holding a device cookie for the account (it logged in before) is not slowed.
FREE_FAILURES_ACCOUNT = 20
MAX_BACKOFF = timedelta(minutes=15)
FORGET = timedelta(days=1)
#: A browser's login lasts this long, unless it logs out or the password changes first.
SESSION_LIFETIME = timedelta(hours=12)
#: An API key's ``last_used_at`` is written at most this often (not on every request).
TOUCH_EVERY = timedelta(minutes=1)
_hasher = PasswordHasher()  # argon2id, t=3, m=64 MiB, p=4
# Verifying against this dummy hash when the e-mail is unknown keeps the timing of a failed
# login the same whether or not the account exists.
_DUMMY_HASH = _hasher.hash("outside-in dummy password for constant timing")


@dataclass(frozen=True)
class UserInfo:
    """A person as the rest of the system sees them (never the password hash)."""

    id: int
    email: str
    name: str
    role: str
    departments: tuple[str, ...]
    department_ids: tuple[int, ...]
    active: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DepartmentInfo:
    id: int
    name: str
    members: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ApiKeyInfo:
    """An API key without its secret."""

    id: int
    name: str
    prefix: str
    scopes: tuple[str, ...]
    user_id: int | None
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def allows(self, scope: str) -> bool:
        """True when the key carries *scope* (or ``admin``)."""
        return scope in self.scopes or "admin" in self.scopes

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["active"] = self.active
        return d


# -- helpers ------------------------------------------------------------------------
def hash_password(password: str) -> str:
    """An argon2id hash of *password*."""
    return _hasher.hash(password)


def audit(session: Session, *, actor: str, action: str, target: str = "",
          details: dict[str, Any] | None = None) -> None:
    """Append one event to the audit log (never updated, never deleted)."""
    session.add(AuditEvent(actor=actor, action=action, target=target,
                           details=json.dumps(details or {}, default=str)))


def _user_info(session: Session, user: User) -> UserInfo:
    rows = session.execute(
        select(Department.id, Department.name)
        .join(Membership, Membership.department_id == Department.id)
        .where(Membership.user_id == user.id).order_by(Department.name)
    ).all()
    return UserInfo(id=user.id, email=user.email, name=user.name, role=user.role,
                    departments=tuple(r.name for r in rows),
                    department_ids=tuple(r.id for r in rows), active=bool(user.active))


def _key_info(key: ApiKey) -> ApiKeyInfo:
    return ApiKeyInfo(id=key.id, name=key.name, prefix=key.prefix,
                      scopes=tuple(key.scopes.split()), user_id=key.user_id,
                      created_at=key.created_at, revoked_at=key.revoked_at,
                      last_used_at=key.last_used_at)


def _normal_email(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@") or len(email) > 255:
        raise DataValidationError(f"e-mail {email!r}: expected an address like ann@example.com")
    return email


# -- departments --------------------------------------------------------------------
def create_department(session: Session, name: str, *, actor: str = "cli") -> DepartmentInfo:
    """Create a department; raise :class:`ConflictError` if the name is taken."""
    name = name.strip()
    if not name or len(name) > 100:
        raise DataValidationError(f"department name {name!r}: expected 1-100 characters")
    if session.scalar(select(Department).where(Department.name == name)) is not None:
        raise ConflictError(f"department {name!r} already exists")
    dep = Department(name=name)
    session.add(dep)
    session.flush()
    audit(session, actor=actor, action="department.create", target=name)
    return DepartmentInfo(id=dep.id, name=dep.name)


def list_departments(session: Session) -> list[DepartmentInfo]:
    """All departments with their member counts, by name."""
    out = []
    for dep in session.scalars(select(Department).order_by(Department.name)):
        n = len(session.scalars(select(Membership.user_id).where(
            Membership.department_id == dep.id)).all())
        out.append(DepartmentInfo(id=dep.id, name=dep.name, members=n))
    return out


def _department_ids(session: Session, names: Iterable[str]) -> list[int]:
    ids = []
    for name in names:
        dep = session.scalar(select(Department).where(Department.name == name.strip()))
        if dep is None:
            known = ", ".join(d.name for d in session.scalars(select(Department))) or "none yet"
            raise NotFoundError(f"department {name!r} does not exist (known: {known}); "
                                f"add it with 'outsidein department add {name}'")
        ids.append(dep.id)
    return ids


# -- users --------------------------------------------------------------------------
def create_user(session: Session, *, email: str, name: str, password: str, role: str,
                departments: Iterable[str] = (), actor: str = "cli") -> UserInfo:
    """Create a person with a role and department memberships.

    Raises
    ------
    DataValidationError
        Bad e-mail, unknown role or a password shorter than 10 characters.
    ConflictError
        The e-mail is already registered.
    NotFoundError
        A department does not exist.
    """
    email = _normal_email(email)
    if role not in ROLES:
        raise DataValidationError(f"role {role!r}: expected one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DataValidationError(
            f"password for {email}: expected at least {MIN_PASSWORD_LENGTH} characters, "
            f"got {len(password)}")
    if session.scalar(select(User).where(User.email == email)) is not None:
        raise ConflictError(f"user {email} already exists")
    dep_ids = _department_ids(session, departments)
    user = User(email=email, name=name.strip() or email, password_hash=hash_password(password),
                role=role, active=True)
    session.add(user)
    session.flush()
    for dep_id in dep_ids:
        session.add(Membership(user_id=user.id, department_id=dep_id))
    session.flush()
    audit(session, actor=actor, action="user.create", target=email,
          details={"role": role, "departments": list(departments)})
    return _user_info(session, user)


def update_user(session: Session, email: str, *, role: str | None = None,
                departments: Iterable[str] | None = None, active: bool | None = None,
                password: str | None = None, actor: str = "cli") -> UserInfo:
    """Change a person's role, departments (replaced), active flag or password.

    A deactivated person cannot log in, their open sessions end at their next request, and
    API keys bound to them stop working; their records stay for the audit trail.  A new
    password (a change or a reset) ends every browser session of the person.
    """
    user = session.scalar(select(User).where(User.email == _normal_email(email)))
    if user is None:
        raise NotFoundError(f"user {email} does not exist; 'outsidein user list' shows everyone")
    changes: dict[str, Any] = {}
    if role is not None:
        if role not in ROLES:
            raise DataValidationError(f"role {role!r}: expected one of {', '.join(ROLES)}")
        user.role = changes["role"] = role
    if departments is not None:
        names = list(departments)
        ids = _department_ids(session, names)
        for m in session.scalars(select(Membership).where(Membership.user_id == user.id)):
            session.delete(m)
        session.flush()
        for dep_id in ids:
            session.add(Membership(user_id=user.id, department_id=dep_id))
        changes["departments"] = names
    if active is not None:
        user.active = changes["active"] = active
    if password is not None:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise DataValidationError(f"password for {user.email}: expected at least "
                                      f"{MIN_PASSWORD_LENGTH} characters, got {len(password)}")
        user.password_hash = hash_password(password)
        changes["password"] = "changed"
    if password is not None or active is False:
        changes["sessions_ended"] = end_all_sessions(session, user.id)
    session.flush()
    audit(session, actor=actor, action="user.update", target=user.email, details=changes)
    return _user_info(session, user)


def get_user(session: Session, user_id: int) -> UserInfo:
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"user {user_id} does not exist")
    return _user_info(session, user)


def list_users(session: Session) -> list[UserInfo]:
    """Everyone, by e-mail."""
    return [_user_info(session, u) for u in session.scalars(select(User).order_by(User.email))]


class LoginThrottledError(AuthenticationError):
    """Too many failed logins from this client for this account: wait ``retry_after`` s."""

    http_status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _throttle_keys(email: str, client: str, device: str | None) -> dict[str, int]:
    """Back-off counters (key -> free failures) that a login attempt is judged by."""
    if device:  # a browser that logged in to this account before
        return {f"device:{device}": FREE_FAILURES}
    return {f"client:{client}|{email}"[:400]: FREE_FAILURES,
            f"account:{email}"[:400]: FREE_FAILURES_ACCOUNT}


def _check_throttle(session: Session, keys: Iterable[str], email: str) -> None:
    now = utcnow()
    waits = [row.retry_at for row in session.scalars(
        select(LoginThrottle).where(LoginThrottle.key.in_(list(keys)))) if row.retry_at > now]
    if waits:
        seconds = max(1, int((max(waits) - now).total_seconds() + 0.999))
        raise LoginThrottledError(
            f"too many failed logins for {email} from this browser; try again in {seconds} "
            "seconds (a browser that logged in to this account before is not slowed)", seconds)


def authenticate(session: Session, email: str, password: str, *, client: str = "",
                 device: str | None = None) -> UserInfo:
    """The active user with this e-mail and password, or :class:`AuthenticationError`.

    The message never says which of the two was wrong.  Guessing is slowed, never
    turned into a lockout: after :data:`FREE_FAILURES` failures of one *client* for an
    account (or :data:`FREE_FAILURES_ACCOUNT` of all untrusted clients together), each
    further try must wait twice as long as the last, up to :data:`MAX_BACKOFF`
    (:class:`LoginThrottledError`, HTTP 429).  *device* names a browser that logged in to
    this account before (its device cookie); it has its own counter, so others' guesses
    never keep the person out.  Failures are counted by :func:`record_failed_login`.
    :func:`check_login` then :func:`record_login`, in one transaction.
    """
    user, new_hash = check_login(session, email, password, client=client, device=device)
    record_login(session, user, client=client, device=device, new_hash=new_hash)
    return user


def check_login(session: Session, email: str, password: str, *, client: str = "",
                device: str | None = None) -> tuple[UserInfo, str | None]:
    """The reading half of :func:`authenticate` (no write, so no writer waits on argon2).

    Returns the user and, when the stored hash uses outdated parameters, a new hash.
    """
    email = email.strip().lower()
    _check_throttle(session, _throttle_keys(email, client, device), email)
    user = session.scalar(select(User).where(User.email == email))
    stored = user.password_hash if user is not None else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
        ok = user is not None and bool(user.active)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None:
        # The caller's transaction rolls back on this error; record_failed_login keeps a trace.
        raise AuthenticationError("e-mail or password not recognised")
    new_hash = hash_password(password) if _hasher.check_needs_rehash(stored) else None
    return _user_info(session, user), new_hash


def record_login(session: Session, user: UserInfo, *, client: str = "",
                 device: str | None = None, new_hash: str | None = None) -> None:
    """The writing half of :func:`authenticate`: reset the back-off, log the login."""
    if new_hash is not None:
        session.execute(update(User).where(User.id == user.id).values(password_hash=new_hash))
    keys = [k for k in _throttle_keys(user.email, client, device) if not k.startswith("account:")]
    session.execute(delete(LoginThrottle).where(LoginThrottle.key.in_(keys)))
    audit(session, actor=user.email, action="login", details={"client": client})


def record_failed_login(session: Session, email: str, *, client: str = "",
                        device: str | None = None) -> None:
    """Count a failed login (in its own transaction, after the failure) and log it."""
    email = email.strip().lower()
    now = utcnow()
    # A counter forgets after a quiet day, so old typos never add up to a back-off.
    session.execute(delete(LoginThrottle).where(LoginThrottle.last_failure_at < now - FORGET))
    for key, free in _throttle_keys(email, client, device).items():
        row = session.get(LoginThrottle, key, with_for_update=True)
        if row is None:
            try:
                with session.begin_nested():  # PostgreSQL: a concurrent failure may add it
                    session.add(LoginThrottle(key=key, failures=0, last_failure_at=now,
                                              retry_at=now))
            except IntegrityError:
                pass
            row = session.get(LoginThrottle, key, with_for_update=True, populate_existing=True)
        assert row is not None
        row.failures += 1
        row.last_failure_at = now
        over = row.failures - free
        if over > 0:
            row.retry_at = now + min(timedelta(seconds=2 ** min(over, 20)), MAX_BACKOFF)
    audit(session, actor=email[:255] or "?", action="login.failed",
          details={"client": client, "trusted_device": bool(device)})


# -- browser sessions ---------------------------------------------------------------
def start_session(session: Session, user_id: int) -> str:
    """Open a browser session for *user_id*; return its id (kept in the signed cookie)."""
    now = utcnow()
    session.execute(delete(WebSession).where(WebSession.user_id == user_id,
                                             WebSession.expires_at < now))
    sid = secrets.token_urlsafe(32)
    session.add(WebSession(id=sid, user_id=user_id, created_at=now,
                           expires_at=now + SESSION_LIFETIME))
    return sid


def session_owner(session: Session, sid: str) -> UserInfo | None:
    """The active person whose open, unexpired session *sid* is, else ``None``."""
    row = session.get(WebSession, sid) if sid else None
    if row is None or row.ended_at is not None or row.expires_at <= utcnow():
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return _user_info(session, user)


def end_session(session: Session, sid: str) -> None:
    """End one browser session (logout): its cookie is refused from now on."""
    session.execute(update(WebSession).where(WebSession.id == sid, WebSession.ended_at.is_(None))
                    .values(ended_at=utcnow()))


def end_all_sessions(session: Session, user_id: int) -> int:
    """End every open browser session of *user_id* ("log out everywhere"); return how many."""
    result = session.execute(update(WebSession).where(
        WebSession.user_id == user_id, WebSession.ended_at.is_(None)).values(ended_at=utcnow()))
    return int(getattr(result, "rowcount", 0) or 0)


# -- API keys -----------------------------------------------------------------------
def _digest(secret: str) -> str:
    # A plain SHA-256 is right here (unlike passwords): the secret is 256 bits of random
    # token, so it cannot be brute-forced, and verification must be fast on every request.
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_api_key(session: Session, *, name: str, scopes: Iterable[str],
                   user_id: int | None = None, actor: str = "cli") -> tuple[ApiKeyInfo, str]:
    """Create an API key; return its record and the secret (shown once, never stored).

    The secret looks like ``oi_ab12cd34.<43 url-safe characters>``; the part before the
    dot is the prefix used to name and revoke the key.
    """
    scopes = tuple(dict.fromkeys(s.strip() for s in scopes if s.strip()))
    if not scopes:
        raise DataValidationError(f"API key {name!r}: expected at least one --scope "
                                  f"({', '.join(SCOPES)})")
    bad = [s for s in scopes if s not in SCOPES]
    if bad:
        raise DataValidationError(f"API key scope {bad[0]!r}: expected one of {', '.join(SCOPES)}")
    prefix = "oi_" + secrets.token_hex(4)
    secret = f"{prefix}.{secrets.token_urlsafe(32)}"
    key = ApiKey(name=name.strip() or prefix, prefix=prefix, key_hash=_digest(secret),
                 scopes=" ".join(scopes), user_id=user_id)
    session.add(key)
    session.flush()
    audit(session, actor=actor, action="apikey.create", target=prefix,
          details={"name": key.name, "scopes": list(scopes)})
    return _key_info(key), secret


def verify_api_key(session: Session, secret: str) -> ApiKeyInfo:
    """The active key whose secret this is, or :class:`AuthenticationError` (reads only)."""
    prefix = secret.split(".", 1)[0]
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix)) if prefix else None
    if key is None or not hmac.compare_digest(key.key_hash, _digest(secret)):
        raise AuthenticationError("API key not recognised")
    if key.revoked_at is not None:
        raise AuthenticationError(f"API key {prefix} was revoked on {key.revoked_at:%Y-%m-%d}")
    return _key_info(key)


def touch_api_key(session: Session, key_id: int, *, now: datetime | None = None) -> bool:
    """Set the key's ``last_used_at`` unless it was set less than :data:`TOUCH_EVERY` ago.

    Kept apart from :func:`verify_api_key` so that checking a key only reads: the caller
    writes this at most once a minute per key, in a short transaction of its own.
    """
    now = now or utcnow()
    result = session.execute(update(ApiKey).where(
        ApiKey.id == key_id,
        or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now - TOUCH_EVERY))
        .values(last_used_at=now))
    return bool(getattr(result, "rowcount", 0))


def revoke_api_key(session: Session, prefix: str, *, actor: str = "cli") -> ApiKeyInfo:
    """Revoke the key with this prefix (it keeps its record for the audit trail)."""
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix.strip()))
    if key is None:
        raise NotFoundError(
            f"API key {prefix!r} does not exist; 'outsidein apikey list' shows the keys")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        audit(session, actor=actor, action="apikey.revoke", target=key.prefix)
    return _key_info(key)


def list_api_keys(session: Session) -> list[ApiKeyInfo]:
    """Every key, newest first, without secrets."""
    return [_key_info(k) for k in session.scalars(select(ApiKey).order_by(ApiKey.id.desc()))]
