"""A wave's responses as the table the culture engine reads, and its instrument.

:func:`wave_responses` gives one row per response: ``org``, ``department``, ``role``,
``wave``, one column per item id (the answer as given, on the item's scale; NaN where not
answered) and ``comment``.  There is no respondent key: a response cannot be traced to a
token or a person.  :func:`wave_instrument` rebuilds the wave's own instrument from the items
it kept when it opened, so an old wave is scored as it was asked.  :func:`org_table` is one
row per organisation (``org``, ``industry``, ``employees``) for the benchmark's cuts.

>>> wave_instrument_doc("2026.1", [{"id": "a"}], None)["version"]
'2026.1'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from outsidein.culture.instrument import Instrument, build_instrument
from outsidein.services.culture.waves import get_wave
from outsidein.store.models.culture import (
    CultureDepartment,
    CultureOrg,
    CultureResponse,
    CultureWave,
)

__all__ = ["NO_DEPARTMENT", "org_table", "responses_frame", "wave_instrument",
           "wave_instrument_doc", "wave_responses"]

#: The department of a response whose department was since deleted.
NO_DEPARTMENT = "(no department)"


def wave_instrument_doc(version: str, items: Sequence[dict[str, Any]],
                        comment: str | None) -> dict[str, Any]:
    """The instrument document of a wave (what :func:`build_instrument` reads)."""
    doc: dict[str, Any] = {"version": version, "items": [dict(i) for i in items]}
    if comment:
        doc["comment"] = comment
    return doc


def wave_instrument(wave: CultureWave) -> Instrument:
    """The instrument the wave was asked with."""
    return build_instrument(wave_instrument_doc(wave.instrument_version, wave.items or [],
                                                wave.comment_prompt))


def responses_frame(rows: Sequence[tuple[str, str | None, str | None, dict[str, Any],
                                         str | None]],
                    item_ids: Sequence[str], wave: str) -> pd.DataFrame:
    """(org, department, role, answers, comment) tuples as the engine's responses table.

    >>> responses_frame([("Acme", "Sales", "staff", {"a": 4}, None)], ["a", "b"], "w1")
    ... # doctest: +NORMALIZE_WHITESPACE
        org department   role wave    a   b comment
    0  Acme      Sales  staff   w1  4.0 NaN    None
    """
    ids = list(item_ids)
    values = np.full((len(rows), len(ids)), np.nan)
    pos = {k: j for j, k in enumerate(ids)}
    for i, (_, _, _, answers, _) in enumerate(rows):
        for k, v in (answers or {}).items():
            j = pos.get(k)
            if j is not None and v is not None:
                values[i, j] = float(v)
    frame = pd.DataFrame({
        "org": [r[0] for r in rows],
        "department": [r[1] or NO_DEPARTMENT for r in rows],
        "role": [r[2] or "" for r in rows],
        "wave": [wave] * len(rows)})
    items = pd.DataFrame(values, columns=ids)
    frame = pd.concat([frame, items], axis=1)
    frame["comment"] = pd.Series([r[4] for r in rows], dtype=object)
    return frame


def wave_responses(session: Session, wave_name: str | int) -> tuple[CultureWave, pd.DataFrame]:
    """The wave and its responses table (see the module doc)."""
    wave = get_wave(session, wave_name)
    q = (select(CultureOrg.name, CultureDepartment.name, CultureResponse.role,
                CultureResponse.answers, CultureResponse.comment)
         .join(CultureOrg, CultureOrg.id == CultureResponse.org_id)
         .outerjoin(CultureDepartment, CultureDepartment.id == CultureResponse.department_id)
         .where(CultureResponse.wave_id == wave.id)
         .order_by(CultureOrg.name, CultureDepartment.name, CultureResponse.id))
    rows = [tuple(r) for r in session.execute(q).all()]
    return wave, responses_frame(rows, [str(i["id"]) for i in wave.items or []],  # type: ignore[arg-type]
                                 wave.name)


def org_table(session: Session, names: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per organisation: ``org``, ``industry``, ``employees`` (None where unknown)."""
    q = select(CultureOrg.name, CultureOrg.industry, CultureOrg.size).order_by(CultureOrg.name)
    if names is not None:
        q = q.where(CultureOrg.name.in_(list(names)))
    rows = session.execute(q).all()
    return pd.DataFrame({"org": [r[0] for r in rows],
                         "industry": [r[1] or "unknown" for r in rows],
                         "employees": pd.array([r[2] for r in rows], dtype="Int64")})
