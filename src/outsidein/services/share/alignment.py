"""Alignment review: do product plans, marketing messages and sales training address the top needs?

Items (kind ``plan``, ``message`` or ``training``) are tagged with the needs they address,
fully or partly.  The review is a matrix of the top needs (by opportunity score) against the
three functions; a cell is *addressed* when some item of that function fully addresses the
need, *partly* when items only partly do, and *missed* otherwise.  A need is *disconnected*
when one function addresses it and another misses it.  Items that address none of the top
needs are listed too: effort spent away from what customers need most.

>>> review = alignment_review(s, top=10)           # doctest: +SKIP
>>> review.to_html()                               # doctest: +SKIP
>>> review.to_pdf("alignment.pdf")                 # doctest: +SKIP
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from outsidein.config import Settings
from outsidein.errors import ConfigError, DataValidationError, OutsideInError
from outsidein.services.share._common import DictMixin, utcnow
from outsidein.services.share.needs import Need, ranked_needs
from outsidein.store.models import share as m

#: The three functions of the review, by item kind, in column order.
FUNCTIONS: dict[str, str] = {"plan": "Product plans", "message": "Marketing messages",
                             "training": "Sales training"}
STATUSES = ("addressed", "partly", "missed")
CSV_COLUMNS = ("kind", "title", "owner", "needs")


@dataclass(frozen=True)
class NeedLink(DictMixin):
    code: str
    coverage: str  # "full" or "partial"


@dataclass(frozen=True)
class AlignmentItem(DictMixin):
    id: int
    kind: str
    title: str
    owner: str
    needs: tuple[NeedLink, ...]
    created_at: datetime


@dataclass(frozen=True)
class ImportResult(DictMixin):
    created: int
    updated: int
    items: tuple[AlignmentItem, ...]


@dataclass(frozen=True)
class Cell(DictMixin):
    """One need x one function: its status and the items behind it."""

    kind: str
    status: str  # one of STATUSES
    full: tuple[str, ...]  # titles of items that fully address the need
    partial: tuple[str, ...]


@dataclass(frozen=True)
class NeedRow(DictMixin):
    rank: int
    need: Need
    cells: tuple[Cell, ...]  # in FUNCTIONS order

    @property
    def disconnected(self) -> bool:
        statuses = {c.status for c in self.cells}
        return "missed" in statuses and len(statuses) > 1

    @property
    def status(self) -> str:
        """aligned (all addressed), missed (by all), or mixed."""
        statuses = {c.status for c in self.cells}
        if statuses == {"addressed"}:
            return "aligned"
        return "missed" if statuses == {"missed"} else "mixed"


@dataclass(frozen=True)
class AlignmentReview(DictMixin):
    """The matrix of top needs x functions, the disconnects and the off-target items."""

    top: int
    rows: tuple[NeedRow, ...]
    off_target: tuple[AlignmentItem, ...]
    generated_at: datetime

    @property
    def functions(self) -> dict[str, str]:
        return dict(FUNCTIONS)

    @property
    def counts(self) -> dict[str, int]:
        """Cells per status, plus needs aligned, disconnected and missed by every function."""
        out = {s: sum(c.status == s for r in self.rows for c in r.cells) for s in STATUSES}
        out["aligned_needs"] = sum(r.status == "aligned" for r in self.rows)
        out["disconnected_needs"] = sum(r.disconnected for r in self.rows)
        out["unaddressed_needs"] = sum(r.status == "missed" for r in self.rows)
        return out

    @property
    def summary(self) -> str:
        c, n = self.counts, len(self.rows)
        if not n:
            return "The needs register is empty: add needs before reviewing alignment."
        return (f"Of the top {n} customer needs, {c['aligned_needs']} are addressed by product "
                f"plans, marketing messages and sales training alike; {c['disconnected_needs']} "
                f"are addressed by some functions and missed by others; "
                f"{c['unaddressed_needs']} are addressed by none. {len(self.off_target)} "
                f"item(s) address none of the top needs.")

    def cell(self, code: str, kind: str) -> Cell:
        for r in self.rows:
            if r.need.code == code:
                return next(c for c in r.cells if c.kind == kind)
        raise KeyError(code)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        for r, row in zip(out["rows"], self.rows, strict=True):
            r["disconnected"], r["status"] = row.disconnected, row.status
        out["counts"], out["summary"], out["functions"] = self.counts, self.summary, FUNCTIONS
        return out

    def to_pandas(self) -> Any:
        return pd.DataFrame([{"rank": r.rank, "code": r.need.code, "need": r.need.title,
                              "opportunity": r.need.opportunity,
                              **{FUNCTIONS[c.kind]: c.status for c in r.cells}}
                             for r in self.rows])

    def to_html(self) -> str:
        """A standalone page (inline CSS, no external resources) a senior manager reads."""
        env = Environment(loader=PackageLoader("outsidein.services.share", "templates"),
                          autoescape=select_autoescape(["html", "j2"]))
        return env.get_template("alignment.html.j2").render(review=self, functions=FUNCTIONS)

    def _repr_html_(self) -> str:
        return self.to_html()

    def to_pdf(self, path: str | os.PathLike[str], *, chromium: str | None = None,
               timeout: float = 90.0) -> Path:
        """Print :meth:`to_html` to PDF with headless Chromium; return the PDF path."""
        return html_to_pdf(self.to_html(), Path(path), chromium=chromium, timeout=timeout)

    def __repr__(self) -> str:
        c = self.counts
        return (f"AlignmentReview(top={len(self.rows)}, aligned={c['aligned_needs']}, "
                f"disconnected={c['disconnected_needs']}, unaddressed={c['unaddressed_needs']}, "
                f"off_target={len(self.off_target)})")


# -- items --------------------------------------------------------------------------------

def parse_needs(text: str) -> dict[str, str]:
    """Parse ``"N1;N3:partial"`` into ``{"N1": "full", "N3": "partial"}``.

    >>> parse_needs("N1; N3:partial")
    {'N1': 'full', 'N3': 'partial'}
    """
    out: dict[str, str] = {}
    for token in (t.strip() for t in (text or "").replace(",", ";").split(";")):
        if not token:
            continue
        code, _, coverage = token.partition(":")
        code, coverage = code.strip(), (coverage.strip().lower() or "full")
        if not code or coverage not in m.COVERAGES:
            raise DataValidationError(f"need reference {token!r}: expected a need code with an "
                                      "optional ':partial' or ':full', like 'N3:partial'")
        out[code] = coverage
    return out


def _links(needs: Mapping[str, str] | Iterable[str] | str) -> dict[str, str]:
    if isinstance(needs, str):
        return parse_needs(needs)
    if isinstance(needs, Mapping):
        links = {str(k).strip(): str(v).strip().lower() for k, v in needs.items()}
        bad = [f"{k}:{v}" for k, v in links.items() if v not in m.COVERAGES]
        if bad:
            raise DataValidationError(f"coverage {bad[0]!r}: expected 'full' or 'partial'")
        return links
    return {str(code).strip(): "full" for code in needs}


def _need_ids(session: Session) -> dict[str, int]:
    return {code: nid for nid, code in session.execute(select(m.Need.id, m.Need.code))}


def _item(session: Session, row: m.AlignmentItem) -> AlignmentItem:
    stmt = (select(m.Need.code, m.AlignmentItemNeed.coverage)
            .join(m.Need, m.Need.id == m.AlignmentItemNeed.need_id)
            .where(m.AlignmentItemNeed.item_id == row.id).order_by(m.Need.code))
    return AlignmentItem(id=row.id, kind=row.kind, title=row.title, owner=row.owner,
                         needs=tuple(NeedLink(c, cov) for c, cov in session.execute(stmt)),
                         created_at=row.created_at)


def _check_item(kind: str, title: str, links: dict[str, str], known: dict[str, int]) -> None:
    if kind not in m.ITEM_KINDS:
        raise DataValidationError(f"kind {kind!r}: expected one of {', '.join(m.ITEM_KINDS)} "
                                  "(product plan, marketing message, sales training)")
    if not title:
        raise DataValidationError("title is empty")
    unknown = [c for c in links if c not in known]
    if unknown:
        raise DataValidationError(f"need {unknown[0]!r} is not in the needs register; add it "
                                  "first (on the Needs page, or 'outsidein needs add') or fix "
                                  "the code")


def _save_item(session: Session, kind: str, title: str, owner: str, links: dict[str, str],
               known: dict[str, int], now: datetime) -> tuple[m.AlignmentItem, bool]:
    row = session.scalar(select(m.AlignmentItem).where(m.AlignmentItem.kind == kind,
                                                       m.AlignmentItem.title == title))
    created = row is None
    if row is None:
        row = m.AlignmentItem(kind=kind, title=title, owner=owner, created_at=now)
        session.add(row)
        session.flush()
    else:
        row.owner = owner
        for link in session.scalars(select(m.AlignmentItemNeed)
                                    .where(m.AlignmentItemNeed.item_id == row.id)):
            session.delete(link)
        session.flush()
    for code, coverage in links.items():
        session.add(m.AlignmentItemNeed(item_id=row.id, need_id=known[code], coverage=coverage))
    session.flush()
    return row, created


def add_item(session: Session, *, kind: str, title: str, owner: str = "",
             needs: Mapping[str, str] | Iterable[str] | str = (),
             now: datetime | None = None) -> AlignmentItem:
    """Record a plan, message or training item and the needs it addresses.

    An item with the same kind and title is updated (owner and needs replaced).
    """
    kind, title = (kind or "").strip().lower(), (title or "").strip()
    links, known = _links(needs), _need_ids(session)
    _check_item(kind, title, links, known)
    row, _ = _save_item(session, kind, title, (owner or "").strip(), links, known, now or utcnow())
    return _item(session, row)


def list_items(session: Session, *, kind: str | None = None) -> list[AlignmentItem]:
    stmt = select(m.AlignmentItem).order_by(m.AlignmentItem.kind, m.AlignmentItem.id)
    if kind:
        stmt = stmt.where(m.AlignmentItem.kind == kind)
    return [_item(session, r) for r in session.scalars(stmt)]


def import_items_csv(session: Session, path: str | os.PathLike[str]) -> ImportResult:
    """Import items from a CSV with columns ``kind,title,owner,needs``.

    ``needs`` looks like ``N1;N3:partial``.  Every row is checked first; if any is bad
    nothing is imported and the error names each bad row (row 2 is the first data row).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise DataValidationError(f"{path}: file not found") from exc
    except UnicodeDecodeError as exc:
        raise DataValidationError(f"{path}: not UTF-8 text; save the CSV as UTF-8") from exc
    reader = csv.DictReader(text.splitlines())
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in ("kind", "title", "needs") if c not in header]
    if missing:
        raise DataValidationError(f"{path.name}: missing column(s) {', '.join(missing)}; expected "
                                  f"a header row {','.join(CSV_COLUMNS)}, found "
                                  f"{','.join(header) or 'none'}")
    reader.fieldnames = header
    known = _need_ids(session)
    parsed: list[tuple[str, str, str, dict[str, str]]] = []
    errors: list[str] = []
    for number, raw in enumerate(reader, start=2):
        rec = {k: (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(rec.values()):
            continue
        try:
            links = parse_needs(rec.get("needs", ""))
            _check_item(rec.get("kind", "").lower(), rec.get("title", ""), links, known)
        except DataValidationError as exc:
            errors.append(f"row {number}: {exc}")
            continue
        parsed.append((rec["kind"].lower(), rec["title"], rec.get("owner", ""), links))
    if errors:
        more = f"; and {len(errors) - 10} more" if len(errors) > 10 else ""
        raise DataValidationError(f"{path.name}: {len(errors)} bad row(s), nothing imported: "
                                  + "; ".join(errors[:10]) + more)
    now, created, updated, rows = utcnow(), 0, 0, []
    for kind, title, owner, links in parsed:
        row, is_new = _save_item(session, kind, title, owner, links, known, now)
        created, updated = created + is_new, updated + (not is_new)
        rows.append(row)
    return ImportResult(created=created, updated=updated,
                        items=tuple(_item(session, r) for r in rows))


# -- review -------------------------------------------------------------------------------

def alignment_review(session: Session, top: int = 10) -> AlignmentReview:
    """The top *top* needs against product plans, marketing messages and sales training."""
    needs = ranked_needs(session, top=top)
    items = list_items(session)
    top_codes = {n.code for n in needs}
    rows = []
    for rank, need in enumerate(needs, start=1):
        cells = []
        for kind in FUNCTIONS:
            full = tuple(i.title for i in items if i.kind == kind
                         and any(ln.code == need.code and ln.coverage == "full" for ln in i.needs))
            partial = tuple(i.title for i in items if i.kind == kind
                            and any(ln.code == need.code and ln.coverage == "partial"
                                    for ln in i.needs))
            status = "addressed" if full else "partly" if partial else "missed"
            cells.append(Cell(kind=kind, status=status, full=full, partial=partial))
        rows.append(NeedRow(rank=rank, need=need, cells=tuple(cells)))
    off = tuple(i for i in items if not any(ln.code in top_codes for ln in i.needs))
    return AlignmentReview(top=top, rows=tuple(rows), off_target=off, generated_at=utcnow())


# -- PDF ----------------------------------------------------------------------------------

#: What to do when Chromium is missing (the start of the error people read).
HOW_TO_GET_CHROMIUM = ("install it with 'apt-get install chromium' (Debian, Ubuntu) or "
                       "'brew install --cask chromium' (macOS), or set OUTSIDEIN_CHROMIUM to its "
                       "path; the HTML export works without it")


def find_chromium(explicit: str | None = None) -> str:
    """``explicit``, else ``$OUTSIDEIN_CHROMIUM``, else ``/usr/bin/chromium`` or ``chromium`` on
    the PATH.  A path that is given but missing is an error (never silently another browser).

    >>> find_chromium("/nonexistent/chromium")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    outsidein.errors.ConfigError: PDF needs Chromium: /nonexistent/chromium (the configured ...
    """
    configured = explicit or Settings.from_env().chromium
    if configured:
        if Path(configured).is_file():
            return configured
        raise ConfigError(f"PDF needs Chromium: {configured} (the configured Chromium, "
                          f"OUTSIDEIN_CHROMIUM) does not exist; {HOW_TO_GET_CHROMIUM}")
    for candidate in ("/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).is_file():
            return candidate
    raise ConfigError(f"PDF needs Chromium: {HOW_TO_GET_CHROMIUM}")


def html_to_pdf(html: str, path: Path, *, chromium: str | None = None,
                timeout: float = 90.0) -> Path:
    """Print a standalone HTML page to *path* with ``chromium --headless --print-to-pdf``."""
    exe = find_chromium(chromium)
    path = Path(path).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="outsidein-pdf-") as tmp:
        page = Path(tmp) / "page.html"
        page.write_text(html, encoding="utf-8")
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={tmp}/profile", "--no-pdf-header-footer",
               f"--print-to-pdf={path}", page.as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                  env={**os.environ, "HOME": tmp})
        except subprocess.TimeoutExpired as exc:
            raise OutsideInError(f"Chromium did not finish printing {path.name} within "
                                 f"{timeout:g} s") from exc
    if proc.returncode != 0 or not path.is_file() or path.stat().st_size == 0:
        tail = (proc.stderr or "").strip().splitlines()[-3:]
        raise OutsideInError(f"Chromium could not print {path}: exit {proc.returncode}; "
                             + " | ".join(tail))
    return path
