"""Shared customer truth: the insight hub with verifiable acknowledgement, Ask-Listen-Learn-Act,
notifications, the unmet-needs register and the alignment review.

Every service takes a SQLAlchemy ``Session`` first (``outsidein.store.db.session_scope``) and
returns frozen dataclasses with ``.to_dict()``, never ORM objects.
"""

from __future__ import annotations

from outsidein.services.share._common import user_by_email
from outsidein.services.share.alignment import (
    FUNCTIONS,
    AlignmentItem,
    AlignmentReview,
    Cell,
    ImportResult,
    NeedLink,
    NeedRow,
    add_item,
    alignment_review,
    import_items_csv,
    list_items,
    parse_needs,
)
from outsidein.services.share.alla import (
    Action,
    AllaBoard,
    AllaChain,
    Heard,
    Learning,
    Outcome,
    Question,
    act,
    alla_board,
    ask,
    get_action,
    judge,
    learn,
    list_actions,
    list_questions,
    listen,
    record_outcome,
)
from outsidein.services.share.audit import export_audit_log
from outsidein.services.share.auto import (
    InsightDraft,
    default_owner_email,
    known_departments,
    outbox_tick,
    publish_draft,
    run_outbox_worker,
)
from outsidein.services.share.csv_export import neutralise_cell, to_csv
from outsidein.services.share.digest import (
    Digest,
    DigestAction,
    DigestInsight,
    daily_digest,
    enqueue_digests,
    send_digest,
)
from outsidein.services.share.insight_lists import (
    AckRow,
    AckTally,
    InsightPage,
    ack_tally,
    awaiting_among,
    insight_page,
    list_insights,
    next_awaiting,
)
from outsidein.services.share.insights import (
    AckCount,
    AckEntry,
    Acknowledgement,
    AckStatus,
    DepartmentAck,
    Insight,
    InsightVersionSummary,
    ack_counts,
    ack_status,
    acknowledge,
    get_insight,
    get_insight_by_key,
    list_acknowledgements,
    list_versions,
    publish_insight,
)
from outsidein.services.share.lists import (
    ListOwner,
    assign_list,
    list_owner,
    list_owner_history,
)
from outsidein.services.share.needs import (
    Need,
    add_need,
    get_need,
    opportunity_score,
    ranked_needs,
    update_need,
)
from outsidein.services.share.notify import (
    DeliveryReport,
    NotifySettings,
    OutboxEntry,
    SmtpSettings,
    deliver_outbox,
    enqueue,
    enqueue_due_events,
    list_outbox,
    notify_settings,
)
from outsidein.services.share.remind import Reminder, remind_pending

__all__ = [
    "AckCount", "AckEntry", "AckStatus", "ack_counts", "Acknowledgement", "DepartmentAck",
    "Insight",
    "InsightVersionSummary", "ack_status", "acknowledge", "export_audit_log", "get_insight",
    "get_insight_by_key", "list_acknowledgements", "list_insights", "list_versions",
    "publish_insight",
    "DeliveryReport", "NotifySettings", "OutboxEntry", "SmtpSettings", "deliver_outbox",
    "enqueue", "enqueue_due_events", "list_outbox", "notify_settings",
    "Digest", "DigestAction", "DigestInsight", "daily_digest", "enqueue_digests", "send_digest",
    "Action", "AllaBoard", "AllaChain", "Heard", "Learning", "Outcome", "Question", "act",
    "alla_board", "ask", "get_action", "judge", "learn", "list_actions", "list_questions", "listen",
    "record_outcome",
    "Need", "add_need", "get_need", "opportunity_score", "ranked_needs", "update_need",
    "FUNCTIONS", "AlignmentItem", "AlignmentReview", "Cell", "ImportResult", "NeedLink", "NeedRow",
    "add_item",
    "alignment_review", "import_items_csv", "list_items", "parse_needs",
    "user_by_email", "neutralise_cell", "to_csv",
    "ListOwner", "assign_list", "list_owner", "list_owner_history",
    "default_owner_email", "outbox_tick", "InsightDraft", "known_departments", "publish_draft",
    "run_outbox_worker",
    "Reminder", "remind_pending", "next_awaiting",
    "AckRow", "AckTally", "InsightPage", "ack_tally", "awaiting_among", "insight_page",
]
