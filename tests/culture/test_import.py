"""``outsidein culture import WAVE FILE.csv``: answers from another survey tool, validated and
quarantined as in the loader, reverse-keyed items reversed by the product, one transaction."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from outsidein.cli import app as cli
from outsidein.cli import main
from outsidein.culture.instrument import build_instrument
from outsidein.culture.scoring import key_items, score_respondents
from outsidein.errors import DataValidationError
from outsidein.services.culture import importing
from outsidein.services.culture.instrument import load_instrument
from outsidein.services.culture.responses import wave_instrument, wave_responses
from outsidein.store.db import session_scope
from outsidein.store.models.culture import (
    CultureDepartment,
    CultureOrg,
    CultureQuarantine,
    CultureResponse,
    CultureRole,
    CultureWave,
)
from outsidein.workspace import Workspace

INSTRUMENT = load_instrument()
IDS = [it.id for it in INSTRUMENT.items]
REVERSED = next(it for it in INSTRUMENT.items if it.reverse)


def write(path: Path, rows: list[dict[str, Any]], header: list[str] | None = None) -> Path:
    cols = header or ["org", "department", "role", *IDS, "comment"]
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow(r)
    return path


def row(org: str = "Acme", dep: str = "Sales", role: str = "staff", value: int = 4,
        **over: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"org": org, "department": dep, "role": role, "comment": ""}
    out.update({i: value for i in IDS})
    out.update(over)
    return out


def counts(ws: Workspace) -> dict[str, int]:
    with session_scope(ws.store_url, write=False) as s:
        return {m.__tablename__: int(s.scalar(select(func.count()).select_from(m)) or 0)
                for m in (CultureWave, CultureOrg, CultureDepartment, CultureRole,
                          CultureResponse, CultureQuarantine)}


def test_import_creates_the_wave_orgs_and_departments_and_quarantines_bad_rows(
        workspace: Workspace, tmp_path: Path) -> None:
    rows = [row(), row(dep="Service", role="manager", value=2, comment="slow answers"),
            row(org="Beta Ltd", dep="Ops"),
            row(**{"cus1": "9"}),                 # data row 4: off the 1-5 scale
            row(org=""),                          # 5: no organisation
            row(**{"cmp2": "three"}),             # 6: not a number
            row(**{i: "" for i in IDS}),          # 7: nothing answered
            row(**{"cus2": "4.5"}),               # 8: not a whole number
            row(**{"perf_sales": "7"})]           # 9: fine, performance is on a 7-point scale
    path = write(tmp_path / "export.csv", rows)
    r = CliRunner().invoke(cli, ["--workspace", str(workspace.root), "culture", "import",
                                 "2025-autumn", str(path), "--json"])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output)
    assert (rep["rows_read"], rep["imported"], rep["quarantined"]) == (9, 4, 5)
    assert rep["wave_created"] is True and rep["orgs_created"] == ["Acme", "Beta Ltd"]
    assert rep["departments_created"] == ["Acme/Sales", "Acme/Service", "Beta Ltd/Ops"]
    with session_scope(workspace.store_url, write=False) as s:
        q = {(x.row_number, x.column): x.reason for x in s.scalars(select(CultureQuarantine))}
        wave = s.scalar(select(CultureWave))
        assert wave is not None and (wave.source, wave.status) == ("import", "open")
        roles = sorted(s.scalars(select(CultureRole.name)))
    assert q == {(4, "cus1"): "'9' is not a whole number from 1 to 5",
                 (5, "org"): "missing",
                 (6, "cmp2"): "'three' is not a whole number from 1 to 5",
                 (7, "(answers)"): "no item answered",
                 (8, "cus2"): "'4.5' is not a whole number from 1 to 5"}
    assert roles == ["manager", "staff", "staff"]  # per organisation


def test_answers_are_kept_as_given_and_reversed_only_when_scored(
        workspace: Workspace, tmp_path: Path) -> None:
    # everyone strongly agrees with everything, the negatively worded items too
    path = write(tmp_path / "agree.csv", [row(value=5) for _ in range(6)])
    with session_scope(workspace.store_url) as s:
        importing.import_responses(s, "w", path, INSTRUMENT)
    with session_scope(workspace.store_url, write=False) as s:
        wave, frame = wave_responses(s, "w")
        inst = wave_instrument(wave)
    assert (frame[REVERSED.id] == 5).all()  # stored as the file gave it
    keyed = key_items(frame, inst)
    assert (keyed[REVERSED.id] == 1).all()  # the product reverses it
    scores = score_respondents(frame, inst)
    comp = REVERSED.component
    n_items = len(inst.items_for(comp))
    n_rev = sum(it.reverse for it in inst.items_for(comp))
    assert scores[comp].iloc[0] == pytest.approx(100 * (n_items - n_rev) / n_items)


def test_a_file_with_wrong_columns_is_refused_whole(workspace: Workspace, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "bad.csv", [row()],
                 header=["org", "dept", "role", *IDS[:-1], "cus1x"])
    before = counts(workspace)
    with pytest.raises(SystemExit) as ended:
        main(["--workspace", str(workspace.root), "culture", "import", "w", str(path)])
    err = capsys.readouterr().err
    assert ended.value.code == 2 and err.startswith("error: missing column(s): department, ")
    assert "unknown column(s): dept, cus1x" in err and len(err.strip().splitlines()) <= 3
    assert counts(workspace) == before  # not even the wave


def test_a_crash_part_way_leaves_the_store_as_it_was(
        workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "many.csv", [row(org=f"Org {i % 3}", dep=f"D{i % 4}")
                                         for i in range(40)] + [row(org="")])
    before = counts(workspace)
    made = []
    real = importing._response

    def dies_at_the_25th(*args: Any) -> Any:
        made.append(1)
        if len(made) == 25:
            raise RuntimeError("power cut")
        return real(*args)

    monkeypatch.setattr(importing, "_response", dies_at_the_25th)
    with pytest.raises(RuntimeError, match="power cut"), \
            session_scope(workspace.store_url) as s:
        importing.import_responses(s, "w-crash", path, INSTRUMENT)
    assert counts(workspace) == before
    monkeypatch.setattr(importing, "_response", real)
    with session_scope(workspace.store_url) as s:
        rep = importing.import_responses(s, "w-crash", path, INSTRUMENT)
    assert (rep.imported, rep.quarantined) == (40, 1)
    assert counts(workspace)["culture_responses"] == 40


def test_an_existing_wave_keeps_its_own_items(workspace: Workspace, tmp_path: Path) -> None:
    with session_scope(workspace.store_url) as s:
        importing.import_responses(s, "w", write(tmp_path / "a.csv", [row()]), INSTRUMENT)
    short = [it for it in INSTRUMENT.to_dict()["items"] if it["id"] != "cus1"]
    other = build_instrument({"version": "x", "items": short})  # today's file lost cus1
    with session_scope(workspace.store_url) as s:
        rep = importing.import_responses(s, "w", write(tmp_path / "b.csv", [row(), row()]),
                                         other)
    assert (rep.wave_created, rep.imported) == (False, 2)
    with pytest.raises(DataValidationError, match="missing column"), \
            session_scope(workspace.store_url) as s:
        importing.import_responses(s, "w", write(tmp_path / "c.csv", [row()],
                                                 header=["org", "department", "role", *IDS[1:]]),
                                   INSTRUMENT)


def test_the_same_file_twice_is_refused_and_nothing_doubles(
        workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "export.csv", [row(), row(dep="Service"), row(org="")])
    args = ["--workspace", str(workspace.root), "culture", "import", "2025-autumn", str(path)]
    r = CliRunner().invoke(cli, [*args, "--json"])
    assert r.exit_code == 0, r.output
    first = counts(workspace)
    assert (first["culture_responses"], first["culture_quarantine"]) == (2, 1)
    copy = tmp_path / "export (1).csv"  # the same bytes under another name
    copy.write_bytes(path.read_bytes())
    for again in (path, copy):
        with pytest.raises(SystemExit) as ended:
            main([*args[:-1], str(again)])
        err = capsys.readouterr().err
        assert ended.value.code == 2, err
        assert err.startswith(f"error: {again.name}: this file was already imported into wave "
                              "'2025-autumn' on ")
        assert "(as export.csv, 2 responses); nothing imported" in err
        assert "--replace" in err
        assert counts(workspace) == first
    # another wave may take the same file
    r = CliRunner().invoke(cli, [*args[:4], "2026-spring", str(path), "--json"])
    assert r.exit_code == 0, r.output
    assert counts(workspace)["culture_responses"] == 4


def test_replace_takes_the_wrong_import_back(workspace: Workspace, tmp_path: Path) -> None:
    path = write(tmp_path / "export.csv", [row(value=1) for _ in range(5)] + [row(org="")])
    args = ["--workspace", str(workspace.root), "culture", "import", "w", str(path), "--json"]
    assert CliRunner().invoke(cli, args).exit_code == 0
    other = write(tmp_path / "other.csv", [row(org="Beta") for _ in range(3)])
    assert CliRunner().invoke(cli, [*args[:4], "w", str(other)]).exit_code == 0
    # the mistake: everyone answered 1 in the file we had; the corrected export has 6 fives
    write(path, [row(value=5) for _ in range(6)])
    r = CliRunner().invoke(cli, [*args, "--replace"])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output)
    assert [(g["file"], g["responses"]) for g in rep["replaced"]] == [("export.csv", 5)]
    assert rep["imported"] == 6 and rep["quarantined"] == 0
    with session_scope(workspace.store_url, write=False) as s:
        _, frame = wave_responses(s, "w")
        quarantined = s.scalar(select(func.count()).select_from(CultureQuarantine))
    acme = frame[frame["org"] == "Acme"]
    assert len(acme) == 6 and (acme["cus1"] == 5).all()  # only the corrected answers
    assert (frame["org"] == "Beta").sum() == 3  # the other file's answers are kept
    assert quarantined == 0  # the wrong import's quarantined row went with it
    # --replace of the very same content again: taken back and imported once more, not doubled
    r = CliRunner().invoke(cli, [*args, "--replace"])
    assert json.loads(r.output)["replaced"][0]["responses"] == 6
    assert counts(workspace)["culture_responses"] == 9
