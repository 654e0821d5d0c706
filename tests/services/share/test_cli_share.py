"""``outsidein insights | alla | needs | alignment | notify`` as a user runs them."""

from __future__ import annotations

import json

import pytest

from outsidein.cli import main


def run(capsys, ws, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        main(["-w", str(ws.root), *args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_publish_acknowledge_status_and_audit_log(ws_org, capsys, tmp_path):
    ws, _ = ws_org
    code, out, _ = run(capsys, ws, "insights", "publish", "--title", "Advocates refer 3x more",
                       "--statement", "Thank them personally.", "--owner", "ada@acme.example",
                       "-d", "sales", "--figure", "referral_ratio=3.1", "--key", "q3.advocates",
                       "--json")
    assert code == 0
    ins = json.loads(out)
    assert (ins["version"], ins["evidence"]["figures"]["referral_ratio"]) == (1, 3.1)
    code, out, _ = run(capsys, ws, "insights", "ack", str(ins["id"]), "--user",
                       "alice@acme.example")
    assert code == 0 and "alice@acme.example acknowledged insight #1 v1" in out
    code, out, err = run(capsys, ws, "insights", "ack", str(ins["id"]), "--user",
                         "dave@acme.example")
    assert code == 2 and "not a member of a department" in err and "Traceback" not in err
    code, out, _ = run(capsys, ws, "insights", "ack-status", "1", "--json")
    status = json.loads(out)
    assert (status["acknowledged_count"], status["expected_count"]) == (1, 2)
    assert [p["email"] for p in status["departments"][0]["pending"]] == ["bob@acme.example"]
    code, out, _ = run(capsys, ws, "insights", "ack-status", "1")
    assert "1 of 2 acknowledged" in out and "bob@acme.example" in out
    code, out, _ = run(capsys, ws, "insights", "list", "--user", "bob@acme.example",
                       "--awaiting", "--json")
    assert [i["title"] for i in json.loads(out)] == ["Advocates refer 3x more"]
    code, out, _ = run(capsys, ws, "insights", "show", "1")
    assert "Thank them personally." in out and "referral_ratio" in out
    run(capsys, ws, "insights", "publish", "--title", "[draft] churn [red]up", "--statement",
        "[bold]x", "--owner", "ada@acme.example", "-d", "sales")
    code, out, _ = run(capsys, ws, "insights", "list")
    assert "[draft]" in out  # brackets in titles are shown, not taken as Rich markup
    code, out, _ = run(capsys, ws, "insights", "show", "2")
    assert "[draft] churn [red]up" in out and "[bold]x" in out
    target = tmp_path / "audit.csv"
    code, out, _ = run(capsys, ws, "insights", "audit-log", "-o", str(target))
    lines = target.read_text().splitlines()
    assert lines[0].startswith("ts,event,user_email") and "alice@acme.example" in lines[1]
    assert ins["version_hash"] in lines[1]


def test_needs_alignment_review_and_alla_board(ws_org, capsys, tmp_path):
    ws, _ = ws_org
    for title, imp, sat in (("Know when my order arrives", "9", "3"),
                            ("Fair returns", "7", "2"), ("Nice packaging", "4", "6")):
        code, _, err = run(capsys, ws, "needs", "add", title, "--importance", imp,
                           "--satisfaction", sat, "--complaints", "12")
        assert code == 0, err
    code, out, _ = run(capsys, ws, "needs", "list", "--json")
    assert [(n["code"], n["opportunity"]) for n in json.loads(out)] == [
        ("N1", 15.0), ("N2", 12.0), ("N3", 4.0)]
    items = tmp_path / "items.csv"
    items.write_text("kind,title,owner,needs\nplan,Tracking,product,N1\n"
                     "message,Where is my parcel,marketing,N1;N2:partial\n"
                     "training,Gift wrap,sales,N3\n", encoding="utf-8")
    code, out, _ = run(capsys, ws, "alignment", "import", str(items))
    assert code == 0 and "3 new" in out
    bad = tmp_path / "bad.csv"
    bad.write_text("kind,title,owner,needs\nposter,x,y,N1\n", encoding="utf-8")
    code, _, err = run(capsys, ws, "alignment", "import", str(bad))
    assert code == 2 and "row 2: kind 'poster'" in err
    page = tmp_path / "review.html"
    code, out, _ = run(capsys, ws, "alignment", "review", "--top", "2", "--html", str(page))
    assert code == 0 and "Of the top 2 customer needs" in out
    assert "Gift wrap" in page.read_text()  # addresses no top need
    code, out, _ = run(capsys, ws, "alignment", "review", "--top", "2", "--json")
    review = json.loads(out)
    assert [c["status"] for c in review["rows"][0]["cells"]] == ["addressed", "addressed",
                                                                 "missed"]
    code, out, _ = run(capsys, ws, "insights", "publish", "--title", "T", "--statement", "S",
                       "--owner", "ada@acme.example", "-d", "service", "--json")
    iid = json.loads(out)["id"]
    code, out, _ = run(capsys, ws, "alla", "ask", "Why do buyers leave?", "--json")
    qid = json.loads(out)["id"]
    assert run(capsys, ws, "alla", "learn", str(qid), str(iid))[0] == 0
    code, out, _ = run(capsys, ws, "alla", "act", str(iid), "--title", "Call them", "--owner",
                       "carol@acme.example", "-d", "service", "--due", "2099-01-01", "--kpi",
                       "churn", "--baseline", "0.2", "--target", "0.1", "--json")
    aid = json.loads(out)["id"]
    code, out, _ = run(capsys, ws, "alla", "outcome", str(aid), "--kpi-value", "0.15",
                       "--measured-at", "2099-03-01")
    assert "success" in out
    code, out, _ = run(capsys, ws, "alla", "board", "--json")
    assert json.loads(out)["successes"] == 1


def test_notify_without_channels_says_what_to_set(ws_org, capsys):
    ws, _ = ws_org
    code, _, err = run(capsys, ws, "notify", "deliver")
    assert code == 2 and "webhook_url and/or smtp_host in the notify section" in err
    code, out, _ = run(capsys, ws, "notify", "digest", "--json")
    assert code == 0 and json.loads(out)["digest"]["awaiting_ack"] == []
    run(capsys, ws, "insights", "publish", "--title", "T", "--statement", "S", "--owner",
        "ada@acme.example", "-d", "sales")
    code, out, _ = run(capsys, ws, "notify", "outbox", "--status", "pending", "--json")
    assert [e["event"] for e in json.loads(out)] == ["insight_version"]
    assert json.loads(out)[0]["recipients"] == ["alice@acme.example", "bob@acme.example"]


@pytest.mark.parametrize("args", [["insights", "show", "42"], ["needs", "update", "N9"]])
def test_unknown_records_are_one_red_line(ws_org, capsys, args):
    ws, _ = ws_org
    code, _, err = run(capsys, ws, *args)
    assert code == 2 and "not found" in err and len(err.strip().splitlines()) <= 2
