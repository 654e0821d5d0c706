"""Running a wave: organisations, departments, roles, invitations, response rates, reminders,
closing; and what the store keeps about people (nothing)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, select, text
from typer.testing import CliRunner

from outsidein.cli import app as cli
from outsidein.cli import main
from outsidein.errors import ConflictError, DataValidationError, NotFoundError
from outsidein.services.culture.importing import instrument_items
from outsidein.services.culture.instrument import load_instrument
from outsidein.services.culture.survey import open_survey, save_draft, submit
from outsidein.services.culture.tokens import invite, reminders
from outsidein.services.culture.waves import (
    add_department,
    add_org,
    add_role,
    close_wave,
    list_orgs,
    list_waves,
    open_wave,
    response_rates,
)
from outsidein.store.db import session_scope
from outsidein.store.models.culture import CultureDraft, CultureResponse
from outsidein.workspace import Workspace

INSTRUMENT = load_instrument()


def answers_all(value: int = 4, *, department: int | str = "", role: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {f"q_{it.id}": str(min(value, it.scale_max)) for it in INSTRUMENT.items}
    out.update(department=str(department), role=role, comment="")
    return out


def setup_wave(ws: Workspace, *, tokens: int = 6) -> list[str]:
    with session_scope(ws.store_url) as s:
        add_org(s, "Acme", industry="retail", size=420)
        add_department(s, "Acme", "Sales", headcount=10)
        add_department(s, "Acme", "Service", headcount=4)
        add_role(s, "Acme", "manager")
        add_role(s, "Acme", "staff")
        open_wave(s, "w1", INSTRUMENT.version, instrument_items(INSTRUMENT),
                  comment_prompt=INSTRUMENT.comment)
        return [i.token for i in invite(s, "w1", "Acme", count=tokens)]


def dep_id(ws: Workspace, token: str, name: str) -> int:
    with session_scope(ws.store_url, write=False) as s:
        return next(i for i, n in open_survey(s, token).departments if n == name)


def test_orgs_departments_and_roles_are_listed_and_checked(workspace: Workspace) -> None:
    setup_wave(workspace)
    with session_scope(workspace.store_url) as s:
        orgs = list_orgs(s)
        assert [(o.name, o.industry, o.size) for o in orgs] == [("Acme", "retail", 420)]
        assert orgs[0].departments == {"Sales": 10, "Service": 4}
        assert orgs[0].roles == ("manager", "staff")
        with pytest.raises(ConflictError, match="already exists"):
            add_org(s, "Acme")
        with pytest.raises(NotFoundError, match="known: Acme"):
            add_department(s, "Acme Ltd", "Sales")
        with pytest.raises(DataValidationError, match="department name"):
            add_department(s, "Acme", "   ")
        with pytest.raises(ConflictError, match="wave 'w1' already exists"):
            open_wave(s, "w1", "x", instrument_items(INSTRUMENT))


def test_tokens_are_one_time_and_the_reminder_list_holds_the_unused(workspace: Workspace) -> None:
    tokens = setup_wave(workspace)
    assert len(set(tokens)) == 6 and all(len(t) == 32 for t in tokens)
    sales = dep_id(workspace, tokens[0], "Sales")
    with session_scope(workspace.store_url) as s:
        for t in tokens[:3]:
            submit(s, t, answers_all(department=sales, role="staff"))
        save_draft(s, tokens[3], {"q_cus1": "2"})  # started, not finished: still to remind
    with session_scope(workspace.store_url) as s:
        left = [r.token for r in reminders(s, "w1")]
        assert left == tokens[3:]
        with pytest.raises(ConflictError, match="already submitted"):
            submit(s, tokens[0], answers_all(department=sales, role="staff"))
        waves = list_waves(s)
        assert [(w.name, w.invitations, w.used, w.responses) for w in waves] == [("w1", 6, 3, 3)]


def test_response_rates_by_department_while_the_wave_is_open(workspace: Workspace) -> None:
    tokens = setup_wave(workspace, tokens=8)
    sales, service = dep_id(workspace, tokens[0], "Sales"), dep_id(workspace, tokens[0], "Service")
    with session_scope(workspace.store_url) as s:
        for t in tokens[:5]:
            submit(s, t, answers_all(department=sales, role="staff"))
        submit(s, tokens[5], answers_all(department=service, role="manager"))
    with session_scope(workspace.store_url, write=False) as s:
        rates = response_rates(s, "w1").to_dict()
    assert rates["orgs"] == [{"org": "Acme", "invited": 8, "used": 6, "responses": 6,
                              "rate": 0.75}]
    by_dep = {d["department"]: (d["responses"], d["headcount"], d["rate"])
              for d in rates["departments"]}
    assert by_dep == {"Sales": (5, 10, 0.5), "Service": (1, 4, 0.25)}


def test_closing_a_wave_stops_its_links_and_deletes_unsubmitted_drafts(
        workspace: Workspace) -> None:
    tokens = setup_wave(workspace)
    with session_scope(workspace.store_url) as s:
        save_draft(s, tokens[0], {"q_cus1": "5", "comment": "half done"})
    with session_scope(workspace.store_url) as s:
        info = close_wave(s, "w1")
        assert (info.status, info.responses) == ("closed", 0)
    with session_scope(workspace.store_url) as s:
        with pytest.raises(NotFoundError, match="not valid"):
            open_survey(s, tokens[0])
        with pytest.raises(ConflictError, match="closed"):
            invite(s, "w1", "Acme", count=2)
        with pytest.raises(ConflictError, match="closed"):
            reminders(s, "w1")
        with pytest.raises(ConflictError, match="already closed"):
            close_wave(s, "w1")
        assert s.scalars(select(CultureDraft)).all() == []


def test_the_store_keeps_no_link_from_a_response_to_a_token_or_a_person(
        workspace: Workspace, tmp_path: Path) -> None:
    people = tmp_path / "people.txt"
    people.write_text("ann@acme.test\nbob@acme.test\ncid@acme.test\n")
    runner = CliRunner()
    base = ["--workspace", str(workspace.root), "culture"]
    for args in (["org", "add", "Acme"], ["org", "department", "Acme", "Sales"],
                 ["wave", "open", "w1"]):
        assert runner.invoke(cli, base + args).exit_code == 0
    out = runner.invoke(cli, base + ["invite", "w1", "Acme", "--people", str(people),
                                     "--base-url", "https://survey.acme.test"])
    assert out.exit_code == 0, out.output
    lines = out.output.strip().splitlines()
    assert lines[0] == "org,to,url" and lines[1].startswith(
        "Acme,ann@acme.test,https://survey.acme.test/survey/")
    tokens = [ln.rsplit("/", 1)[1] for ln in lines[1:]]
    sales = dep_id(workspace, tokens[0], "Sales")
    with session_scope(workspace.store_url) as s:
        submit(s, tokens[1], {**answers_all(department=sales), "comment": "bob's words"})
    with session_scope(workspace.store_url, write=False) as s:
        cols = {c["name"] for c in inspect(s.get_bind()).get_columns("culture_responses")}
        # import_id names the CSV file an imported response came from (to take a wrong
        # import back); an answer given through the survey has none
        assert cols == {"id", "wave_id", "org_id", "department_id", "role", "answers",
                        "comment", "source", "import_id"}
        resp = s.scalars(select(CultureResponse)).one()
        assert resp.import_id is None
        text = repr((resp.id, resp.answers, resp.comment, resp.role))
        assert all(t not in text for t in tokens)
        dump = "\n".join(str(tuple(r)) for table in ("culture_invitations", "culture_responses",
                                                     "culture_drafts", "audit_events")
                         for r in s.execute(select_all(table)).all())
    for email in ("ann@acme.test", "bob@acme.test", "cid@acme.test"):
        assert email not in dump
    store_files = b"".join(p.read_bytes() for p in workspace.root.glob("*.sqlite*"))
    assert b"bob@acme.test" not in store_files


def select_all(table: str) -> Any:
    """A plain SELECT of a whole table, for the dump above."""
    return text(f"SELECT * FROM {table}")  # noqa: S608 - fixed table names


def fails(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run ``outsidein`` as the console script does: exit code and the error line."""
    with pytest.raises(SystemExit) as ended:
        main(args)
    return int(ended.value.code or 0), capsys.readouterr().err


def test_cli_admin_commands_print_and_fail_in_one_line(
        workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    runner = CliRunner()
    base = ["--workspace", str(workspace.root), "culture"]
    r = runner.invoke(cli, base + ["instrument", "--json"])
    assert r.exit_code == 0 and '"version": "2026.1"' in r.output
    assert runner.invoke(cli, base + ["wave", "open", "w1"]).exit_code == 0
    code, err = fails(base + ["invite", "w1", "Nobody", "--count", "3"], capsys)
    assert code == 2 and err.strip().splitlines() == [
        "error: organisation 'Nobody' not found; known: none (add one first)"]
    assert runner.invoke(cli, base + ["org", "add", "Acme", "--size", "12"]).exit_code == 0
    r = runner.invoke(cli, base + ["invite", "w1", "Acme", "--count", "3", "--json"])
    assert r.exit_code == 0 and r.output.count('"url": "http://127.0.0.1:8000/survey/') == 3
    r = runner.invoke(cli, base + ["reminders", "w1"])
    assert r.exit_code == 0 and r.output.count("http://127.0.0.1:8000/survey/") == 3
    r = runner.invoke(cli, base + ["close", "w1"])
    assert r.exit_code == 0 and "0 of 3 links used" in r.output
    code, err = fails(base + ["close", "w1"], capsys)
    assert code == 2 and "wave 'w1' is already closed" in err


def test_link_lists_are_safe_to_open_in_a_spreadsheet(workspace: Workspace) -> None:
    runner = CliRunner()
    base = ["--workspace", str(workspace.root), "culture"]
    for args in (["org", "add", "=HYPERLINK(\"http://x\")"], ["wave", "open", "w1"]):
        assert runner.invoke(cli, base + args).exit_code == 0
    r = runner.invoke(cli, base + ["invite", "w1", "=HYPERLINK(\"http://x\")", "--count", "1"])
    assert r.exit_code == 0
    rows = list(csv.reader(io.StringIO(r.output)))
    assert rows[1][0] == "'=HYPERLINK(\"http://x\")"
