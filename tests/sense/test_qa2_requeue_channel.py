"""``sense requeue --channel`` with a name that is not a channel (a typo, a capital) says so
instead of re-queuing nothing and reporting "0 failed messages" while they stay failed."""

from __future__ import annotations

from datetime import timedelta

from typer.testing import CliRunner

from outsidein.cli import app as cli
from outsidein.services.sense.outbox import deliver_due
from outsidein.workspace import Workspace

from .test_outbox import T0, _apply, _rows, ev


def test_a_mistyped_channel_is_named_and_the_failed_message_stays_for_a_correct_one(
        workspace: Workspace, receiver) -> None:
    url = workspace.store_url
    _apply(url, [ev("e1", "C1", 0, "pricing_view")])
    receiver.script = [404]
    deliver_due(url, {"email": receiver.url}, now=T0 + timedelta(minutes=1))
    runner = CliRunner()
    base = ["--workspace", str(workspace.root), "sense", "requeue", "--max-age-hours", "1e6"]
    out = runner.invoke(cli, [*base, "--channel", "Email"])
    assert out.exit_code != 0
    said = " ".join((str(out.exception) + out.output).split())  # the CLI's one red line
    assert "'Email' is not a channel" in said and "expected one of" in said
    assert [r.status for r in _rows(url)] == ["failed"]
    out = runner.invoke(cli, [*base, "--channel", "email"])
    assert out.exit_code == 0, out.output
    assert [r.status for r in _rows(url)] == ["pending"]
