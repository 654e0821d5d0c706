"""``outsidein culture ...``: the market-culture survey, its waves, scores and benchmark.

Thin: each command calls :mod:`outsidein.services.culture` and prints a Rich table, or plain
values with ``--json``.  Commands live in this module or in a ``cli/culture_*.py`` module
whose ``register(culture_app)`` is called below.

A wave from start to end::

    outsidein culture org add Acme --industry retail --size 420
    outsidein culture org department Acme Sales --headcount 40
    outsidein culture org role Acme manager
    outsidein culture wave open 2026-spring
    outsidein culture invite 2026-spring Acme --count 40 > links.csv
    outsidein culture wave rates 2026-spring
    outsidein culture reminders 2026-spring
    outsidein culture close 2026-spring
    outsidein culture report --wave 2026-spring --json
    outsidein culture kpi-links --json      # scores against the customer KPIs afterwards
"""

from __future__ import annotations

import csv
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from outsidein.cli import culture_links
from outsidein.cli._common import JSON_OPTION, console, print_json, workspace
from outsidein.errors import WorkspaceNotFoundError

__all__ = ["culture_app", "register"]

culture_app = typer.Typer(
    help="Market culture: the survey, its waves, reliability, validity and the benchmark.",
    no_args_is_help=True)
org_app = typer.Typer(help="Organisations surveyed, their departments and roles.",
                      no_args_is_help=True)
wave_app = typer.Typer(help="Survey waves: open, list, response rates.", no_args_is_help=True)
culture_app.add_typer(org_app, name="org")
culture_app.add_typer(wave_app, name="wave")

BASE_URL = typer.Option("--base-url", help="where people reach 'outsidein serve' (default: "
                        "[culture] base_url in outsidein.toml, else http://127.0.0.1:8000)")


def register(app: typer.Typer) -> None:
    """Add ``outsidein culture`` to *app*."""
    app.add_typer(culture_app, name="culture")


def _instrument(ctx: typer.Context, file: Path | None) -> Any:
    # loaded when the command runs (start-up)
    from outsidein.services.culture.instrument import instrument_path, load_instrument

    if file is not None:
        return load_instrument(file)
    try:
        ws = workspace(ctx)
    except WorkspaceNotFoundError:
        return load_instrument()
    ws.close()
    return load_instrument(instrument_path(ws.config.extra.get("culture"), ws.root))


@culture_app.command("instrument")
def instrument_cmd(
    ctx: typer.Context,
    file: Annotated[Path | None, typer.Option(
        "--file", help="a consultant's own instrument file (default: the workspace's "
        "[culture] instrument, else the one shipped)")] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """List the survey's items: id, component, text, scale and whether reverse-keyed."""
    inst = _instrument(ctx, file)
    if as_json:
        print_json(inst.to_dict())
        return
    table = Table(title=f"{inst.name} (version {inst.version}, {len(inst.items)} items)")
    for col in ("id", "component", "text", "scale", "reverse"):
        table.add_column(col)
    for it in inst.items:
        table.add_row(it.id, it.component.replace("_", " "), it.text,
                      f"{it.scale_min}-{it.scale_max}", "yes" if it.reverse else "")
    console.print(table)


def _store(ctx: typer.Context) -> tuple[Any, str]:
    ws = workspace(ctx)
    ws.close()
    return ws, ws.store_url


@org_app.command("add")
def org_add_cmd(
    ctx: typer.Context, name: str,
    industry: Annotated[str | None, typer.Option(help="for the benchmark's cuts")] = None,
    size: Annotated[int | None, typer.Option(min=1, help="number of employees")] = None,
) -> None:
    """Add an organisation to survey."""
    from outsidein.services.culture.waves import add_org  # loaded when run (start-up)
    from outsidein.store.db import session_scope  # loaded when run (start-up)

    _, url = _store(ctx)
    with session_scope(url) as s:
        org = add_org(s, name, industry=industry, size=size)
        console.print(f"organisation {org.name} added", highlight=False, markup=False)


@org_app.command("department")
def org_department_cmd(
    ctx: typer.Context, org: str, name: str,
    headcount: Annotated[int | None, typer.Option(
        min=1, help="people in it (for its response rate)")] = None,
) -> None:
    """Add a department to an organisation (or set its headcount)."""
    from outsidein.services.culture.waves import add_department  # loaded when run (start-up)
    from outsidein.store.db import session_scope  # loaded when run (start-up)

    _, url = _store(ctx)
    with session_scope(url) as s:
        dep = add_department(s, org, name, headcount=headcount)
        console.print(f"department {dep.name} of {org}"
                      + (f", {dep.headcount} people" if dep.headcount else ""),
                      highlight=False, markup=False)


@org_app.command("role")
def org_role_cmd(ctx: typer.Context, org: str, name: str) -> None:
    """Add a role the survey offers (e.g. manager, staff)."""
    from outsidein.services.culture.waves import add_role  # loaded when run (start-up)
    from outsidein.store.db import session_scope  # loaded when run (start-up)

    _, url = _store(ctx)
    with session_scope(url) as s:
        role = add_role(s, org, name)
        console.print(f"role {role.name} of {org}", highlight=False, markup=False)


@org_app.command("list")
def org_list_cmd(ctx: typer.Context, as_json: Annotated[bool, JSON_OPTION] = False) -> None:
    """Organisations with their departments (headcounts) and roles."""
    from outsidein.services.culture.waves import list_orgs  # loaded when run (start-up)
    from outsidein.store.db import session_scope  # loaded when run (start-up)

    _, url = _store(ctx)
    with session_scope(url, write=False) as s:
        orgs = list_orgs(s)
    if as_json:
        print_json([o.to_dict() for o in orgs])
        return
    table = Table(title="organisations")
    for col in ("organisation", "industry", "size", "departments", "roles"):
        table.add_column(col)
    for o in orgs:
        deps = ", ".join(f"{d} ({n})" if n else d for d, n in o.departments.items())
        table.add_row(o.name, o.industry or "", f"{o.size:,}" if o.size else "", deps,
                      ", ".join(o.roles))
    console.print(table)


@wave_app.command("open")
def wave_open_cmd(ctx: typer.Context, name: str,
                  file: Annotated[Path | None, typer.Option(
                      "--instrument", help="instrument file (default: the workspace's)")] = None
                  ) -> None:
    """Open a wave with the instrument's items as they are now."""
    from outsidein.services.culture.importing import instrument_items  # loaded when run
    from outsidein.services.culture.waves import open_wave  # loaded when run (start-up)
    from outsidein.store.db import session_scope  # loaded when run (start-up)

    inst = _instrument(ctx, file)
    _, url = _store(ctx)
    with session_scope(url) as s:
        wave = open_wave(s, name, inst.version, instrument_items(inst),
                         comment_prompt=inst.comment)
        console.print(f"wave {wave.name} open ({len(wave.items)} items, instrument "
                      f"{wave.instrument_version})", highlight=False, markup=False)


@wave_app.command("list")
def wave_list_cmd(ctx: typer.Context, as_json: Annotated[bool, JSON_OPTION] = False) -> None:
    """Waves with their status, invitations, tokens used and responses."""
    from outsidein.services.culture.waves import list_waves  # loaded when run (start-up)
    from outsidein.store.db import session_scope  # loaded when run (start-up)

    _, url = _store(ctx)
    with session_scope(url, write=False) as s:
        waves = list_waves(s)
    if as_json:
        print_json([w.to_dict() for w in waves])
        return
    table = Table(title="culture survey waves")
    for col in ("wave", "status", "source", "invited", "used", "responses", "opened"):
        table.add_column(col, justify="right" if col in ("invited", "used", "responses")
                         else "left")
    for w in waves:
        table.add_row(w.name + (" (illustrative)" if w.illustrative else ""), w.status,
                      w.source, f"{w.invitations:,}", f"{w.used:,}", f"{w.responses:,}",
                      w.opened_at)
    console.print(table)


@wave_app.command("rates")
def wave_rates_cmd(ctx: typer.Context, wave: str,
                   as_json: Annotated[bool, JSON_OPTION] = False) -> None:
    """Response rates of a wave by organisation (tokens used) and department (of headcount)."""
    from outsidein.services.culture.waves import response_rates  # loaded when run (start-up)
    from outsidein.store.db import session_scope  # loaded when run (start-up)

    _, url = _store(ctx)
    with session_scope(url, write=False) as s:
        rates = response_rates(s, wave)
    if as_json:
        print_json(rates.to_dict())
        return
    table = Table(title=f"wave {rates.wave} ({rates.status}): organisations")
    for col in ("organisation", "invited", "used", "rate"):
        table.add_column(col, justify="left" if col == "organisation" else "right")
    for o in rates.orgs:
        table.add_row(o["org"], f"{o['invited']:,}", f"{o['used']:,}",
                      f"{o['rate']:.0%}" if o["rate"] is not None else "")
    console.print(table)
    table = Table(title="departments")
    for col in ("organisation", "department", "responses", "headcount", "rate"):
        table.add_column(col, justify="left" if col in ("organisation", "department")
                         else "right")
    for d in rates.departments:
        table.add_row(d.org, d.department, f"{d.responses:,}",
                      f"{d.headcount:,}" if d.headcount else "",
                      f"{d.rate:.0%}" if d.rate is not None else "")
    console.print(table)


def _base_url(ctx: typer.Context, given: str | None) -> str:
    if given:
        return given.rstrip("/")
    ws = workspace(ctx)
    ws.close()
    return str((ws.config.extra.get("culture") or {}).get(
        "base_url", "http://127.0.0.1:8000")).rstrip("/")


def _links(rows: list[Any], base: str, as_json: bool) -> None:
    from outsidein.services.share import neutralise_cell  # loaded when run (start-up)

    if as_json:
        print_json([{**r.to_dict(), "url": base + r.path} for r in rows])
        return
    out = csv.writer(sys.stdout)
    out.writerow(["org", "to", "url"])
    for r in rows:
        out.writerow([neutralise_cell(r.org), neutralise_cell(r.to or ""), base + r.path])


@culture_app.command("invite")
def invite_cmd(
    ctx: typer.Context, wave: str, org: str,
    count: Annotated[int | None, typer.Option(min=1, help="how many tokens")] = None,
    people: Annotated[Path | None, typer.Option(
        help="a file with one e-mail address (or name) a line: one token each, paired only "
        "in this output, never stored")] = None,
    base_url: Annotated[str | None, BASE_URL] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Make one-time survey links for an organisation; prints CSV (org,to,url) for a mail merge.

    The store keeps only the tokens: nothing ties a link, or the answers given through it,
    to the person it was sent to.
    """
    from outsidein.services.culture.tokens import invite  # loaded when run (start-up)
    from outsidein.store.db import session_scope  # loaded when run (start-up)

    names = [ln.strip() for ln in people.read_text("utf-8").splitlines() if ln.strip()] \
        if people else []
    base = _base_url(ctx, base_url)
    _, url = _store(ctx)
    with session_scope(url) as s:
        made = invite(s, wave, org, count=count, people=names)
    _links(made, base, as_json)


@culture_app.command("reminders")
def reminders_cmd(
    ctx: typer.Context, wave: str,
    org: Annotated[str | None, typer.Option(help="only this organisation")] = None,
    base_url: Annotated[str | None, BASE_URL] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """The survey links not used yet (CSV: org,to,url), to remind the people who have them."""
    from outsidein.services.culture.tokens import reminders  # loaded when run (start-up)
    from outsidein.store.db import session_scope  # loaded when run (start-up)

    base = _base_url(ctx, base_url)
    _, url = _store(ctx)
    with session_scope(url, write=False) as s:
        rows = reminders(s, wave, org)
    _links(rows, base, as_json)


@culture_app.command("close")
def close_cmd(ctx: typer.Context, wave: str,
              on: Annotated[datetime | None, typer.Option(
                  "--on", formats=["%Y-%m-%d"], help="the day it closed, for a wave imported "
                  "from a survey run in the past (default: now); the customer KPIs after the "
                  "wave are read from the day after")] = None,
              as_json: Annotated[bool, JSON_OPTION] = False) -> None:
    """Close a wave: its links stop working and unsubmitted drafts are deleted."""
    from outsidein.services.culture.waves import close_wave  # loaded when run (start-up)
    from outsidein.store.db import session_scope  # loaded when run (start-up)

    _, url = _store(ctx)
    with session_scope(url) as s:
        info = close_wave(s, wave, closed_on=on.date() if on else None)
    if as_json:
        print_json(info.to_dict())
        return
    console.print(f"wave {info.name} closed: {info.responses:,} responses, {info.used:,} of "
                  f"{info.invitations:,} links used", highlight=False, markup=False)


@culture_app.command("import")
def import_cmd(ctx: typer.Context, wave: str, file: Path,
               replace: Annotated[bool, typer.Option(
                   "--replace", help="take back the earlier import of this file (same content "
                   "or same file name) into WAVE, then import it: to correct a mistake")] = False,
               as_json: Annotated[bool, JSON_OPTION] = False) -> None:
    """Import responses from another survey tool's CSV into WAVE (created when new).

    Columns: org, department, role, one per item id (answers as given on the item's scale;
    the product reverses reverse-keyed items), comment.  Rows with a bad value are
    quarantined with their row number and the reason; the others are imported, all in one
    transaction.  A file already imported into WAVE is refused (exit code 2) unless --replace.
    """
    from outsidein.services.culture.importing import import_responses  # loaded when run
    from outsidein.store.db import session_scope  # loaded when run (start-up)

    inst = _instrument(ctx, None)
    _, url = _store(ctx)
    with session_scope(url) as s:
        rep = import_responses(s, wave, file, inst, replace=replace)
    if as_json:
        print_json(rep.to_dict())
        return
    for r in rep.replaced:
        console.print(f"taken back: {r['responses']:,} responses of {r['file']} (imported "
                      f"{r['imported_at']})", highlight=False, markup=False)
    console.print(f"{rep.rows_read:,} rows read from {rep.file}: {rep.imported:,} imported "
                  f"into wave {rep.wave}{' (new)' if rep.wave_created else ''}, "
                  f"{rep.quarantined:,} quarantined", highlight=False, markup=False)
    for what, names in (("organisations", rep.orgs_created),
                        ("departments", rep.departments_created)):
        if names:
            more = f" and {len(names) - 10:,} more" if len(names) > 10 else ""
            console.print(f"new {what}: {', '.join(names[:10])}{more}", highlight=False,
                          markup=False)
    for r in rep.reasons:
        console.print(f"quarantined {r['rows']:,} row(s), column {r['column']}: {r['reason']} "
                      f"(first at row {r['first_row']})", highlight=False, markup=False)


@culture_app.command("report")
def report_cmd(
    ctx: typer.Context,
    wave: Annotated[str, typer.Option("--wave", help="the wave to analyse")],
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Reliability, CFA, measurement invariance, aggregation and the groups shown, for a wave.

    Groups (per organisation, department and role) carry n, and scores only where the
    anonymity rules show them (5 respondents or more, complementary suppression).  The report
    is kept in results/culture/ for the Culture page and 'outsidein report'.
    """
    # loaded when the command runs (start-up)
    from outsidein.services.culture.analysis import save_report, wave_report

    ws = workspace(ctx)
    try:
        report = wave_report(ws, wave)
        saved = save_report(ws, report)
    finally:
        ws.close()
    if as_json:
        print_json(report)
        return
    cfa = report.get("cfa")
    console.print(f"wave {report['wave']}: {report['n']:,} respondents in "
                  f"{report['organisations']} organisations"
                  + (" (illustrative)" if report["illustrative"] else ""), highlight=False,
                  markup=False)
    if cfa:
        console.print(f"CFA: chi2 {cfa['chi2']:.1f} on {cfa['df']} df, CFI {cfa['cfi']:.3f}, "
                      f"TLI {cfa['tli']:.3f}, RMSEA {cfa['rmsea']:.3f}, SRMR {cfa['srmr']:.3f}",
                      highlight=False, markup=False)
    table = Table(title="reliability and agreement")
    for col in ("component", "alpha", "omega", "ICC(1)", "ICC(2)", "mean r_wg", "weak items"):
        table.add_column(col, justify="left" if col in ("component", "weak items") else "right")
    agg = report["aggregation"]["components"]
    for comp, r in report["reliability"].items():
        a = agg.get(comp, {})
        table.add_row(comp.replace("_", " "), *(_f(x) for x in (
            r.get("alpha"), r.get("omega"), a.get("icc1"), a.get("icc2"), a.get("mean_rwg"))),
            ", ".join(r.get("weak_items") or []))
    console.print(table)
    if report.get("invariance"):
        console.print(report["invariance"]["words"], highlight=False, markup=False)
    for note in report.get("notes") or []:
        console.print(f"note: {note}", highlight=False, markup=False)
    console.print(f"kept in {saved}", highlight=False, markup=False)


def _f(x: Any) -> str:
    return "" if x is None else f"{x:.2f}"


@culture_app.command("simulate")
def simulate_cmd(
    ctx: typer.Context,
    waves: Annotated[int, typer.Option(min=1, max=12, help="waves to simulate")] = 3,
    orgs: Annotated[int, typer.Option(min=2, max=2000, help="organisations")] = 30,
    size: Annotated[float, typer.Option(min=5, help="mean respondents per organisation")] = 40,
    seed: Annotated[int, typer.Option(help="random seed")] = 7,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Store a few ILLUSTRATIVE waves drawn from the engine's simulator (for a demo).

    The waves are closed, marked illustrative wherever they show, and hold simulated answers
    with a known factor structure; the largest organisation stands for the workspace's own.
    """
    from outsidein.services.culture.simulated import seed_illustrative_waves  # loaded when run
    from outsidein.store.db import session_scope  # loaded when run (start-up)

    inst = _instrument(ctx, None)
    _, url = _store(ctx)
    with session_scope(url) as s:
        rep = seed_illustrative_waves(s, inst, waves=waves, n_orgs=orgs, mean_size=size,
                                      seed=seed)
    if as_json:
        print_json(rep.to_dict())
        return
    console.print(f"{rep.responses:,} illustrative responses from {rep.orgs} organisations in "
                  f"{', '.join(rep.waves)}", highlight=False, markup=False)


culture_links.register(culture_app)  # after the commands above: its place in --help
