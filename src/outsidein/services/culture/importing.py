"""``outsidein culture import WAVE FILE.csv``: responses exported by another survey tool.

The file has a header row with ``org``, ``department``, ``role``, one column per item id of
the instrument holding the answer *as given on the item's scale* (reverse-keyed items are
reversed by the product when scoring, never by the file), and optionally ``comment``.
The wave is created when new (with the instrument's items), and so are its organisations,
departments and roles.

Validation as in the warehouse loader: a file whose columns are wrong is refused whole (the
message names the columns); a row with a bad value goes to the quarantine
(``culture_quarantine``) with its 1-based data row number (header excluded), the column and
the reason, and every other row is taken.  Everything happens in the caller's one
transaction: a crash part-way leaves the store as it was.

>>> check_columns(["org", "department", "role", "cus1", "comment"], ("cus1",))
>>> check_columns(["org", "dept", "role", "cus1"], ("cus1",))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
outsidein.errors.DataValidationError: missing column(s): department; unknown column(s): dept (...
"""

from __future__ import annotations

import csv
import hashlib
import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.orm import Session

from outsidein.culture.instrument import Instrument
from outsidein.errors import ConflictError, DataValidationError
from outsidein.services.culture.survey import MAX_COMMENT, parse_answer
from outsidein.services.culture.waves import (
    ensure_department,
    ensure_org,
    ensure_role,
    open_wave,
    record,
)
from outsidein.store.models.culture import (
    CultureDepartment,
    CultureImport,
    CultureOrg,
    CultureQuarantine,
    CultureResponse,
    CultureWave,
)

#: Responses written at a time.
_BATCH = 5000

__all__ = ["ID_COLUMNS", "ImportReport", "check_columns", "import_responses", "instrument_items"]

#: The columns every file has besides the item columns (``comment`` is optional).
ID_COLUMNS = ("org", "department", "role")


def instrument_items(instrument: Instrument) -> list[dict[str, Any]]:
    """The instrument's items as the plain dicts a wave keeps."""
    return [dict(it) for it in instrument.to_dict()["items"]]


@dataclass(frozen=True)
class ImportReport:
    """What an import did: rows read, taken and quarantined, and what it created."""

    wave: str
    file: str
    rows_read: int
    imported: int
    quarantined: int
    wave_created: bool
    orgs_created: list[str] = field(default_factory=list)
    departments_created: list[str] = field(default_factory=list)
    reasons: list[dict[str, Any]] = field(default_factory=list)
    sha256: str = ""
    #: earlier imports taken back by ``replace``: file, imported_at, responses
    replaced: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_columns(header: Sequence[str], item_ids: Sequence[str]) -> None:
    """Refuse a header without the id columns or an item, or with a column nobody knows."""
    cols = [c.strip() for c in header]
    dupes = sorted({c for c in cols if cols.count(c) > 1})
    missing = [c for c in (*ID_COLUMNS, *item_ids) if c not in cols]
    unknown = [c for c in cols if c not in (*ID_COLUMNS, *item_ids, "comment")]
    problems = []
    if dupes:
        problems.append(f"repeated column(s): {', '.join(dupes)}")
    if missing:
        problems.append(f"missing column(s): {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown column(s): {', '.join(unknown)}")
    if problems:
        raise DataValidationError("; ".join(problems) + " (expected org, department, role, one "
                                  "column per item id, comment)")


def _rows(path: Path) -> Iterator[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                raise DataValidationError(f"{path.name}: the file is empty (expected a header "
                                          "row: org, department, role, item ids, comment)")
            names = [h.strip() for h in header]
            yield {"__header__": ",".join(names)}
            for line in reader:
                if not any(v.strip() for v in line):
                    yield {}
                    continue
                row = dict(zip(names, line, strict=False))
                if len(line) != len(names):
                    row["__width__"] = str(len(line))
                yield row
    except UnicodeDecodeError as exc:
        raise DataValidationError(f"{path.name}: not UTF-8 text ({exc.reason}); save it as "
                                  "UTF-8 CSV") from exc
    except OSError as exc:
        raise DataValidationError(f"{path}: cannot be read ({exc.strerror})") from exc


def _points(item: Mapping[str, Any]) -> dict[str, int]:
    """``{"1": 1, ...}`` for the points of *item*'s scale (cached per scale)."""
    return _SCALES.setdefault((int(item["scale_min"]), int(item["scale_max"])), {
        str(v): v for v in range(int(item["scale_min"]), int(item["scale_max"]) + 1)})


_SCALES: dict[tuple[int, int], dict[str, int]] = {}


def _problems(row: Mapping[str, str], items: Sequence[Mapping[str, Any]],
              width: int) -> tuple[list[tuple[str, str]], dict[str, int]]:
    """(column, reason) of each bad value of *row*, and the answers that are good."""
    bad: list[tuple[str, str]] = []
    if "__width__" in row:
        bad.append(("(line)", f"{row['__width__']} values, expected {width}"))
        return bad, {}
    for col in ("org", "department"):
        if not (row.get(col) or "").strip():
            bad.append((col, "missing"))
    answers: dict[str, int] = {}
    for it in items:
        key = str(it["id"])
        raw = row.get(key) or ""
        quick = _points(it).get(raw)  # the usual "1".."7": no parsing
        if quick is not None:
            answers[key] = quick
            continue
        try:
            value = parse_answer(raw, it)
        except DataValidationError:
            bad.append((str(it["id"]), f"{(row.get(str(it['id'])) or '').strip()!r} is not a "
                        f"whole number from {it['scale_min']} to {it['scale_max']}"))
            continue
        if value is not None:
            answers[str(it["id"])] = value
    if not answers and not any(c for c, _ in bad if c not in ("org", "department")):
        bad.append(("(answers)", "no item answered"))
    if len((row.get("comment") or "").strip()) > MAX_COMMENT:
        bad.append(("comment", f"longer than {MAX_COMMENT:,} characters"))
    return bad, answers


def _wave(session: Session, name: str, instrument: Instrument,
          actor: str) -> tuple[CultureWave, bool]:
    wave = session.scalar(select(CultureWave).where(CultureWave.name == name.strip()))
    if wave is not None:
        return wave, False
    return open_wave(session, name, instrument.version, instrument_items(instrument),
                     source="import", comment_prompt=instrument.comment, actor=actor), True


def _take_back(session: Session, wave: CultureWave, path: Path, sha: str,
               replace: bool) -> list[dict[str, Any]]:
    """Refuse a file already imported into *wave*; with *replace*, delete the earlier imports
    of the same content or file name (responses, quarantined rows) and say which."""
    same = select(CultureImport).where(CultureImport.wave_id == wave.id)
    if not replace:
        earlier = session.scalar(same.where(CultureImport.sha256 == sha))
        if earlier is not None:
            raise ConflictError(
                f"{path.name}: this file was already imported into wave {wave.name!r} on "
                f"{earlier.imported_at:%Y-%m-%d %H:%M} UTC (as {earlier.file}, "
                f"{earlier.imported:,} responses); nothing imported. To import it again in "
                "place of that import, pass --replace")
        return []
    gone = []
    for old in session.scalars(same.where(or_(CultureImport.sha256 == sha,
                                              CultureImport.file == path.name))).all():
        mine = CultureResponse.import_id == old.id
        n = session.scalar(select(func.count()).select_from(CultureResponse).where(mine))
        session.execute(delete(CultureResponse).where(mine))
        session.execute(delete(CultureQuarantine).where(CultureQuarantine.wave_id == wave.id,
                                                        CultureQuarantine.file == old.file))
        gone.append({"file": old.file, "sha256": old.sha256, "responses": int(n or 0),
                     "imported_at": old.imported_at.isoformat(sep=" ", timespec="minutes")})
        session.delete(old)
    session.flush()
    return gone


def import_responses(session: Session, wave_name: str, path: str | Path,
                     instrument: Instrument, *, actor: str = "cli",
                     replace: bool = False) -> ImportReport:
    """Import the responses in the CSV at *path* into *wave_name* (see the module doc).

    A new wave takes *instrument*'s items; an existing wave keeps its own and the file's
    item columns must match them.  *replace*: take back the earlier imports of this content
    or file name into the wave first.

    Raises
    ------
    DataValidationError
        The file cannot be read, or its columns are wrong (nothing is imported).
    ConflictError
        The file's content was imported into the wave before (and not *replace*).
    """
    path = Path(path)
    sha = _sha256(path)
    wave, created = _wave(session, wave_name, instrument, actor)
    replaced = _take_back(session, wave, path, sha, replace)
    items = list(wave.items or [])
    rows = _rows(path)
    header = next(rows)["__header__"].split(",")
    check_columns(header, [str(it["id"]) for it in items])
    done = CultureImport(wave_id=wave.id, file=path.name, sha256=sha, rows=0, imported=0,
                         quarantined=0)
    session.add(done)
    session.flush()
    orgs: dict[str, CultureOrg] = {}
    deps: dict[tuple[int, str], CultureDepartment] = {}
    new_orgs: list[str] = []
    new_deps: list[str] = []
    roles: set[tuple[int, str]] = set()
    batch: list[dict[str, Any]] = []
    read = taken = held = 0
    reasons: dict[tuple[str, str], dict[str, Any]] = {}
    for number, row in enumerate(rows, start=1):
        if not row:
            continue
        read += 1
        bad, answers = _problems(row, items, len(header))
        if bad:
            held += 1
            raw = {k: v for k, v in row.items() if not k.startswith("__")}
            for col, why in bad:
                session.add(CultureQuarantine(wave_id=wave.id, file=path.name, row_number=number,
                                              column=col, reason=why, raw=raw))
                key = (col, why if col in ("(line)", "(answers)", "org", "department") else
                       "not on the item's scale")
                slot = reasons.setdefault(key, {"column": col, "reason": key[1], "rows": 0,
                                                "first_row": number})
                slot["rows"] += 1
            continue
        org_name = " ".join(row["org"].split())
        org = orgs.get(org_name)
        if org is None:
            org, new = ensure_org(session, org_name)
            orgs[org_name] = org
            if new:
                new_orgs.append(org.name)
        dep_name = " ".join(row["department"].split())
        dep = deps.get((org.id, dep_name))
        if dep is None:
            dep, new = ensure_department(session, org, dep_name)
            deps[(org.id, dep_name)] = dep
            if new:
                new_deps.append(f"{org.name}/{dep.name}")
        role = " ".join((row.get("role") or "").split()) or None
        if role is not None and (org.id, role) not in roles:
            ensure_role(session, org, role)
            roles.add((org.id, role))
        batch.append(_response(wave, org, dep, role, answers, row.get("comment"), done.id))
        taken += 1
        if len(batch) >= _BATCH:
            session.execute(insert(CultureResponse), batch)
            batch.clear()
    if batch:
        session.execute(insert(CultureResponse), batch)
    done.rows, done.imported, done.quarantined = read, taken, held
    session.flush()
    record(session, "culture.import", wave.name, actor, file=path.name, sha256=sha,
           rows=read, imported=taken, quarantined=held,
           replaced=[r["file"] for r in replaced])
    return ImportReport(wave.name, path.name, read, taken, held, created, new_orgs, new_deps,
                        sorted(reasons.values(), key=lambda r: (-r["rows"], r["first_row"])),
                        sha, replaced)


def _response(wave: CultureWave, org: CultureOrg, dep: CultureDepartment, role: str | None,
              answers: dict[str, int], comment: str | None,
              import_id: int | None = None) -> dict[str, Any]:
    """One imported response's row (a random key, no row number: nothing traces it to a line
    of the file; only to the file, so a wrong import can be taken back)."""
    text = (comment or "").strip() or None
    return {"id": secrets.token_hex(16), "wave_id": wave.id, "org_id": org.id,
            "department_id": dep.id, "role": role, "answers": answers, "comment": text,
            "source": "import", "import_id": import_id}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()  # the audit entry names the file imported by its bytes
    try:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise DataValidationError(f"{path}: cannot be read ({exc.strerror})") from exc
    return "sha256:" + digest.hexdigest()
