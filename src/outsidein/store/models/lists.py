"""Who owns working through a list (e.g. "call these 25 prospects"): append-only assignments.

A list is named by its table (``answer_likely_converts``); each assignment is a new row, so
the current owner is the latest row and the history of hand-overs comes for free.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from outsidein.store.models.base import Base, utcnow

__all__ = ["ListAssignment"]


class ListAssignment(Base):
    """One assignment of a list to the person who owns working through it."""

    __tablename__ = "list_assignments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_name: Mapped[str] = mapped_column(String(200), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
