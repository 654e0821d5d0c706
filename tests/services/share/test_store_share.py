"""The 0002_share migration matches the models and downgrades cleanly; acknowledgement holds
under concurrency; analyses publish automatically; the outbox worker step; score maths."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from importlib.resources import files

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import inspect

from outsidein.errors import NotFoundError
from outsidein.report.sections.share import share_section
from outsidein.services.share import (
    InsightDraft,
    acknowledge,
    add_item,
    add_need,
    default_owner_email,
    judge,
    list_acknowledgements,
    list_outbox,
    notify_settings,
    opportunity_score,
    outbox_tick,
    publish_draft,
)
from outsidein.store.db import make_engine, session_scope
from outsidein.store.migrate import alembic_config, current_revision, upgrade
from outsidein.store.models import Base
from outsidein.store.models import share as models

#: The newest revision, read from the migration scripts themselves.
HEAD = ScriptDirectory(str(files("outsidein") / "store" / "migrations")).get_current_head()
SHARE_TABLES = {c.__table__.name for c in vars(models).values()
                if isinstance(c, type) and issubclass(c, Base) and c is not Base}


def test_migration_creates_exactly_the_model_tables(store_url):
    with make_engine(store_url).connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = [d for d in compare_metadata(ctx, Base.metadata)
                 if any(f"'{name}'" in repr(d) for name in SHARE_TABLES)]
    assert diffs == []
    assert len(SHARE_TABLES) == 14


def test_downgrade_to_auth_and_back(store_url):
    cfg = alembic_config(store_url)
    with make_engine(store_url).begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001_auth")
    assert not SHARE_TABLES & set(inspect(make_engine(store_url)).get_table_names())
    assert current_revision(store_url) == "0001_auth"
    upgrade(store_url)
    assert SHARE_TABLES <= set(inspect(make_engine(store_url)).get_table_names())
    assert HEAD is not None and current_revision(store_url) == HEAD


@pytest.mark.postgres
def test_concurrent_acknowledgements_of_one_version_record_one(pg_org):
    with session_scope(pg_org.url) as s:
        ins = publish_draft(s, InsightDraft(key="k", title="T", statement="S", evidence={},
                                            departments=("sales",)))
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def ack() -> None:
        try:
            with session_scope(pg_org.url) as s:
                barrier.wait(timeout=10)
                acknowledge(s, insight_id=ins.id, version_hash=ins.version_hash,
                            user_id=pg_org.alice)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=ack) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    with session_scope(pg_org.url) as s:
        assert [a.user_email for a in list_acknowledgements(s, ins.id)] == ["alice@acme.example"]


def test_analysis_publishes_with_the_advocate_as_owner_and_versions_on_change(sqlite_org):
    with session_scope(sqlite_org.url) as s:
        def draft(share: float, snapshot: str, chart: bool) -> InsightDraft:
            evidence = {"figures": {"share_unprofitable": share}, "link": "/answers/cost",
                        "snapshot_id": snapshot}
            if chart:
                evidence["chart"] = {"data": [{"type": "bar", "y": [1, 2]}]}
            return InsightDraft(
                key="five_questions.cost_to_serve", departments=("service", "finance"),
                title=f"{share:.0%} of customers cost more to serve than they bring",
                statement="Move them to self-service.", evidence=evidence)

        first = publish_draft(s, draft(0.12, "snap-1", True))
        rerun = publish_draft(s, draft(0.12, "snap-1", True))
        changed = publish_draft(s, draft(0.14, "snap-2", False))
    assert first.owner_email == "ada@acme.example" and first.source == "analysis"
    assert first.evidence["snapshot_id"] == "snap-1" and first.evidence["link"] == "/answers/cost"
    assert not rerun.new_version and (changed.version, changed.new_version) == (2, True)


def test_without_an_advocate_automatic_insights_say_who_to_create(sqlite_url):
    with session_scope(sqlite_url) as s, pytest.raises(NotFoundError, match="--role advocate"):
        default_owner_email(s)


def test_outbox_tick_queues_digest_after_digest_hour_without_channels(sqlite_org):
    with session_scope(sqlite_org.url) as s:
        publish_draft(s, InsightDraft(key="k", title="T", statement="S", evidence={},
                                      departments=("sales",)), now=datetime(2026, 3, 1, 6))
        early = outbox_tick(s, notify_settings({}), now=datetime(2026, 3, 9, 6))
        kinds_early = [e.event for e in list_outbox(s)]
        outbox_tick(s, notify_settings({}), now=datetime(2026, 3, 9, 9))
        outbox_tick(s, notify_settings({}), now=datetime(2026, 3, 9, 9) + timedelta(hours=1))
        kinds = [e.event for e in list_outbox(s)]
    assert early is None and kinds_early == ["insight_version", "ack_overdue"]
    # one company digest and one per person with something to do (alice, bob), once a day
    assert kinds == ["insight_version", "ack_overdue", "digest", "digest", "digest"]


scores = st.floats(min_value=0, max_value=10, allow_nan=False)


@given(scores, scores, scores)
def test_opportunity_is_bounded_and_falls_as_satisfaction_rises(imp, sat, more):
    score = opportunity_score(imp, sat)
    assert imp <= score <= 2 * imp <= 20
    assert opportunity_score(imp, min(sat + more, 10)) <= score


kpi = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@given(kpi, kpi, kpi)
def test_an_outcome_succeeds_exactly_when_the_kpi_moved_toward_target(base, target, value):
    success, progress = judge(base, target, value)
    if target != base:
        assert success == (value > base if target > base else value < base)
        assert progress is None or progress == 0 or (progress > 0) == success
    else:
        assert progress is None


def test_report_section_shows_acknowledgement_and_alignment(ws_org):
    ws, org = ws_org
    assert share_section(ws) is None
    with session_scope(ws.store_url) as s:
        ins = publish_draft(s, InsightDraft(key="k", title="Advocates <refer> more",
                                            statement="S", evidence={}, departments=("sales",)))
        acknowledge(s, insight_id=ins.id, version_hash=ins.version_hash, user_id=org.alice)
        add_need(s, code="N1", title="Fast delivery", importance=9, satisfaction=3)
        add_item(s, kind="plan", title="Tracking", needs="N1")
    section = share_section(ws)
    assert section.summary.startswith("1 insight(s) shared, 1 not yet acknowledged by everyone")
    assert "Advocates &lt;refer&gt; more" in section.body_html
    assert "1 of 2" in section.body_html and "Fast delivery" in section.body_html
