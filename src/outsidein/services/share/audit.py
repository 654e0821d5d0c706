"""Export the accountability trail: acknowledgements, actions and outcomes, oldest first."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from outsidein.errors import DataValidationError
from outsidein.services.share.csv_export import to_csv
from outsidein.store.models import share as m
from outsidein.store.models.auth import ApiKey, Department, User

AUDIT_COLUMNS = ("ts", "event", "user_email", "insight_id", "version", "version_hash",
                 "action_id", "department", "detail")


def audit_rows(session: Session) -> list[dict[str, Any]]:
    """Every acknowledgement, action and outcome as flat rows sorted by time."""
    rows: list[dict[str, Any]] = []
    acks = (select(m.Acknowledgement, m.InsightVersion.version, User.email, ApiKey.prefix,
                   ApiKey.name)
            .join(m.InsightVersion, m.InsightVersion.id == m.Acknowledgement.version_id)
            .join(User, User.id == m.Acknowledgement.user_id)
            .outerjoin(ApiKey, ApiKey.id == m.Acknowledgement.api_key_id))
    for ack, version, email, key_prefix, key_name in session.execute(acks):
        via = f"via API key {key_prefix} ({key_name})" if key_prefix else ""
        rows.append({"ts": ack.acknowledged_at, "event": "acknowledgement", "user_email": email,
                     "insight_id": ack.insight_id, "version": version,
                     "version_hash": ack.version_hash, "action_id": None, "department": "",
                     "detail": via, "_order": (0, ack.id)})
    acts = (select(m.InsightAction, User.email, Department.name)
            .join(User, User.id == m.InsightAction.owner_id)
            .join(Department, Department.id == m.InsightAction.department_id))
    titles: dict[int, tuple[int, str, str]] = {}
    for act, email, dept in session.execute(acts):
        titles[act.id] = (act.insight_id, email, dept)
        rows.append({"ts": act.created_at, "event": "action", "user_email": email,
                     "insight_id": act.insight_id, "version": None, "version_hash": "",
                     "action_id": act.id, "department": dept,
                     "detail": (f"{act.title}; due {act.due.isoformat()}; {act.kpi} "
                                f"{act.kpi_baseline:g} -> {act.kpi_target:g}"),
                     "_order": (1, act.id)})
    for out in session.scalars(select(m.ActionOutcome)):
        insight_id, email, dept = titles.get(out.action_id, (None, "", ""))
        verdict = "success" if out.success else "failure"
        rows.append({"ts": out.recorded_at, "event": "outcome", "user_email": email,
                     "insight_id": insight_id, "version": None, "version_hash": "",
                     "action_id": out.action_id, "department": dept,
                     "detail": (f"{verdict}: KPI {out.kpi_value:g} measured "
                                f"{out.measured_at.isoformat()}"
                                + (f"; {out.note}" if out.note else "")),
                     "_order": (2, out.id)})
    rows.sort(key=lambda r: (r["ts"], r["_order"]))
    for r in rows:
        del r["_order"]
        r["ts"] = r["ts"].isoformat()
    return rows


def export_audit_log(session: Session, fmt: str = "csv") -> str:
    """The audit trail as CSV (with a header row) or a JSON list.

    Columns: ``ts, event (acknowledgement|action|outcome), user_email, insight_id, version,
    version_hash, action_id, department, detail``; an acknowledgement made through an API
    key says which in ``detail``.  CSV cells that a spreadsheet would run as formulas are
    neutralised (:func:`~outsidein.services.share.csv_export.to_csv`).
    """
    if fmt not in ("csv", "json"):
        raise DataValidationError(f"audit log format {fmt!r}: expected 'csv' or 'json'")
    rows = audit_rows(session)
    if fmt == "json":
        return json.dumps(rows, indent=2, ensure_ascii=False)
    return to_csv(rows, AUDIT_COLUMNS)
