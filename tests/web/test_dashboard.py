"""The overview is a dashboard: KPI tiles with trend lines, the person's to-do first, and the
advocate's acknowledgement progress with a "remind" that reaches people by e-mail."""

from __future__ import annotations

import email
import email.policy
import re
from typing import Any

import duckdb
import pandas as pd
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from outsidein.services.data import load_frame
from outsidein.services.share import SmtpSettings, deliver_outbox, list_outbox
from outsidein.store.db import session_scope
from outsidein.store.models.auth import AuditEvent
from outsidein.workspace import Workspace

SMTP_PORT = 8642  # this module's own port (8640-8649)

#: Planted order lines: (customer, time, revenue, is_return).  Quantities 1 (-1 for the return).
LINES = [
    ("c1", "2025-01-10 12:00", 100.0, False), ("c1", "2025-03-05 12:00", 50.0, False),
    ("c2", "2025-02-14 12:00", 200.0, False), ("c2", "2025-03-20 12:00", 25.0, False),
    ("c2", "2025-03-20 12:00", 10.0, False), ("c3", "2025-03-28 12:00", 300.0, False),
    ("c4", "2025-01-03 12:00", 40.0, False), ("c4", "2025-02-01 12:00", 40.0, True),
]
#: Planted predicted CLV per customer (the table ``outsidein value score`` writes).
CLV = {"c1": 100.0, "c2": 200.0, "c3": 300.0, "c4": 400.0}


def _plant(root: Any) -> None:
    ws = Workspace.open(root)
    try:
        load_frame(ws, "customers", pd.DataFrame({"customer_id": sorted(CLV)}), source="test")
        lines = pd.DataFrame({
            "order_id": [f"o{i}" if c != "c2" or not t.startswith("2025-03-20") else "o-c2-mar"
                         for i, (c, t, _, _) in enumerate(LINES)],
            "customer_id": [c for c, *_ in LINES],
            "product_id": [f"p{i}" for i in range(len(LINES))],
            "ts": pd.to_datetime([t for _, t, _, _ in LINES]),
            "quantity": [-1 if r else 1 for *_, r in LINES],
            "revenue": [-v if r else v for _, _, v, r in LINES],
            "is_return": [r for *_, r in LINES]})
        load_frame(ws, "order_lines", lines, source="test")
    finally:
        ws.close()
    with duckdb.connect(str(Workspace.open(root).warehouse_path)) as con:
        con.execute("CREATE TABLE customer_value (customer_id VARCHAR, clv DOUBLE)")
        con.executemany("INSERT INTO customer_value VALUES (?, ?)", list(CLV.items()))


def _tile(page: str, key: str) -> str:
    return page.split(f'id="kpi-{key}"')[1].split("</section>")[0]


def _raw(tile: str) -> float:
    m = re.search(r'data-value="([^"]+)"', tile)
    assert m, tile
    return float(m.group(1))


def _month_sum(month: str) -> float:
    return sum(-v if r else v for _, t, v, r in LINES if t.startswith(month))


def test_tiles_say_how_to_fill_them_then_show_the_planted_figures(site: Any) -> None:
    member = site.login("member")
    page = member.get("/").text
    for key in ("customers_active", "revenue", "repeat_rate", "clv"):
        assert "no orders yet" in _tile(page, key) and "outsidein load order_lines" in page
    assert "no customer events yet" in page and "outsidein sense replay" in page  # funnel tile
    assert "no survey answers yet" in page and "outsidein culture import" in page

    _plant(site.ws.root)
    page = member.get("/").text
    revenue = _tile(page, "revenue")
    assert _raw(revenue) == pytest.approx(_month_sum("2025-03")) == 385.0
    assert "$385" in revenue and "Mar 2025" in revenue
    # the trend line, in words for screen readers: January 140, February 200 - 40 returned
    assert (f"from ${_month_sum('2025-01'):,.0f} in Jan 2025 to $385 in Mar 2025 "
            f"(lowest ${_month_sum('2025-01'):,.0f}, highest $385)") in revenue
    assert "<svg" in revenue and "<polyline" in revenue
    active = _tile(page, "customers_active")
    assert _raw(active) == 3 and ">3<" in active  # c1, c2, c3 bought in March
    repeat = _tile(page, "repeat_rate")
    assert _raw(repeat) == pytest.approx(2 / 4) and "50.0%" in repeat  # c1, c2 of c1..c4
    clv = _tile(page, "clv")
    assert _raw(clv) == pytest.approx(sum(CLV.values()) / 4) and "$250" in clv


def test_a_member_sees_their_own_to_do_first(site: Any) -> None:
    page = site.login("member").get("/").text
    todo = page.split('id="todo"')[1].split("</section>")[0]
    assert page.index('id="todo"') < page.index('id="kpis"') < page.index('id="answers"')
    assert "Top 10% of customers bring 62% of profit" in todo  # awaiting their acknowledgement
    assert "24-hour call-back rule" in todo  # the action they own (seeded for them)
    sales = site.login("sales").get("/").text.split('id="todo"')[1].split("</section>")[0]
    assert "24-hour call-back rule" not in sales  # not theirs
    viewer = site.login("viewer").get("/").text
    assert "Viewers read insights" in viewer and 'id="pending"' not in viewer


def test_the_advocate_sees_progress_per_insight_and_reminds_by_email(site: Any) -> None:
    ins = site.publish(title="Returns double after a late delivery", statement="Ship on time.",
                       departments=["product", "sales"])
    adv = site.login("advocate")
    row = adv.get("/").text.split(f'id="progress-{ins.id}"')[1].split("</li>")[0]
    assert 'value="0"' in row and 'max="2"' in row and "0 of 2 people · 0%" in row
    member = site.login("member")
    r = member.post(f"/insights/{ins.id}/ack", data={"version_hash": ins.version_hash})
    assert r.status_code == 303
    row = adv.get("/").text.split(f'id="progress-{ins.id}"')[1].split("</li>")[0]
    assert 'value="1"' in row and 'max="2"' in row and "1 of 2 people · 50%" in row

    # members cannot remind; the advocate can, with the CSRF token only
    assert member.post(f"/insights/{ins.id}/remind").status_code == 403
    bare = site.client(cookies=adv.cookies)
    assert bare.post(f"/insights/{ins.id}/remind").status_code == 403
    r = adv.post(f"/insights/{ins.id}/remind")
    assert r.status_code == 303 and r.headers["location"] == "/#pending"
    page = adv.get("/").text
    flash = page.split('id="flash"')[1].split("</p>")[0]
    assert "Returns double after a late delivery" in flash and "1 person" in flash
    assert "sales@acme.test" in flash and "member@acme.test" not in flash
    assert 'id="flash"' not in adv.get("/").text  # shown once
    status = adv.get(f"/insights/{ins.id}/status").text
    assert "Remind the 1 who have not acknowledged" in status
    r = adv.post(f"/insights/{ins.id}/remind", data={"back": "status"})
    assert r.status_code == 303 and r.headers["location"] == f"/insights/{ins.id}/status"
    assert "queued for 1 person (sales@acme.test)" in adv.get(r.headers["location"]).text

    with session_scope(site.ws.store_url) as s:
        reminded = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "insight.remind")))
        assert [(e.actor, e.target) for e in reminded] == [
            (site.PEOPLE["advocate"][0], f"insight:{ins.id}")] * 2
        assert "sales@acme.test" in reminded[0].details

    inbox: list[tuple[list[str], Any]] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
            inbox.append((list(envelope.rcpt_tos), msg))
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=SMTP_PORT)
    controller.start()
    try:
        with session_scope(site.ws.store_url) as s:
            report = deliver_outbox(s, smtp=SmtpSettings(host="127.0.0.1", port=SMTP_PORT))
            assert report.failed == 0
            assert [e.status for e in list_outbox(s)
                    if e.event == "ack_reminder"] == ["sent", "sent"]
    finally:
        controller.stop()
    reminders = [(to, m) for to, m in inbox if "Reminder" in m["Subject"]]
    assert [to for to, _ in reminders] == [["sales@acme.test"]] * 2
    body = reminders[0][1].get_body(("plain",)).get_content()
    assert "Returns double after a late delivery" in body and "1 of 2" in body


def test_remind_when_everyone_has_acknowledged_says_so(site: Any) -> None:
    ins = site.publish(title="Only product reads this", statement="x", departments=["product"])
    member = site.login("member")
    member.post(f"/insights/{ins.id}/ack", data={"version_hash": ins.version_hash})
    adv = site.login("advocate")
    assert f'id="progress-{ins.id}"' not in adv.get("/").text  # complete: no bar, no button
    r = adv.post(f"/insights/{ins.id}/remind")
    assert r.status_code == 409 and "nobody to remind" in r.text
