"""``outsidein alla | needs | alignment | notify``: shared customer truth, CLI.

Thin: each command opens the workspace's store, calls one ``outsidein.services.share`` service and
prints a Rich table or, with ``--json``, the result's ``to_dict()``.
"""

from __future__ import annotations

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
    workspace,
)

if TYPE_CHECKING:
    from outsidein.services import share

alla_app = typer.Typer(help="Ask, Listen, Learn, Act: questions to customers followed to outcomes.",
                       no_args_is_help=True)
needs_app = typer.Typer(help="The register of customer needs, ranked by opportunity.",
                        no_args_is_help=True)
alignment_app = typer.Typer(help="Do plans, messages and training address the top needs?",
                            no_args_is_help=True)
notify_app = typer.Typer(help="Webhook and e-mail notifications; the daily digest.",
                         no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the shared-customer-truth command groups to *app*."""
    app.add_typer(alla_app, name="alla")
    app.add_typer(needs_app, name="needs")
    app.add_typer(alignment_app, name="alignment")
    app.add_typer(notify_app, name="notify")


@alla_app.command("ask")
def alla_ask(ctx: typer.Context, text: Annotated[str, typer.Argument()],
             by: Annotated[str | None, typer.Option("--by", help="e-mail of who asks")] = None,
             audience: Annotated[str, typer.Option("--audience")] = "",
             channel: Annotated[str, typer.Option("--channel")] = "",
             json_out: Annotated[bool, JSON_OPTION] = False) -> None:
    """Ask: record a question put to customers."""
    from outsidein.services import share  # loaded when the command runs (start-up)
    from outsidein.store.db import session_scope  # loaded when the command runs (start-up)
    with session_scope(workspace(ctx).store_url) as s:
        q = share.ask(s, text=text, asked_by_email=by, audience=audience, channel=channel)
    show(q, json_out, f"question #{q.id} recorded")


@alla_app.command("listen")
def alla_listen(ctx: typer.Context, question_id: Annotated[int, typer.Argument()],
                summary: Annotated[str, typer.Argument()],
                source: Annotated[str, typer.Option("--source")] = "",
                json_out: Annotated[bool, JSON_OPTION] = False) -> None:
    """Listen: record what customers said in answer to a question."""
    from outsidein.services import share  # loaded when the command runs (start-up)
    from outsidein.store.db import session_scope  # loaded when the command runs (start-up)
    with session_scope(workspace(ctx).store_url) as s:
        h = share.listen(s, question_id=question_id, summary=summary, source=source)
    show(h, json_out, f"heard #{h.id} recorded for question #{question_id}")


@alla_app.command("learn")
def alla_learn(ctx: typer.Context, question_id: Annotated[int, typer.Argument()],
               insight_id: Annotated[int, typer.Argument()],
               note: Annotated[str, typer.Option("--note")] = "",
               json_out: Annotated[bool, JSON_OPTION] = False) -> None:
    """Learn: link a question to the insight it led to."""
    from outsidein.services import share  # loaded when the command runs (start-up)
    from outsidein.store.db import session_scope  # loaded when the command runs (start-up)
    with session_scope(workspace(ctx).store_url) as s:
        lr = share.learn(s, question_id=question_id, insight_id=insight_id, note=note)
    show(lr, json_out, f"question #{question_id} -> insight #{insight_id} ({lr.insight_title})")


@alla_app.command("act")
def alla_act(
    ctx: typer.Context,
    insight_id: Annotated[int, typer.Argument()],
    title: Annotated[str, typer.Option("--title")],
    owner: Annotated[str, typer.Option("--owner", help="e-mail")],
    department: Annotated[str, typer.Option("--department", "-d")],
    due: Annotated[str, typer.Option("--due", help="YYYY-MM-DD")],
    kpi: Annotated[str, typer.Option("--kpi", help="the KPI it should move")],
    baseline: Annotated[float, typer.Option("--baseline")],
    target: Annotated[float, typer.Option("--target")],
    json_out: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Act: log an action on an insight with the KPI it should move."""
    from outsidein.services import share  # loaded when the command runs (start-up)
    from outsidein.store.db import session_scope  # loaded when the command runs (start-up)
    with session_scope(workspace(ctx).store_url) as s:
        a = share.act(s, insight_id=insight_id, title=title, owner_email=owner,
                      department=department, due=due, kpi=kpi, kpi_baseline=baseline,
                      kpi_target=target)
    show(a, json_out, f"action #{a.id} logged, due {a.due}")


@alla_app.command("outcome")
def alla_outcome(ctx: typer.Context, action_id: Annotated[int, typer.Argument()],
                 kpi_value: Annotated[float, typer.Option("--kpi-value")],
                 measured_at: Annotated[str, typer.Option("--measured-at", help="YYYY-MM-DD")],
                 note: Annotated[str, typer.Option("--note")] = "",
                 json_out: Annotated[bool, JSON_OPTION] = False) -> None:
    """Record the KPI measured after an action (success if it moved toward target)."""
    from outsidein.services import share  # loaded when the command runs (start-up)
    from outsidein.store.db import session_scope  # loaded when the command runs (start-up)
    with session_scope(workspace(ctx).store_url) as s:
        o = share.record_outcome(s, action_id=action_id, kpi_value=kpi_value,
                                 measured_at=measured_at, note=note)
    show(o, json_out, f"action #{action_id}: {'success' if o.success else 'failure'}")


@alla_app.command("board")
def alla_board_cmd(ctx: typer.Context, json_out: Annotated[bool, JSON_OPTION] = False) -> None:
    """Every question followed to actions, with successes, failures, open and overdue."""
    from outsidein.services import share  # loaded when the command runs (start-up)
    from outsidein.store.db import session_scope  # loaded when the command runs (start-up)
    with session_scope(workspace(ctx).store_url) as s:
        board = share.alla_board(s)
    if json_out:
        print_json(board)
        return
    console.print(f"{board.questions} questions · {board.actions} actions: {board.successes} "
                  f"succeeded, {board.failures} failed, {board.open} open, {board.overdue} overdue",
                  highlight=False)
    table = Table("question", "insights", "action", "due", "status")
    for chain in board.chains:
        q = chain.question.text if chain.question else "(from analyses)"
        ins = ", ".join(f"#{ln.insight_id}" for ln in chain.learnings)
        for a in chain.actions or [None]:
            add_row(table, q, ins, a.title if a else "—", str(a.due) if a else "",
                          a.status if a else "")
    console.print(table)


# -- needs --------------------------------------------------------------------------------

@needs_app.command("add")
def needs_add(
    ctx: typer.Context,
    title: Annotated[str, typer.Argument()],
    importance: Annotated[float, typer.Option("--importance", help="0-10")],
    satisfaction: Annotated[float, typer.Option("--satisfaction", help="0-10")],
    code: Annotated[str | None, typer.Option("--code", help="default: next N<number>")] = None,
    description: Annotated[str, typer.Option("--description")] = "",
    complaints: Annotated[int | None, typer.Option("--complaints")] = None,
    interactions: Annotated[int | None, typer.Option("--interactions")] = None,
    note: Annotated[list[str] | None, typer.Option("--note", help="advocate note (repeat)")] = None,
    answer: Annotated[list[str] | None, typer.Option(
        "--answer", help="survey answer (repeat)")] = None,
    json_out: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Add a customer need with its evidence."""
    from outsidein.services import share  # loaded when the command runs (start-up)
    from outsidein.store.db import session_scope  # loaded when the command runs (start-up)
    evidence: dict[str, Any] = {}
    if complaints is not None:
        evidence["complaints"] = complaints
    if interactions is not None:
        evidence["interactions"] = interactions
    if note:
        evidence["advocate_notes"] = list(note)
    if answer:
        evidence["survey_answers"] = list(answer)
    with session_scope(workspace(ctx).store_url) as s:
        need = share.add_need(s, code=code, title=title, importance=importance,
                              satisfaction=satisfaction, description=description,
                              evidence=evidence)
    show(need, json_out, f"added need {need.code} (opportunity {need.opportunity:g})")


@needs_app.command("update")
def needs_update(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument()],
    importance: Annotated[float | None, typer.Option("--importance")] = None,
    satisfaction: Annotated[float | None, typer.Option("--satisfaction")] = None,
    title: Annotated[str | None, typer.Option("--title")] = None,
    json_out: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Revise a need's scores or title."""
    from outsidein.services import share  # loaded when the command runs (start-up)
    from outsidein.store.db import session_scope  # loaded when the command runs (start-up)
    with session_scope(workspace(ctx).store_url) as s:
        need = share.update_need(s, code, importance=importance, satisfaction=satisfaction,
                                 title=title)
    show(need, json_out, f"updated need {need.code} (opportunity {need.opportunity:g})")


@needs_app.command("list")
def needs_list(ctx: typer.Context,
               top: Annotated[int | None, typer.Option("--top", help="only the first N")] = None,
               json_out: Annotated[bool, JSON_OPTION] = False) -> None:
    """The needs ranked by opportunity = importance + max(importance - satisfaction, 0)."""
    from outsidein.services import share  # loaded when the command runs (start-up)
    from outsidein.store.db import session_scope  # loaded when the command runs (start-up)
    with session_scope(workspace(ctx).store_url) as s:
        needs = share.ranked_needs(s, top=top)
    if json_out:
        print_json(needs)
        return
    table = Table("rank", "code", "need", "importance", "satisfaction", "opportunity")
    for rank, n in enumerate(needs, start=1):
        add_row(table, str(rank), n.code, n.title, f"{n.importance:.1f}", f"{n.satisfaction:.1f}",
                      f"{n.opportunity:.1f}")
    console.print(table if needs else "the needs register is empty ('outsidein needs add')")


# -- alignment ----------------------------------------------------------------------------

@alignment_app.command("import")
def alignment_import(ctx: typer.Context, file: Annotated[Path, typer.Argument()],
                     json_out: Annotated[bool, JSON_OPTION] = False) -> None:
    """Import plans, messages and training items (CSV: kind,title,owner,needs)."""
    from outsidein.services import share  # loaded when the command runs (start-up)
    from outsidein.store.db import session_scope  # loaded when the command runs (start-up)
    with session_scope(workspace(ctx).store_url) as s:
        res = share.import_items_csv(s, file)
    show(res, json_out, f"imported {file.name}: {res.created} new, {res.updated} updated")


@alignment_app.command("review")
def alignment_review_cmd(
    ctx: typer.Context,
    top: Annotated[int, typer.Option("--top", help="how many top needs")] = 10,
    html: Annotated[Path | None, typer.Option("--html", help="write the page here")] = None,
    pdf: Annotated[Path | None, typer.Option("--pdf", help="print the page to PDF here")] = None,
    json_out: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """The top needs against product plans, marketing messages and sales training."""
    from outsidein.services import share  # loaded when the command runs (start-up)
    from outsidein.store.db import session_scope  # loaded when the command runs (start-up)
    with session_scope(workspace(ctx).store_url) as s:
        review = share.alignment_review(s, top=top)
    if html:
        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(review.to_html(), encoding="utf-8")
    if pdf:
        review.to_pdf(pdf)
    if json_out:
        print_json(review)
        return
    console.print(review.summary, highlight=False, markup=False)
    table = Table("#", "need", "opportunity", *share.alignment.FUNCTIONS.values())
    style = {"addressed": "green", "partly": "yellow", "missed": "red"}
    for r in review.rows:
        add_row(table, str(r.rank), f"{r.need.code} {r.need.title}", f"{r.need.opportunity:.1f}",
                      *(Text(c.status, style=style[c.status]) for c in r.cells))
    console.print(table)
    for path in (html, pdf):
        if path:
            console.print(f"wrote {path}", highlight=False, markup=False)


# -- notify -------------------------------------------------------------------------------

def _settings(ctx: typer.Context, webhook_url: str | None, smtp_host: str | None,
              smtp_port: int | None, smtp_from: str | None) -> share.NotifySettings:
    from outsidein.services import share  # loaded when the command runs (start-up)
    ws = workspace(ctx)
    base = share.notify_settings(ws.config.extra)
    smtp = base.smtp
    if smtp_host:
        sender = smtp_from or (smtp.sender if smtp else "outsidein@localhost")
        smtp = share.SmtpSettings(host=smtp_host, port=smtp_port or 25, sender=sender)
    return share.NotifySettings(webhook_url=webhook_url or base.webhook_url, smtp=smtp)


WEBHOOK = typer.Option("--webhook-url", help="overrides webhook_url of the notify section")
SMTP_HOST = typer.Option("--smtp-host", help="overrides smtp_host of the notify section")
SMTP_PORT = typer.Option("--smtp-port")
SMTP_FROM = typer.Option("--smtp-from")


@notify_app.command("deliver")
def notify_deliver(
    ctx: typer.Context,
    webhook_url: Annotated[str | None, WEBHOOK] = None,
    smtp_host: Annotated[str | None, SMTP_HOST] = None,
    smtp_port: Annotated[int | None, SMTP_PORT] = None,
    smtp_from: Annotated[str | None, SMTP_FROM] = None,
    json_out: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Queue overdue-acknowledgement and action-due notices, then send the outbox."""
    from outsidein.services import share  # loaded when the command runs (start-up)
    from outsidein.store.db import session_scope  # loaded when the command runs (start-up)
    cfg = _settings(ctx, webhook_url, smtp_host, smtp_port, smtp_from)
    with session_scope(workspace(ctx).store_url) as s:
        share.enqueue_due_events(s)
        report = share.deliver_outbox(s, webhook_url=cfg.webhook_url, smtp=cfg.smtp)
    show(report, json_out, f"sent {report.sent}, still pending {report.pending}, failed "
         f"{report.failed}, skipped {report.skipped}")


@notify_app.command("digest")
def notify_digest(
    ctx: typer.Context,
    user: Annotated[str | None, typer.Option("--user", help="the digest of this e-mail")] = None,
    send: Annotated[bool, typer.Option("--send", help="send today's digests")] = False,
    webhook_url: Annotated[str | None, WEBHOOK] = None,
    smtp_host: Annotated[str | None, SMTP_HOST] = None,
    smtp_port: Annotated[int | None, SMTP_PORT] = None,
    smtp_from: Annotated[str | None, SMTP_FROM] = None,
    json_out: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Show the daily digest (company-wide or for --user); --send delivers it."""
    from outsidein.services import share  # loaded when the command runs (start-up)
    from outsidein.services.share import user_by_email  # loaded when the command runs (start-up)
    from outsidein.store.db import session_scope  # loaded when the command runs (start-up)
    cfg = _settings(ctx, webhook_url, smtp_host, smtp_port, smtp_from) if send else None
    with session_scope(workspace(ctx).store_url) as s:
        uid = user_by_email(s, user).id if user else None
        digest = share.daily_digest(s, for_user_id=uid)
        report = share.send_digest(s, webhook_url=cfg.webhook_url, smtp=cfg.smtp) if cfg else None
    if json_out:
        print_json({"digest": digest.to_dict(), "delivery": report.to_dict() if report else None})
        return
    console.print(f"[bold]{escape(digest.subject)}[/]", highlight=False)
    console.print(digest.to_text(), highlight=False, markup=False)
    if report:
        console.print(f"sent {report.sent}, pending {report.pending}, failed {report.failed}",
                      highlight=False)


@notify_app.command("outbox")
def notify_outbox(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(
        "--status", help="pending, sent, failed or skipped")] = None,
    json_out: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Messages in the outbox with their delivery status and last error."""
    from outsidein.services import share  # loaded when the command runs (start-up)
    from outsidein.store.db import session_scope  # loaded when the command runs (start-up)
    with session_scope(workspace(ctx).store_url) as s:
        rows = share.list_outbox(s, status=status)
    if json_out:
        print_json(rows)
        return
    table = Table("id", "event", "subject", "status", "tries", "last error")
    for e in rows:
        add_row(table, str(e.id), e.event, e.subject, e.status, str(e.attempts), e.last_error)
    console.print(table if rows else "the outbox is empty")
