"""``outsidein insights``: insights published to departments, and their acknowledgement.

Thin: each command opens the workspace's store, calls one ``outsidein.services.share``
service and prints a Rich table or, with ``--json``, the result's ``to_dict()``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from outsidein.cli._common import (
    JSON_OPTION,
    add_row,
    console,
    print_json,
    show,
    when,
    workspace,
)
from outsidein.errors import DataValidationError

if TYPE_CHECKING:
    pass

insights_app = typer.Typer(help="Insights published to departments, and their acknowledgement.",
                           no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add ``outsidein insights`` to *app*."""
    app.add_typer(insights_app, name="insights")


# -- insights -----------------------------------------------------------------------------

@insights_app.command("list")
def insights_list(
    ctx: typer.Context,
    department: Annotated[str | None, typer.Option("--department", "-d")] = None,
    user: Annotated[str | None, typer.Option(
        "--user", help="only insights for this e-mail")] = None,
    awaiting: Annotated[bool, typer.Option(
        "--awaiting", help="only those awaiting acknowledgement")] = False,
    json_out: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """List current insights, high priority first."""
    from outsidein.services import share  # loaded when the command runs (start-up)
    from outsidein.services.share import user_by_email  # loaded when the command runs (start-up)
    from outsidein.store.db import session_scope  # loaded when the command runs (start-up)
    with session_scope(workspace(ctx).store_url) as s:
        uid = user_by_email(s, user).id if user else None
        rows = share.list_insights(s, department=department, for_user_id=uid,
                                   awaiting_ack_only=awaiting)
    if json_out:
        print_json(rows)
        return
    table = Table("id", "v", "priority", "title", "for", "owner", "ack due")
    for i in rows:
        add_row(table, str(i.id), str(i.version), i.priority, i.title, ", ".join(i.departments),
                      i.owner_email, when(i.due_at))
    console.print(table if rows else "no insights")


@insights_app.command("show")
def insights_show(
    ctx: typer.Context,
    insight_id: Annotated[int, typer.Argument()],
    version: Annotated[int | None, typer.Option("--version", help="an earlier version")] = None,
    json_out: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Show one insight: statement, evidence, versions."""
    from outsidein.services import share  # loaded when the command runs (start-up)
    from outsidein.store.db import session_scope  # loaded when the command runs (start-up)
    with session_scope(workspace(ctx).store_url) as s:
        ins = share.get_insight(s, insight_id, version=version)
        versions = share.list_versions(s, insight_id)
    if json_out:
        print_json({**ins.to_dict(), "versions": [v.to_dict() for v in versions]})
        return
    console.print(f"[bold]#{ins.id} {escape(ins.title)}[/]  (v{ins.version} of "
                  f"{ins.latest_version}, {ins.priority} priority)", highlight=False)
    console.print(ins.statement, highlight=False, markup=False)
    console.print(f"for {', '.join(ins.departments)} · owner {ins.owner_email} · "
                  f"acknowledge by {when(ins.due_at)} UTC · hash {ins.version_hash}",
                  highlight=False, markup=False)
    figures = ins.evidence.get("figures") or {}
    if isinstance(figures, dict) and figures:
        table = Table("figure", "value")
        for k, v in figures.items():
            add_row(table, str(k), str(v))
        console.print(table)
    for key in ("link", "snapshot_id"):
        if ins.evidence.get(key):
            console.print(f"{key}: {ins.evidence[key]}", highlight=False, markup=False)


@insights_app.command("publish")
def insights_publish(
    ctx: typer.Context,
    title: Annotated[str, typer.Option("--title")],
    statement: Annotated[str, typer.Option("--statement")],
    owner: Annotated[str, typer.Option("--owner", help="e-mail of the customer advocate")],
    department: Annotated[list[str], typer.Option("--department", "-d", help="repeat for several")],
    priority: Annotated[str, typer.Option("--priority", help="high, medium or low")] = "high",
    key: Annotated[str | None, typer.Option(
        "--key", help="stable key: republishing versions it")] = None,
    due_days: Annotated[int, typer.Option("--due-days", help="days to acknowledge")] = 7,
    evidence: Annotated[Path | None, typer.Option(
        "--evidence", help="JSON file of evidence")] = None,
    figure: Annotated[list[str] | None, typer.Option(
        "--figure", help="name=value (repeat)")] = None,
    link: Annotated[str | None, typer.Option("--link", help="link to the analysis")] = None,
    json_out: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Publish an insight (or a new version of the one with --key)."""
    from outsidein.services import share  # loaded when the command runs (start-up)
    from outsidein.store.db import session_scope  # loaded when the command runs (start-up)
    ev: dict[str, Any] = {}
    if evidence is not None:
        try:
            ev = json.loads(evidence.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise DataValidationError(f"--evidence {evidence}: cannot read JSON ({exc})") from exc
    for item in figure or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise DataValidationError(f"--figure {item!r}: expected name=value, e.g. churn=0.12")
        try:
            parsed: Any = float(value)
        except ValueError:
            parsed = value
        ev.setdefault("figures", {})[name.strip()] = parsed
    if link:
        ev["link"] = link
    with session_scope(workspace(ctx).store_url) as s:
        ins = share.publish_insight(s, title=title, statement=statement, evidence=ev,
                                    owner_email=owner, departments=department, priority=priority,
                                    source="cli", key=key, due_days=due_days)
    what = "published" if ins.new_version else "unchanged"
    show(ins, json_out, f"{what}: insight #{ins.id} v{ins.version} ({ins.version_hash[:12]})")


@insights_app.command("ack")
def insights_ack(
    ctx: typer.Context,
    insight_id: Annotated[int, typer.Argument()],
    user: Annotated[str, typer.Option("--user", help="e-mail of the person acknowledging")],
    version_hash: Annotated[str | None, typer.Option(
        "--hash", help="version hash read (default: current)")] = None,
    json_out: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Record that a department member read an insight version."""
    from outsidein.services import share  # loaded when the command runs (start-up)
    from outsidein.services.share import user_by_email  # loaded when the command runs (start-up)
    from outsidein.store.db import session_scope  # loaded when the command runs (start-up)
    with session_scope(workspace(ctx).store_url) as s:
        digest = version_hash or share.get_insight(s, insight_id).version_hash
        ack = share.acknowledge(s, insight_id=insight_id, version_hash=digest,
                                user_id=user_by_email(s, user).id)
    show(ack, json_out, f"{ack.user_email} acknowledged insight #{insight_id} v{ack.version} "
         f"at {when(ack.acknowledged_at)} UTC")


@insights_app.command("ack-status")
def insights_ack_status(
    ctx: typer.Context,
    insight_id: Annotated[int, typer.Argument()],
    json_out: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Who has and has not acknowledged the current version, per department."""
    from outsidein.services import share  # loaded when the command runs (start-up)
    from outsidein.store.db import session_scope  # loaded when the command runs (start-up)
    with session_scope(workspace(ctx).store_url) as s:
        st = share.ack_status(s, insight_id)
    if json_out:
        print_json(st)
        return
    console.print(f"#{st.insight_id} {st.title} v{st.version}: {st.acknowledged_count} of "
                  f"{st.expected_count} acknowledged, due {when(st.due_at)} UTC",
                  highlight=False, markup=False)
    table = Table("department", "acknowledged", "not yet", "overdue")
    for d in st.departments:
        add_row(table, d.department, ", ".join(p.email for p in d.acknowledged) or "—",
                      ", ".join(p.email for p in d.pending) or "—",
                      Text("OVERDUE", style="red") if d.overdue else "")
    console.print(table)


@insights_app.command("audit-log")
def insights_audit_log(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="csv or json")] = "csv",
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
) -> None:
    """Export every acknowledgement, action and outcome (who, when, version hash)."""
    from outsidein.services import share  # loaded when the command runs (start-up)
    from outsidein.store.db import session_scope  # loaded when the command runs (start-up)
    with session_scope(workspace(ctx).store_url) as s:
        text = share.export_audit_log(s, fmt=fmt)
    if output:
        output.write_text(text, encoding="utf-8")
        console.print(f"wrote {output}", highlight=False, markup=False)
    else:
        typer.echo(text, nl=False)


# -- Ask, Listen, Learn, Act --------------------------------------------------------------

