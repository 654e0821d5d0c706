"""The report's sense-and-respond section: none without data, the funnel from events and
the simulator's comparison once ``outsidein sense simulate`` has run."""

from __future__ import annotations

from datetime import datetime, timedelta

from outsidein.report.html import build_report
from outsidein.report.sections.sense import sense_section
from outsidein.services.sense.analysis import run_simulation, save_simulation
from outsidein.services.sense.events import EventIn, apply_events, stage_decider
from outsidein.store.db import session_scope


def test_no_section_without_events_or_simulation(workspace):
    assert sense_section(workspace) is None
    assert 'id="sense"' not in build_report(workspace).read_text()


def test_section_shows_the_funnel_and_the_simulation(workspace):
    t0 = datetime(2026, 3, 2, 9)
    events = [EventIn(event_id=f"e{i}", customer_id=f"C{i}", ts=t0 + timedelta(minutes=i),
                      channel="call_center" if i < 3 else "web",
                      type="complaint" if i < 3 else "cart_add") for i in range(7)]
    with session_scope(workspace.store_url) as s:
        apply_events(s, events, stage_decider())
    section = sense_section(workspace)
    assert section is not None
    assert "7 customers sensed" in section.summary and "3 are at risk" in section.summary
    assert "No market simulation yet" in section.body_html
    assert "no outcomes yet" in section.body_html
    save_simulation(workspace, run_simulation(seed=5, customers=300, weeks=8))
    section = sense_section(workspace)
    assert "Proof on a simulated market" in section.body_html
    assert "of the oracle&#x27;s gain" in section.body_html
    assert "95% interval" in section.body_html  # 300 customers over 8 weeks: a wide one
    assert "too small to judge" in section.body_html
    assert section.body_html.count("plotly-graph-div") == 3  # funnel, comparison, learning
    page = build_report(workspace).read_text()
    assert 'id="sense"' in page and "Sense and respond" in page


def test_past_campaigns_alone_give_a_section_with_rates_and_the_next_step(workspace, tmp_path):
    from outsidein.services.data import load_file

    (tmp_path / "contacts.csv").write_text(
        "campaign_id,customer_id,ts,channel,message,responded\n"
        "K1,C1,2025-03-01 10:00,email,spring,true\n"
        "K1,C2,2025-03-01 10:00,email,spring,false\n"
        "K1,C3,2025-03-01 10:00,email,spring,false\n"
        "K1,C4,2025-03-01 10:00,email,spring,false\n")
    (tmp_path / "campaigns.csv").write_text("campaign_id,name\nK1,Spring sale\n")
    load_file(workspace, "campaigns", tmp_path / "campaigns.csv")
    load_file(workspace, "campaign_contacts", tmp_path / "contacts.csv")
    section = sense_section(workspace)
    assert section is not None
    assert "4 contacts in 1 campaigns" in section.body_html
    assert "outsidein sense replay" in section.body_html  # stages not sensed yet
    assert "<td>not sensed yet</td>" in section.body_html and "<td>25.0%</td>" in section.body_html
