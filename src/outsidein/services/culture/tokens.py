"""Invitations to the culture survey: one-time tokens, and the reminder list of unused ones.

A token belongs to one organisation in one wave and to nobody in particular: the store never
holds who it was sent to.  :func:`invite` makes tokens (and, given people's addresses, pairs
each with one **only in what it returns**, for the consultant's mail merge); the survey page
lives at ``/survey/<token>``; :func:`reminders` lists the tokens not used yet, so the same
mail merge can remind exactly those people.  A used token records only that it was used.

>>> survey_path("AbC")
'/survey/AbC'
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from outsidein.errors import ConflictError, DataValidationError
from outsidein.services.culture.waves import get_org, get_wave, record
from outsidein.store.models.culture import CultureInvitation, CultureOrg

__all__ = ["MAX_INVITES", "Invitation", "invite", "reminders", "survey_path"]

#: Tokens made at a time (a larger organisation is invited in several goes).
MAX_INVITES = 100_000
#: Random bytes in a token (32 URL-safe characters: not guessable).
TOKEN_BYTES = 24


def survey_path(token: str) -> str:
    """The survey page's path for *token*."""
    return f"/survey/{token}"


@dataclass(frozen=True)
class Invitation:
    """A token to send (with the address it is for, when one was given; never stored)."""

    org: str
    token: str
    path: str
    to: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"org": self.org, "token": self.token, "path": self.path, "to": self.to}


def invite(session: Session, wave_name: str, org_name: str, *, count: int | None = None,
           people: Sequence[str] = (), actor: str = "cli") -> list[Invitation]:
    """Make one-time tokens for *org_name* in an open wave: *count* of them, or one per person.

    *people* (e-mail addresses or names) are paired with the tokens in what is returned,
    for sending; the store keeps only the tokens.

    Raises
    ------
    ConflictError
        The wave is closed.
    DataValidationError
        Neither *count* nor *people*, or more than :data:`MAX_INVITES`.
    """
    wave = get_wave(session, wave_name)
    if wave.status != "open":
        raise ConflictError(f"wave {wave.name!r} is closed: open a new wave to invite people")
    org = get_org(session, org_name)
    n = len(people) if people else int(count or 0)
    if n < 1 or n > MAX_INVITES:
        raise DataValidationError(f"count {n}: expected 1 to {MAX_INVITES:,} invitations "
                                  "(or a list of people)")
    tokens = [secrets.token_urlsafe(TOKEN_BYTES) for _ in range(n)]
    session.add_all(CultureInvitation(wave_id=wave.id, org_id=org.id, token=t, used=False)
                    for t in tokens)
    session.flush()
    record(session, "culture.invite", f"{wave.name}/{org.name}", actor, count=n)
    to: Sequence[str | None] = list(people) if people else [None] * n
    return [Invitation(org.name, t, survey_path(t), p) for t, p in zip(tokens, to, strict=True)]


def reminders(session: Session, wave_name: str, org_name: str | None = None) -> list[Invitation]:
    """The tokens of an open wave not used yet (all organisations, or *org_name*'s)."""
    wave = get_wave(session, wave_name)
    if wave.status != "open":
        raise ConflictError(f"wave {wave.name!r} is closed: there is nobody left to remind")
    q = (select(CultureOrg.name, CultureInvitation.token)
         .join(CultureOrg, CultureOrg.id == CultureInvitation.org_id)
         .where(CultureInvitation.wave_id == wave.id, CultureInvitation.used.is_(False))
         .order_by(CultureOrg.name, CultureInvitation.id))
    if org_name is not None:
        q = q.where(CultureInvitation.org_id == get_org(session, org_name).id)
    return [Invitation(o, t, survey_path(t)) for o, t in session.execute(q).all()]
