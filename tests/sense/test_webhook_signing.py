"""Signed webhooks: a receiver can tell that a message came from the workspace, unaltered,
with any Standard Webhooks library; a rotated secret signs beside the new one for a day."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from standardwebhooks import Webhook, WebhookVerificationError
from typer.testing import CliRunner

from outsidein.cli import app as cli
from outsidein.errors import ConfigError
from outsidein.services.sense.outbox import deliver_due
from outsidein.services.sense.signing import (
    SECRET_FILE,
    rotate_webhook_secret,
    webhook_signer,
)
from outsidein.workspace import Workspace

from .test_outbox import T0, _apply, _minutes_since_t0, ev


def test_every_message_posted_is_signed_and_the_receiver_verifies_it(sqlite_url, receiver,
                                                                     tmp_path: Path) -> None:
    signer = webhook_signer(tmp_path)
    assert _apply(sqlite_url, [ev("e1", "C1", 0, "pricing_view")], "offer_deciding",
                  by="id") == 2
    rep = deliver_due(sqlite_url, {"email": receiver.url}, now=T0 + timedelta(minutes=1),
                      signer=signer)
    assert rep.sent == 1
    post = receiver.posts[0]
    # what the receiver's owner does with the secret `outsidein sense webhook-secret` prints
    assert Webhook(signer.secret).verify(post.raw, post.headers) == post.body
    assert post.headers["webhook-id"] == post.key == post.body["idempotency_key"]
    assert abs(int(post.headers["webhook-timestamp"]) - datetime.now(UTC).timestamp()) < 60
    tampered = post.raw.replace(b'"C1"', b'"C2"')
    assert tampered != post.raw
    with pytest.raises(WebhookVerificationError):
        Webhook(signer.secret).verify(tampered, post.headers)
    (tmp_path / "other").mkdir()
    with pytest.raises(WebhookVerificationError):  # another workspace's secret
        Webhook(webhook_signer(tmp_path / "other").secret).verify(post.raw, post.headers)


def test_the_secret_is_kept_private_and_stays_the_same(tmp_path: Path) -> None:
    first = webhook_signer(tmp_path)
    assert first.secret.startswith("whsec_") and webhook_signer(tmp_path) == first
    assert stat.S_IMODE(os.stat(tmp_path / SECRET_FILE).st_mode) == 0o600
    (tmp_path / SECRET_FILE).write_text("not json")
    with pytest.raises(ConfigError, match="webhook-secret --rotate"):
        webhook_signer(tmp_path)


def test_a_rotated_secret_signs_beside_the_new_one_for_a_day_then_not(tmp_path: Path) -> None:
    old = webhook_signer(tmp_path)
    new = rotate_webhook_secret(tmp_path)
    assert new.secret != old.secret and webhook_signer(tmp_path) == new
    body = b'{"a": 1}'
    h = new.headers("k1", body)
    assert len(h["webhook-signature"].split(" ")) == 2
    for secret in (old.secret, new.secret):  # receivers switch whenever they like
        assert Webhook(secret).verify(body, h) == {"a": 1}
    # a day later the old secret no longer signs
    later = rotate_webhook_secret(tmp_path, now=datetime.now(UTC) - timedelta(hours=25))
    h = later.headers("k2", body)
    assert len(h["webhook-signature"].split(" ")) == 1
    assert Webhook(later.secret).verify(body, h) == {"a": 1}
    with pytest.raises(WebhookVerificationError):
        Webhook(later.previous).verify(body, h)


def test_the_deliver_command_signs_with_the_secret_the_secret_command_prints(
        workspace: Workspace, receiver) -> None:
    runner = CliRunner()
    shown = runner.invoke(cli, ["--workspace", str(workspace.root), "sense", "webhook-secret",
                                "--json"])
    assert shown.exit_code == 0, shown.output
    secret = json.loads(shown.output)["secret"]
    toml = workspace.root / "outsidein.toml"
    toml.write_text(toml.read_text() + f'\n[sense.webhooks]\nemail = "{receiver.url}"\n')
    _apply(workspace.store_url, [ev("e1", "C1", _minutes_since_t0() - 5, "pricing_view")])
    out = runner.invoke(cli, ["--workspace", str(workspace.root), "sense", "deliver", "--once"])
    assert out.exit_code == 0, out.output
    assert receiver.posts, out.output
    for post in receiver.posts:
        assert Webhook(secret).verify(post.raw, post.headers) == post.body
    rotated = runner.invoke(cli, ["--workspace", str(workspace.root), "sense", "webhook-secret",
                                  "--rotate"])
    assert rotated.exit_code == 0 and "previous one also signs until" in rotated.output
    assert secret not in rotated.output
