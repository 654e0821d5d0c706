"""Signed webhooks: every message the deliverer posts carries a Standard Webhooks signature.

A receiver must be able to tell that a message came from this workspace and was not altered
or replayed.  Each POST of ``outsidein sense deliver`` carries the three headers of the
Standard Webhooks specification (https://www.standardwebhooks.com), made with its reference
library (``standardwebhooks``):

* ``webhook-id``: the message's idempotency key (the same on every retry, so a receiver
  dedupes on it as on ``Idempotency-Key``);
* ``webhook-timestamp``: Unix seconds when this try was posted (receivers refuse old ones:
  the library's default tolerance is five minutes);
* ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``.

A receiver verifies with any Standard Webhooks library, e.g. in Python
``standardwebhooks.Webhook(secret).verify(body, headers)``, or by hand as the docstring of
:class:`WebhookSigner` shows.

Choices made here
-----------------
* **The secret is the workspace's**, created on first use in ``webhook_secret`` in the
  workspace folder (mode 0600, like the session secret), as ``whsec_`` + base64 of 32
  random bytes.  ``outsidein sense webhook-secret`` prints it for the receivers' owners.
* **Rotation without a gap.**  ``outsidein sense webhook-secret --rotate`` makes a new
  secret and keeps the old one for :data:`ROTATION_GRACE_HOURS` hours, during which every
  message carries both signatures (the specification allows several, space-separated), so
  receivers can switch to the new secret at any time in that window.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from standardwebhooks import Webhook

from outsidein.errors import ConfigError

__all__ = ["ROTATION_GRACE_HOURS", "SECRET_FILE", "WebhookSigner", "rotate_webhook_secret",
           "webhook_signer"]

#: File in the workspace folder that keeps the signing secret(s).
SECRET_FILE = "webhook_secret"
#: Hours a rotated-out secret still signs (beside the new one).
ROTATION_GRACE_HOURS = 24.0


def _new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


@dataclass(frozen=True)
class WebhookSigner:
    """Signs a message's body with the current secret (and a rotated-out one in its grace).

    >>> s = WebhookSigner("whsec_" + base64.b64encode(b"k" * 32).decode())
    >>> body = b'{"a": 1}'
    >>> h = s.headers("k1", body)
    >>> sorted(h)
    ['webhook-id', 'webhook-signature', 'webhook-timestamp']
    >>> Webhook(s.secret).verify(body, h)   # what a receiver does
    {'a': 1}

    By hand: ``base64(HMAC-SHA256(key=base64decode(secret without "whsec_"),
    msg=id + "." + timestamp + "." + body))``.
    """

    secret: str
    previous: str | None = None
    previous_until: datetime | None = None

    def headers(self, msg_id: str, body: bytes, now: datetime | None = None) -> dict[str, str]:
        """The three Standard Webhooks headers for posting *body* now."""
        when = now or datetime.now(UTC)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        text = body.decode("utf-8")
        sigs = [Webhook(self.secret).sign(msg_id, when, text)]
        if self.previous and self.previous_until and when < self.previous_until:
            sigs.append(Webhook(self.previous).sign(msg_id, when, text))
        return {"webhook-id": msg_id, "webhook-timestamp": str(int(when.timestamp())),
                "webhook-signature": " ".join(sigs)}


def _path(ws_root: Path) -> Path:
    return Path(ws_root) / SECRET_FILE


def _read(path: Path) -> WebhookSigner:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        until = data.get("previous_until")
        signer = WebhookSigner(str(data["secret"]), data.get("previous"),
                               datetime.fromisoformat(until) if until else None)
        Webhook(signer.secret)  # a secret the library cannot read is an error now, not later
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: not a webhook secret file ({exc}); run 'outsidein sense "
                          "webhook-secret --rotate' to make a new secret") from None
    return signer


def _write(path: Path, signer: WebhookSigner, *, new: bool) -> None:
    data = {"secret": signer.secret, "previous": signer.previous,
            "previous_until": (signer.previous_until.isoformat()
                               if signer.previous_until else None)}
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    with os.fdopen(os.open(tmp, flags, 0o600), "w", encoding="utf-8") as fh:
        json.dump(data, fh)
    if new:
        try:  # first use: another process may have made it meanwhile; theirs stands
            os.link(tmp, path)
        except FileExistsError:
            pass
        os.unlink(tmp)
    else:
        os.replace(tmp, path)  # a reader sees the old file or the new one, never half


def webhook_signer(ws_root: Path) -> WebhookSigner:
    """The workspace's signer, its secret created (0600) on first use."""
    path = _path(ws_root)
    if not path.exists():
        _write(path, WebhookSigner(_new_secret()), new=True)
    return _read(path)


def rotate_webhook_secret(ws_root: Path, now: datetime | None = None,
                          grace_hours: float = ROTATION_GRACE_HOURS) -> WebhookSigner:
    """A new secret; the current one keeps signing too for *grace_hours*."""
    old = webhook_signer(ws_root)
    when = now or datetime.now(UTC)
    signer = WebhookSigner(_new_secret(), old.secret, when + timedelta(hours=grace_hours))
    _write(_path(ws_root), signer, new=False)
    return signer
