"""``outsidein sense replay``: the interaction history through the sense-and-respond engine.

Thin: it calls :mod:`outsidein.services.sense` and prints a Rich table, or plain values with
``--json``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as StillRunning
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from outsidein.cli._common import JSON_OPTION, console, print_json, progress, workspace
from outsidein.errors import WorkspaceNotFoundError

sense_app = typer.Typer(help="Sense and respond: buying stages from interactions, decisions.",
                        no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add ``outsidein sense`` to *app*."""
    app.add_typer(sense_app, name="sense")


@sense_app.command("replay")
def replay_cmd(
    ctx: typer.Context,
    limit: Annotated[int | None, typer.Option(
        min=1, help="replay at most this many interactions (the oldest)")] = None,
    last_days: Annotated[float | None, typer.Option(
        "--last-days", min=1, help="replay only the last this many days of the history")] = None,
    orders: Annotated[bool, typer.Option(
        "--orders", help="replay the order lines instead, one checkout per order (for a "
                         "history of orders only: senses purchased, loyal, at risk, lapsed)")
    ] = False,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Run the warehouse's interactions, oldest first, through the engine the events API uses.

    It fills each customer's journey (stage, clues, decisions).  Each interaction is applied
    once: a second replay applies only rows loaded since.  After a partial replay (the demo
    replays its last 60 days), a customer with older rows is rebuilt from the start of
    their history, in time order, as one full replay would.  Where the warehouse holds the
    stages the interactions came from (the demo's truth_stages), it reports how often the
    sensed stage agrees.
    """
    # loaded when the command runs (start-up)
    from outsidein.services.sense.replay import replay_interactions

    ws = workspace(ctx)
    try:
        with progress(enabled=not as_json) as bar:
            report = replay_interactions(ws, limit=limit, last_days=last_days, progress=bar,
                                         orders=orders)
    finally:
        ws.close()
    if as_json:
        print_json(report.to_dict())
        return
    rate = report.events_read / report.seconds if report.seconds else 0.0
    what = "orders" if orders else "interactions"
    console.print(f"{report.events_read:,} {what} read, {report.applied:,} applied, "
                  f"{report.duplicates:,} applied before; {report.customers:,} customers "
                  f"({report.seconds:.1f} s, {rate:,.0f} a second)", highlight=False)
    if report.applied:
        _stage_table(f"customers' stage at each of their {what}", what, report.stages)
        if report.stages_at_end:
            _stage_table("customers by their stage at the end of the history "
                         f"({(report.history_end or '')[:10]})", "customers",
                         report.stages_at_end)
    else:
        table_name = "order_lines" if orders else "interactions"
        console.print(f"nothing new to replay: every one of the {what} read had been applied "
                      f"before (load new ones with 'outsidein load {table_name} FILE')",
                      highlight=False)
    if report.stage_accuracy is not None:
        console.print(f"sensed stage agrees with the known stage for "
                      f"{report.stage_accuracy:.1%} of {report.compared:,} interactions",
                      highlight=False)
    for note in report.notes:
        console.print(f"note: {note}", highlight=False)


def _stage_table(title: str, counted: str, counts: dict[str, int]) -> None:
    table = Table(title=title)
    table.add_column("stage")
    table.add_column(counted, justify="right")
    for stage, n in counts.items():
        table.add_row(stage.replace("_", " "), f"{n:,}")
    console.print(table)


@sense_app.command("simulate")
def simulate_cmd(
    ctx: typer.Context,
    seed: Annotated[int, typer.Option(help="seeds the market, the model fit and the bandit")] = 21,
    customers: Annotated[int, typer.Option(min=100, help="simulated customers")] = 3000,
    weeks: Annotated[int, typer.Option(min=4, help="simulated weeks")] = 40,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Compare sense and respond with pushing, with no message and with an all-knowing oracle.

    The same synthetic customers (they move through the buying stages and answer messages
    with known chances, tire of them and opt out) meet four policies.  Prints each policy's
    conversions, revenue, messages and opt-outs, the share of the oracle's gain that sense and
    respond reaches, and how often it sensed the right stage (against the best possible).
    The result is kept in the workspace (results/sense_simulation.json) for the Sense &
    respond page and the report, when there is a workspace.
    """
    # loaded when the command runs (start-up)
    from outsidein.services.sense.analysis import (
        POLICY_LABELS,
        run_simulation,
        save_simulation,
        share_words,
    )

    with ThreadPoolExecutor(max_workers=1) as pool:
        job = pool.submit(run_simulation, seed, customers, weeks)
        try:
            result = job.result(timeout=1.0)
        except StillRunning:  # a bar only when it takes more than a second
            with progress(enabled=not as_json) as bar:
                bar.add_task(f"simulating {customers:,} customers over {weeks} weeks",
                             total=None)
                result = job.result()
    try:
        ws = workspace(ctx)
    except WorkspaceNotFoundError:
        saved = None
    else:
        try:
            saved = save_simulation(ws, result)
        finally:
            ws.close()
    if as_json:
        print_json({**result, "saved_to": str(saved) if saved else None})
        return
    table = Table(title=f"{customers:,} simulated customers over {weeks} weeks (seed {seed})")
    for col in ("policy", "conversions", "revenue", "messages sent", "opt-outs"):
        table.add_column(col, justify="left" if col == "policy" else "right")
    for name, label in POLICY_LABELS.items():
        p = result["policies"][name]
        table.add_row(label, f"{p['conversions']:,}", f"{p['revenue']:,.0f}",
                      f"{p['messages']:,}", f"{p['opt_outs']:,}")
    console.print(table)
    share, caveat = share_words(result)
    console.print(
        f"Sense and respond reaches {share} of the extra conversions an oracle that knows "
        "every customer's true stage gets over sending nothing. It sensed the right stage "
        f"{result['stage_accuracy']:.1%} of the time; the best possible from the same clues "
        f"is {result['bayes_limit_accuracy']:.1%}.", highlight=False)
    if caveat:
        console.print(f"[bold]{caveat[0].upper() + caveat[1:]}.[/]", highlight=False)
    if saved:
        console.print(f"kept in {saved} (the Sense & respond page and the report show it)",
                      highlight=False)


@sense_app.command("evaluate")
def evaluate_cmd(
    ctx: typer.Context,
    policy: Annotated[str, typer.Option(
        help="the candidate: none, uniform, greedy, or always:NAME (a message)")] = "greedy",
    bootstrap: Annotated[int, typer.Option(min=100, help="bootstrap resamples")] = 1000,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """What a candidate policy would have earned, estimated from the engine's decision log.

    Each arbitrated decision is a round (its message or the control group, and the
    probability it was chosen with); its reward is a click or a purchase within the
    attribution window. The candidate is scored by IPW, self-normalised IPW, the direct
    method and doubly robust estimators, each with a bootstrap 95% interval, next to what
    the engine's own choices earned and what the control group did.
    """
    # loaded when the command runs (start-up)
    from outsidein.services.sense.evaluate import ESTIMATOR_NAMES, evaluate_policy

    ws = workspace(ctx)
    try:
        result = evaluate_policy(ws, policy, n_bootstrap=bootstrap)
    finally:
        ws.close()
    if as_json:
        print_json(result.to_dict())
        return
    table = Table(title=f"policy '{policy}' on {result.rounds:,} logged decisions "
                        "(response rate per decision)")
    for col in ("estimator", "estimate", "95% interval"):
        table.add_column(col, justify="left" if col == "estimator" else "right")
    for key, v in result.estimates.items():
        table.add_row(ESTIMATOR_NAMES[key], f"{v.estimate:.2%}",
                      f"{v.ci_low:.2%} to {v.ci_high:.2%}")
    console.print(table)
    console.print(f"The engine's own choices earned {result.logged_value:.2%} per decision.",
                  highlight=False)
    lift = result.lift
    if lift.missing or lift.lift is None:
        console.print(f"Against the control group: {lift.missing}.", highlight=False)
    else:  # per customer, from each one's first decision: rounds are no fair base here
        console.print(
            f"Against the control group, per customer: {lift.treated_rate:.1%} of "
            f"{lift.treated:,} messaged customers clicked or bought within the window after "
            f"their first message, {lift.control_rate:.1%} of {lift.control:,} held out; "
            f"lift {lift.lift:+.1%} (95% interval {lift.low:+.1%} to {lift.high:+.1%}).",
            highlight=False)
    for line in result.cautions:
        console.print(f"[yellow]Caution:[/] {line}.", highlight=False)


@sense_app.command("stage-model")
def stage_model_cmd(
    ctx: typer.Context,
    labels: Annotated[str, typer.Option(
        help="warehouse table of labelled interactions (customer_id, ts, channel, type, "
             "stage)")] = "truth_stages",
    max_customers: Annotated[int | None, typer.Option(
        min=2, help="use at most this many customers (chosen at random)")] = None,
    save: Annotated[bool, typer.Option(
        "--save", help="then fit the classifier on every labelled customer and save it in "
                       "the workspace, for stage_model = \"classifier\" in the [sense] "
                       "section of outsidein.toml".replace("[", "\\["))] = False,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Compare the decayed-evidence scorer with a classifier that learned the stages.

    Half of the labelled customers train a gradient-boosted classifier on their histories;
    on the other half both sense every interaction's stage from the past alone and are
    compared with the label. The classifier's accuracy is the ceiling a filter reaches
    from these clues; the scorer's share of it says how close the transparent default is.
    With --save, the classifier is then fitted on all the labels and saved; then
    stage_model = "classifier" in the sense section of outsidein.toml makes it live.
    """
    # loaded when the command runs (start-up)
    from outsidein.services.sense.stage_model import compare_stage_models, save_stage_classifier

    ws = workspace(ctx)
    saved = None
    try:
        report = compare_stage_models(ws, labels=labels, max_customers=max_customers)
        if save:
            saved = save_stage_classifier(ws, labels=labels, report=report)
    finally:
        ws.close()
    if as_json:
        print_json({**report.to_dict(), "saved": str(saved) if saved else None})
        return
    console.print(
        f"On {report.interactions_tested:,} interactions of {report.customers_tested:,} "
        f"customers neither model saw: the classifier trained on the labels of "
        f"{report.customers_trained:,} others finds the stage {report.classifier_accuracy:.1%} "
        f"of the time, the decayed-evidence scorer {report.scorer_accuracy:.1%} "
        f"({report.share_of_ceiling:.0%} of the classifier; always guessing the commonest "
        f"stage: {report.majority_accuracy:.1%}).", highlight=False)
    if saved is not None:
        console.print(f"Saved the classifier (fitted on every labelled customer) to {saved}. "
                      "To sense stages with it, set [sense] stage_model = \"classifier\" in "
                      "outsidein.toml.", highlight=False, markup=False)


@sense_app.command("sweep")
def sweep_cmd(ctx: typer.Context, as_json: Annotated[bool, JSON_OPTION] = False) -> None:
    """Score as ignored the messages of customers silent past the attribution window, and
    sense the stages that changed by silence (a purchase fades, at risk, lapsed).

    A message's outcome is normally scored at the customer's next event; this scores those
    of customers who never came back. A stage changed by silence is applied as a silence
    event as of the newest event's time, with its decision (an at-risk customer gets a
    retention message). The web app's event writer does both every minute; run this where
    events arrive only through replays, or from cron.
    """
    # loaded when the command runs (start-up)
    from outsidein.services.sense.respond import sweep_workspace
    from outsidein.services.sense.silence import sweep_silence_workspace  # start-up, too

    ws = workspace(ctx)
    try:
        swept = sweep_workspace(ws)
        with progress(enabled=not as_json) as bar:
            silent = sweep_silence_workspace(ws, progress=bar)
    finally:
        ws.close()
    if as_json:
        print_json({"customers_swept": swept, "silence": silent.to_dict()})
    else:
        console.print(f"{swept:,} customers' unanswered messages scored as ignored; "
                      f"{silent.changed:,} customers changed stage by silence "
                      f"({silent.events:,} silence events, as of {silent.as_of})",
                      highlight=False)


@sense_app.command("deliver")
def deliver_cmd(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option(
        "--once", help="send what is due now, then stop")] = False,
    seconds: Annotated[float | None, typer.Option(
        min=0.0, help="run for this many seconds (default: until stopped with Ctrl+C)")] = None,
    batch: Annotated[int, typer.Option(min=1, help="messages claimed at a time")] = 100,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Send the messages that are due from the outbox to each channel's webhook.

    Webhooks are set per channel in outsidein.toml, in the section sense.webhooks (e.g.
    email = "https://..."). Each message is posted as JSON with an Idempotency-Key header and
    signed (Standard Webhooks headers webhook-id, webhook-timestamp, webhook-signature; the
    secret: 'outsidein sense webhook-secret'); failed tries are retried later with growing
    waits. A message may reach a receiver twice after a crash, always with the same key:
    receivers skip keys they have seen.
    """
    # loaded when the command runs (start-up)
    from outsidein.services.sense.outbox import (
        DeliverReport,
        DeliveryPolicy,
        deliver_loop,
        unroutable,
        webhooks_from_config,
    )
    from outsidein.services.sense.signing import webhook_signer  # as above

    ws = workspace(ctx)
    try:
        section = ws.config.extra.get("sense") or {}
        hooks = webhooks_from_config(section.get("webhooks"))
        policy = DeliveryPolicy.from_settings(section)
        url = ws.store_url
        signer = webhook_signer(ws.root)
    finally:
        ws.close()
    if not hooks and not as_json:
        console.print("no webhooks set: add [sense.webhooks] to outsidein.toml (channel = URL)",
                      highlight=False, markup=False)

    def show_pass(rep: DeliverReport) -> None:
        if not as_json:
            console.print(f"sent {rep.sent:,}, to retry {rep.retrying:,}, "
                          f"failed {rep.failed:,}", highlight=False)

    try:
        total = deliver_loop(url, hooks, once=once or (seconds is None and not hooks),
                             seconds=seconds, batch=batch, on_pass=show_pass, signer=signer,
                             policy=policy)
    except KeyboardInterrupt:
        return
    waiting = unroutable(url, hooks)
    if as_json:
        print_json({**total.to_dict(), "waiting_without_webhook": waiting})
        return
    table = Table(title="outbox delivery")
    counts = total.to_dict()
    for col in counts:
        table.add_column(col.replace("retrying", "to retry"), justify="right")
    table.add_row(*(f"{v:,}" for v in counts.values()))
    console.print(table)
    for channel, n in waiting.items():
        console.print(f"{n:,} {channel} messages wait: no webhook for {channel} in "
                      "[sense.webhooks]", highlight=False, markup=False)


@sense_app.command("requeue")
def requeue_cmd(
    ctx: typer.Context,
    channel: Annotated[list[str] | None, typer.Option(
        help="only this channel's messages (repeat for several)")] = None,
    max_age_hours: Annotated[float, typer.Option(
        min=0.0, help="only messages due within this many hours; older ones stay failed")
    ] = 24.0,
    held: Annotated[bool, typer.Option(
        "--held", help="the held messages too (once the \\[sense] setting they need is set)")
    ] = False,
    expired: Annotated[bool, typer.Option(
        "--expired", help="the messages cancelled as too late (message_expiry_hours) too: "
                          "the backlog of a stopped deliverer, sent after all")] = False,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Put the messages that failed back in the outbox, once the cause is mended.

    A message fails for good when its webhook refuses it (a mistyped URL's 404, say) or after
    the last try. Correct the webhook in outsidein.toml, then run this: the failed messages
    due within the last --max-age-hours (24) are due again now, with the same idempotency
    key, for the next 'outsidein sense deliver'. A message an event has cancelled meanwhile
    (a checkout after a cart reminder) is cancelled instead; older ones stay failed. With
    --held, the messages held for a missing \\[sense] setting (brand, unsubscribe_url) too;
    with --expired, those cancelled as too late (widen --max-age-hours to reach them).
    """
    # loaded when the command runs (start-up)
    from outsidein.services.sense.requeue import failed_count, requeue_failed

    ws = workspace(ctx)
    try:
        url, settings = ws.store_url, dict(ws.config.extra.get("sense") or {})
    finally:
        ws.close()
    rep = requeue_failed(url, channels=channel or None, max_age_hours=max_age_hours, held=held,
                         settings=settings, expired=expired)
    left = failed_count(url, held=held, expired=expired)
    if as_json:
        print_json({**rep.to_dict(), "still_failed": left})
        return
    kinds = "/".join(["failed", *(["held"] if held else []), *(["expired"] if expired else [])])
    console.print(f"{_messages(rep.requeued)} ({kinds}) due again now; {rep.cancelled:,} "
                  f"cancelled by what the customer did meanwhile; {rep.too_old:,} due more "
                  f"than {max_age_hours:g} hours ago, left as they were.", highlight=False)
    if rep.requeued:
        console.print("next: 'outsidein sense deliver --once' sends them", highlight=False)
    if left:
        console.print(f"{_messages(left)} ({kinds}) are left (widen --max-age-hours to take "
                      "older ones)", highlight=False)


def _messages(n: int) -> str:
    return f"{n:,} message" + ("" if n == 1 else "s")


@sense_app.command("webhook-secret")
def webhook_secret_cmd(
    ctx: typer.Context,
    rotate: Annotated[bool, typer.Option(
        "--rotate", help="make a new secret; the old one keeps signing too for 24 hours")] = False,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Print the secret that signs every webhook message (for the receivers' owners).

    Each message 'outsidein sense deliver' posts carries the Standard Webhooks headers
    webhook-id, webhook-timestamp and webhook-signature. A receiver checks them with any
    Standard Webhooks library and this secret, e.g. in Python:
    standardwebhooks.Webhook(secret).verify(body, headers). After --rotate, messages carry
    both signatures for 24 hours, so receivers can switch secrets without a gap.
    """
    # loaded when the command runs (start-up)
    from outsidein.services.sense.signing import rotate_webhook_secret, webhook_signer

    ws = workspace(ctx)
    try:
        signer = rotate_webhook_secret(ws.root) if rotate else webhook_signer(ws.root)
    finally:
        ws.close()
    until = signer.previous_until.isoformat(timespec="seconds") if signer.previous_until else None
    if as_json:
        print_json({"secret": signer.secret, "previous_signs_until": until,
                    "headers": ["webhook-id", "webhook-timestamp", "webhook-signature"],
                    "scheme": "Standard Webhooks v1 (HMAC-SHA256)"})
        return
    console.print(signer.secret, highlight=False, markup=False)
    if rotate:
        console.print(f"new secret; the previous one also signs until {until} (UTC), so "
                      "receivers can switch to the new one meanwhile", highlight=False)
    console.print("receivers verify webhook-id, webhook-timestamp and webhook-signature with a "
                  "Standard Webhooks library and this secret (keep it secret)",
                  highlight=False)


@sense_app.command("catalogue")
def catalogue_cmd(
    ctx: typer.Context,
    file: Annotated[Path | None, typer.Argument(
        help="a catalogue file (.toml, .yaml or .yml) to check; default: the workspace's, "
             "with its [sense] settings")] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Check an action catalogue and list its messages and timing rules.

    Run it after each edit: a mistake is one line naming the file, line, field and problem
    (exit code 2), so a catalogue is corrected without starting the server, which refuses
    a bad one.
    """
    # loaded when the command runs (start-up)
    from outsidein.services.sense.catalogue import catalogue_path, load_catalogue
    from outsidein.services.sense.respond import Responder  # as above

    if file is None:  # the workspace's catalogue and every [sense] setting, as serve checks
        ws = workspace(ctx)
        try:
            Responder.for_workspace(ws.root, ws.config.extra)
            file = catalogue_path(ws.config.extra.get("sense"), ws.root)
        finally:
            ws.close()
    cat = load_catalogue(file)
    where = str(file) if file is not None else "the catalogue shipped with Outside-In"
    if as_json:
        print_json({"file": where, "actions": [
            {"name": e.name, "need": e.need, "channels": list(e.channels),
             "stages": list(e.stages), "value": e.value, "weight": e.weight}
            for e in cat.entries], "timing": [r.name for r in cat.timing]})
        return
    n, k = len(cat.entries), len(cat.timing)
    table = Table(title=f"{where}: {n} message{'s' * (n != 1)}, {k} timing "
                        f"rule{'s' * (k != 1)}")
    for col in ("message", "need", "channels", "stages", "value x weight"):
        table.add_column(col)
    for e in cat.entries:
        table.add_row(e.name, e.need, ", ".join(e.channels),
                      ", ".join(e.stages) or "any", f"{e.value:g} x {e.weight:g}")
    console.print(table)
