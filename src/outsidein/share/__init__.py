"""Shared customer truth: the insight hub with verifiable acknowledgement, Ask-Listen-Learn-Act,
notifications, the unmet-needs register and the alignment review.

Every service takes a SQLAlchemy ``Session`` first (``outsidein.store.db.session_scope``) and
returns frozen dataclasses with ``.to_dict()``, never ORM objects.
"""

from __future__ import annotations

from outsidein.share.audit import export_audit_log
from outsidein.share.insights import (
    AckEntry,
    AckStatus,
    Acknowledgement,
    DepartmentAck,
    Insight,
    InsightVersionSummary,
    ack_status,
    acknowledge,
    get_insight,
    get_insight_by_key,
    list_acknowledgements,
    list_insights,
    list_versions,
    publish_insight,
)
from outsidein.share.notify import (
    DeliveryReport,
    NotifySettings,
    OutboxEntry,
    SmtpSettings,
    deliver_outbox,
    enqueue_due_events,
    list_outbox,
    notify_settings,
)

__all__ = [
    "AckEntry", "AckStatus", "Acknowledgement", "DepartmentAck", "Insight",
    "InsightVersionSummary", "ack_status", "acknowledge", "export_audit_log", "get_insight",
    "get_insight_by_key", "list_acknowledgements", "list_insights", "list_versions",
    "publish_insight",
    "DeliveryReport", "NotifySettings", "OutboxEntry", "SmtpSettings", "deliver_outbox",
    "enqueue_due_events", "list_outbox", "notify_settings",
]
