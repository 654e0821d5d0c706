"""The culture survey's operational records: organisations, departments, roles, waves,
invitations, drafts and anonymous responses.

- ``culture_orgs``: the client organisations (or the company itself), with the industry and
  size band the benchmark cuts by.
- ``culture_departments`` and ``culture_roles``: what the survey asks each respondent to pick
  (department and role are asked in the survey, never read from an invitation);
  ``headcount`` is the denominator of a department's response rate.
- ``culture_waves``: one round of the survey, with the instrument's version and items as they
  were when the wave opened (a wave keeps being scored with its own items).
- ``culture_invitations``: one-time tokens for one organisation in one wave.  A token
  records only *that* it was used: no person, no time.
- ``culture_drafts``: the answers saved so far under a token, so a respondent can come back;
  deleted when the survey is submitted (or the wave closed).
- ``culture_responses``: one submitted survey, stored **without** its token, its time or
  anything else that could link it to a person; its key is random, so not even the order of
  submission is kept.  ``answers`` hold each item's answer as given, on the item's scale
  (reverse-keyed items are reversed when scoring).
- ``culture_imports``: one row per CSV imported into a wave, with its SHA-256, so the same
  file is refused the second time; an imported response keeps the id of its import (a file,
  not a person) so ``--replace`` can take a wrong import back.
- ``culture_quarantine``: rows of an imported CSV that were not taken, with their 1-based row
  number, the column and the reason, as the warehouse loader's quarantine keeps them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from outsidein.store.models.base import Base, utcnow

__all__ = ["CultureDepartment", "CultureDraft", "CultureImport", "CultureInvitation",
           "CultureOrg", "CultureQuarantine", "CultureResponse", "CultureRole", "CultureWave"]


class CultureOrg(Base):
    """An organisation surveyed (a client of the consultant, or the company itself)."""

    __tablename__ = "culture_orgs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    industry: Mapped[str | None] = mapped_column(String(100), nullable=True)
    #: number of employees (the benchmark cuts by size bands of it)
    size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CultureDepartment(Base):
    """A department of one organisation, offered in the survey's department question."""

    __tablename__ = "culture_departments"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_culture_department"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("culture_orgs.id", ondelete="CASCADE"),
                                        index=True)
    name: Mapped[str] = mapped_column(String(200))
    #: people invited from it (the denominator of its response rate); None: unknown
    headcount: Mapped[int | None] = mapped_column(Integer, nullable=True)


class CultureRole(Base):
    """A role (e.g. "manager", "staff") offered in the survey's role question."""

    __tablename__ = "culture_roles"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_culture_role"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("culture_orgs.id", ondelete="CASCADE"),
                                        index=True)
    name: Mapped[str] = mapped_column(String(100))


class CultureWave(Base):
    """One round of the survey: open (taking answers) or closed."""

    __tablename__ = "culture_waves"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    instrument_version: Mapped[str] = mapped_column(String(50))
    #: the instrument's items when the wave opened: [{"id", "component", "text", ...}]
    items: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: the instrument's free-text question (None: no comment asked)
    comment_prompt: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | closed
    #: "survey" (answered through Outside-In) or "import" (a CSV from another tool)
    source: Mapped[str] = mapped_column(String(20), default="survey")
    #: illustrative data (the demo's simulated waves), labelled so wherever it shows
    illustrative: Mapped[bool] = mapped_column(Boolean, default=False)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)


class CultureInvitation(Base):
    """A one-time token for one organisation in one wave; it records only that it was used."""

    __tablename__ = "culture_invitations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("culture_waves.id", ondelete="CASCADE"),
                                         index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("culture_orgs.id", ondelete="CASCADE"),
                                        index=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    used: Mapped[bool] = mapped_column(Boolean, default=False)


class CultureDraft(Base):
    """Answers saved so far under an invitation (deleted when submitted)."""

    __tablename__ = "culture_drafts"
    invitation_id: Mapped[int] = mapped_column(
        ForeignKey("culture_invitations.id", ondelete="CASCADE"), primary_key=True)
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("culture_departments.id", ondelete="SET NULL"), nullable=True)
    role: Mapped[str | None] = mapped_column(String(100), nullable=True)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)


class CultureResponse(Base):
    """One submitted survey: no token, no time, a random key (see the module doc)."""

    __tablename__ = "culture_responses"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random hex
    wave_id: Mapped[int] = mapped_column(ForeignKey("culture_waves.id", ondelete="CASCADE"),
                                         index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("culture_orgs.id", ondelete="CASCADE"),
                                        index=True)
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("culture_departments.id", ondelete="SET NULL"), nullable=True, index=True)
    role: Mapped[str | None] = mapped_column(String(100), nullable=True)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    source: Mapped[str] = mapped_column(String(20), default="survey")
    #: the import (a CSV file) it came from; None for answers given through the survey
    import_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)


class CultureImport(Base):
    """One CSV imported into a wave: its name, its content's SHA-256 and what was taken."""

    __tablename__ = "culture_imports"
    __table_args__ = (UniqueConstraint("wave_id", "sha256", name="uq_culture_import_content"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("culture_waves.id", ondelete="CASCADE"),
                                         index=True)
    file: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(71))  # "sha256:" + 64 hex digits
    rows: Mapped[int] = mapped_column(Integer)
    imported: Mapped[int] = mapped_column(Integer)
    quarantined: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


class CultureQuarantine(Base):
    """One row of an imported file that was not taken, and why."""

    __tablename__ = "culture_quarantine"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("culture_waves.id", ondelete="CASCADE"),
                                         index=True)
    file: Mapped[str] = mapped_column(String(500))
    #: 1-based data row number in the file (header excluded), as in the loader
    row_number: Mapped[int] = mapped_column(Integer)
    column: Mapped[str] = mapped_column(String(200), default="")
    reason: Mapped[str] = mapped_column(String(500))
    raw: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
