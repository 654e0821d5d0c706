"""Insight hub: versions and hashes, acknowledgement rules, per-department status, audit log."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import datetime, timedelta

import pytest

from outsidein.errors import (
    ConflictError,
    DataValidationError,
    NotFoundError,
    PermissionDeniedError,
)
from outsidein.services.share import (
    ack_counts,
    ack_status,
    acknowledge,
    acks,
    export_audit_log,
    get_insight,
    list_insights,
    list_versions,
    publish_insight,
)
from outsidein.store.db import session_scope

T0 = datetime(2026, 3, 2, 9, 0)
EVIDENCE = {"figures": {"share_of_profit": 0.38, "customers": 412},
            "chart": {"data": [{"type": "bar", "x": ["A", "B"], "y": [38, 62]}], "layout": {}},
            "link": "/answers/value", "snapshot_id": "snap-2026-03-01"}


def publish(s, **kw):
    args = dict(title="Top 5% of customers give 38% of profit",
                statement="Call them within 24 hours of any complaint.", evidence=EVIDENCE,
                owner_email="ada@acme.example", departments=["sales", "service"],
                key="five_questions.value", now=T0)
    args.update(kw)
    return publish_insight(s, **args)


def test_republishing_same_content_keeps_version_and_changed_content_adds_one(org):
    with session_scope(org.url) as s:
        v1 = publish(s)
        same = publish(s, evidence=dict(reversed(list(EVIDENCE.items()))))  # key order irrelevant
        v2 = publish(s, statement="Call them within 4 hours of any complaint.")
    assert (v1.version, v1.new_version) == (1, True)
    assert (same.id, same.version, same.new_version) == (v1.id, 1, False)
    assert same.version_hash == v1.version_hash
    assert (v2.id, v2.version, v2.new_version) == (v1.id, 2, True)
    assert v2.version_hash != v1.version_hash
    canonical = json.dumps({"title": v1.title, "statement": v1.statement, "evidence": EVIDENCE},
                           sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert v1.version_hash == hashlib.sha256(canonical.encode()).hexdigest()
    with session_scope(org.url) as s:
        old = get_insight(s, v1.id, version=1)
        assert old.statement.startswith("Call them within 24 hours")
        assert (old.latest_version, old.is_latest) == (2, False)
        assert old.evidence["chart"]["data"][0]["y"] == [38, 62]
        assert [v.version for v in list_versions(s, v1.id)] == [1, 2]
        assert get_insight(s, v1.id).version == 2
        with pytest.raises(NotFoundError, match="no version 3"):
            get_insight(s, v1.id, version=3)


def test_publish_refuses_unknown_department_owner_and_priority(org):
    with session_scope(org.url) as s:
        with pytest.raises(NotFoundError, match="department 'legal' not found"):
            publish(s, departments=["legal"])
        with pytest.raises(NotFoundError, match="nobody@acme.example"):
            publish(s, owner_email="nobody@acme.example")
        with pytest.raises(DataValidationError, match="priority 'urgent'"):
            publish(s, priority="urgent")


def test_only_members_of_addressed_departments_acknowledge(org):
    with session_scope(org.url) as s:
        ins = publish(s)
    with session_scope(org.url) as s:
        with pytest.raises(PermissionDeniedError, match="not a member"):
            acknowledge(s, insight_id=ins.id, version_hash=ins.version_hash, user_id=org.dave)
        with pytest.raises(PermissionDeniedError, match="viewer"):
            acknowledge(s, insight_id=ins.id, version_hash=ins.version_hash, user_id=org.vic)
        with pytest.raises(NotFoundError, match="no version with hash"):
            acknowledge(s, insight_id=ins.id, version_hash="0" * 64, user_id=org.alice)
        first = acknowledge(s, insight_id=ins.id, version_hash=ins.version_hash,
                            user_id=org.alice, now=T0 + timedelta(hours=1))
        again = acknowledge(s, insight_id=ins.id, version_hash=ins.version_hash,
                            user_id=org.alice, now=T0 + timedelta(hours=5))
    assert again.id == first.id and again.acknowledged_at == T0 + timedelta(hours=1)
    assert first.version_hash == ins.version_hash and first.is_current_version


def _blind_find(monkeypatch, misses: int) -> None:
    """The next *misses* look-ups of an existing acknowledgement find none (a race's window)."""
    real, left = acks._find_ack, [misses]

    def find(session, user_id, version_id):
        if left[0] > 0:
            left[0] -= 1
            return None
        return real(session, user_id, version_id)

    monkeypatch.setattr(acks, "_find_ack", find)


def test_an_acknowledgement_recorded_meanwhile_is_returned_not_duplicated(sqlite_org,
                                                                          monkeypatch):
    org = sqlite_org
    with session_scope(org.url) as s:
        ins = publish(s)
        first = acknowledge(s, insight_id=ins.id, version_hash=ins.version_hash,
                            user_id=org.alice, now=T0 + timedelta(hours=1))
    _blind_find(monkeypatch, misses=1)  # as if another request stored it after our check
    with session_scope(org.url) as s:
        again = acknowledge(s, insight_id=ins.id, version_hash=ins.version_hash,
                            user_id=org.alice, now=T0 + timedelta(hours=2))
        events = json.loads(export_audit_log(s, "json"))
    assert (again.id, again.acknowledged_at) == (first.id, T0 + timedelta(hours=1))
    assert [e["user_email"] for e in events] == ["alice@acme.example"]


def test_an_acknowledgement_that_cannot_be_stored_is_a_conflict(sqlite_org, monkeypatch):
    org = sqlite_org
    with session_scope(org.url) as s:
        ins = publish(s)
        acknowledge(s, insight_id=ins.id, version_hash=ins.version_hash, user_id=org.alice)
    _blind_find(monkeypatch, misses=2)  # the store refuses it, yet holds no such record
    with session_scope(org.url) as s, pytest.raises(ConflictError, match="alice@acme.example"):
        acknowledge(s, insight_id=ins.id, version_hash=ins.version_hash, user_id=org.alice)


def test_ack_status_per_department_with_overdue_and_old_versions(org):
    with session_scope(org.url) as s:
        v1 = publish(s, due_days=3)
        acknowledge(s, insight_id=v1.id, version_hash=v1.version_hash, user_id=org.bob,
                    now=T0 + timedelta(hours=2))
        v2 = publish(s, statement="Call them within 4 hours.", now=T0 + timedelta(days=1),
                     due_days=3)
        acknowledge(s, insight_id=v2.id, version_hash=v2.version_hash, user_id=org.alice,
                    now=T0 + timedelta(days=1, hours=1))
        # an acknowledgement of the old version still records the old version
        old = acknowledge(s, insight_id=v1.id, version_hash=v1.version_hash, user_id=org.carol,
                          now=T0 + timedelta(days=1, hours=2))
    assert (old.version, old.is_current_version) == (1, False)
    with session_scope(org.url) as s:
        early = ack_status(s, v2.id, now=T0 + timedelta(days=2))
        late = ack_status(s, v2.id, now=T0 + timedelta(days=5))
    assert (early.version, early.acknowledged_count, early.expected_count) == (2, 1, 3)
    assert not early.overdue
    by_dept = {d.department: d for d in late.departments}
    assert [p.email for p in by_dept["sales"].acknowledged] == ["alice@acme.example"]
    bob = by_dept["sales"].pending[0]
    assert (bob.email, bob.acknowledged_version) == ("bob@acme.example", 1)
    assert "vic@acme.example" not in {p.email for d in late.departments for p in d.pending}
    assert [p.email for p in by_dept["service"].pending] == ["carol@acme.example"]
    assert by_dept["sales"].overdue and by_dept["service"].overdue and late.overdue
    assert late.to_dict()["departments"][0]["department"] == "sales"
    table = late.to_pandas()
    assert table.loc[table.email == "bob@acme.example", "overdue"].item()
    assert table.acknowledged.sum() == 1 and len(table) == 3


def test_list_insights_for_a_user_awaiting_acknowledgement(org):
    with session_scope(org.url) as s:
        a = publish(s, key="a", title="A", priority="low")
        b = publish(s, key="b", title="B", priority="high", departments=["service"])
        c = publish(s, key="c", title="C", priority="high", departments=["sales"])
        acknowledge(s, insight_id=c.id, version_hash=c.version_hash, user_id=org.alice)
    with session_scope(org.url) as s:
        # high before low; the newest first within a priority
        assert [i.title for i in list_insights(s)] == ["C", "B", "A"]
        assert [i.title for i in list_insights(s, department="sales")] == ["C", "A"]
        assert [i.title for i in list_insights(s, for_user_id=org.alice)] == ["C", "A"]
        assert [i.title for i in list_insights(s, for_user_id=org.alice,
                                               awaiting_ack_only=True)] == ["A"]
        assert [i.title for i in list_insights(s, for_user_id=org.dave)] == []
        assert {i.title for i in list_insights(s, awaiting_ack_only=True)} == {"A", "B", "C"}
        counts = ack_counts(s)
        # C is for sales (alice, bob; vic only views): alice acknowledged it
        assert (counts[c.id].acknowledged, counts[c.id].expected, counts[c.id].pending) == (1, 2, 1)
        assert (counts[a.id].expected, counts[b.id].expected) == (3, 1)
    assert b.departments == ("service",) and a.departments == ("sales", "service")


def test_audit_log_lists_who_acknowledged_which_version_when(org):
    with session_scope(org.url) as s:
        ins = publish(s)
        acknowledge(s, insight_id=ins.id, version_hash=ins.version_hash, user_id=org.carol,
                    now=T0 + timedelta(hours=3))
        acknowledge(s, insight_id=ins.id, version_hash=ins.version_hash, user_id=org.alice,
                    now=T0 + timedelta(hours=1))
    with session_scope(org.url) as s:
        rows = list(csv.DictReader(io.StringIO(export_audit_log(s, "csv"))))
        as_json = json.loads(export_audit_log(s, fmt="json"))
        with pytest.raises(DataValidationError, match="'xml'"):
            export_audit_log(s, "xml")
    assert [(r["user_email"], r["version"], r["version_hash"], r["ts"]) for r in rows] == [
        ("alice@acme.example", "1", ins.version_hash, "2026-03-02T10:00:00"),
        ("carol@acme.example", "1", ins.version_hash, "2026-03-02T12:00:00"),
    ]
    assert [r["user_email"] for r in as_json] == ["alice@acme.example", "carol@acme.example"]


def test_insight_pages_follow_the_list_order_and_count_every_match(org):
    from outsidein.services.share import awaiting_among, insight_page, next_awaiting

    with session_scope(org.url) as s:
        made = [publish(s, key=f"k{n}", title=f"I{n}", priority=("high", "low", "medium")[n % 3],
                        now=T0 + timedelta(hours=n % 4)) for n in range(8)]
        for ins in made[::3]:  # alice (sales) acknowledges I0, I3, I6
            acknowledge(s, insight_id=ins.id, version_hash=ins.version_hash, user_id=org.alice)
    with session_scope(org.url) as s:
        everything = [i.title for i in list_insights(s)]
        # high (I0 I3 I6), medium (I2 I5), low (I1 I4 I7); newest first, then the larger id
        assert everything == ["I3", "I6", "I0", "I2", "I5", "I7", "I1", "I4"]
        pages = [insight_page(s, limit=3, offset=o) for o in (0, 3, 6)]
        assert [i.title for p in pages for i in p.items] == everything
        assert [p.total for p in pages] == [8, 8, 8]
        assert [p.next_offset for p in pages] == [3, 6, None]
        beyond = insight_page(s, limit=3, offset=20)
        assert (beyond.items, beyond.total, beyond.next_offset) == ((), 8, None)
        waiting = insight_page(s, for_user_id=org.alice, awaiting_ack_only=True, limit=2)
        assert [i.title for i in waiting.items] == ["I2", "I5"] and waiting.total == 5
        ids = {i.title: i.id for i in made}
        assert awaiting_among(s, org.alice, [ids["I0"], ids["I1"], ids["I3"]]) == {ids["I1"]}
        # next awaiting: the one after in the order, wrapping round; never the one given
        order = ["I2", "I5", "I7", "I1", "I4"]
        for here, after in zip(order, order[1:] + order[:1], strict=True):
            assert next_awaiting(s, user_id=org.alice, after_insight_id=ids[here]).title == after
        assert next_awaiting(s, user_id=org.alice, after_insight_id=ids["I3"]).title == "I2"
        assert next_awaiting(s, user_id=org.alice).title == "I2"
        assert next_awaiting(s, user_id=org.dave) is None
        with pytest.raises(DataValidationError, match="limit"):
            insight_page(s, limit=0)


def test_the_database_counts_acknowledgements_as_ack_counts_does(org):
    from outsidein.services.share import ack_tally

    with session_scope(org.url) as s:
        made = [publish(s, key=f"t{n}", title=f"T{n}",
                        departments=[["sales"], ["service"], ["sales", "service"]][n % 3],
                        now=T0 + timedelta(days=n)) for n in range(6)]
        for ins, who in ((made[0], org.alice), (made[0], org.bob), (made[2], org.alice),
                         (made[2], org.carol), (made[5], org.alice), (made[1], org.carol)):
            acknowledge(s, insight_id=ins.id, version_hash=ins.version_hash, user_id=who)
        publish(s, key="t3", title="T3", statement="A new version: nobody has read it.",
                departments=["sales"])
    with session_scope(org.url) as s:
        reference = ack_counts(s)  # the Python count, one insight at a time
        tally = ack_tally(s)
        assert {r.insight_id: (r.acknowledged, r.expected) for r in tally.rows} == {
            i: (c.acknowledged, c.expected) for i, c in reference.items() if c.expected}
        assert tally.acknowledged == sum(c.acknowledged for c in reference.values())
        assert tally.expected == sum(c.expected for c in reference.values())
        open_ids = {i for i, c in reference.items() if c.pending}
        assert tally.open_count == len(open_ids) and open_ids
        shares = [r.acknowledged / r.expected for r in tally.rows]
        assert shares == sorted(shares)  # least acknowledged first
        two = ack_tally(s, open_only=True, limit=2)
        assert [r.insight_id for r in two.rows] == [r.insight_id for r in tally.rows][:2]
        assert (two.acknowledged, two.expected, two.open_count) == (
            tally.acknowledged, tally.expected, tally.open_count)
        every_open = ack_tally(s, open_only=True, limit=100)
        assert {r.insight_id for r in every_open.rows} == open_ids
