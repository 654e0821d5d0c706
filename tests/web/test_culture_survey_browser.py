"""The survey page in headless Chromium: on a 375 px phone, from the keyboard alone, with no
serious axe-core violation, and answers kept as they are given (come back, find them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from sqlalchemy import select

from outsidein.services.culture.importing import instrument_items
from outsidein.services.culture.instrument import load_instrument
from outsidein.services.culture.tokens import invite
from outsidein.services.culture.waves import add_department, add_org, add_role, open_wave
from outsidein.store.db import session_scope
from outsidein.store.models.culture import CultureResponse
from outsidein.web import create_app
from outsidein.workspace import Workspace

pytestmark = pytest.mark.browser
INSTRUMENT = load_instrument()
PHONE = {"width": 375, "height": 740}


@pytest.fixture(scope="module")
def survey(tmp_path_factory: pytest.TempPathFactory, live_server: Any) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("survey") / "acme"
    ws = Workspace.init(root)
    ws.close()
    with session_scope(ws.store_url) as s:
        add_org(s, "Acme")
        for dep in ("Sales", "Service", "Warehouse"):
            add_department(s, "Acme", dep)
        add_role(s, "Acme", "manager")
        add_role(s, "Acme", "staff")
        open_wave(s, "b1", INSTRUMENT.version, instrument_items(INSTRUMENT),
                  comment_prompt=INSTRUMENT.comment)
        tokens = [i.token for i in invite(s, "b1", "Acme", count=5)]
    with live_server(create_app(root)) as server:
        yield server, ws, tokens


def _width(page: Any) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


def test_the_survey_fits_a_phone_and_has_no_serious_axe_violation(
        survey: Any, browser: Any, artifacts_dir: Path) -> None:
    server, _, tokens = survey
    page = browser.new_context(viewport=PHONE).new_page()
    page.goto(f"{server.url}/survey/{tokens[0]}")
    scroll, inner = _width(page)
    assert scroll <= inner + 1, f"the survey scrolls sideways on a phone ({scroll} > {inner})"
    box = page.locator("label.point").first.bounding_box()
    assert box and box["height"] >= 44 and box["width"] >= 300, box  # a thumb-sized target
    out = artifacts_dir / "phone"
    out.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out / "culture-survey.png"), full_page=False)
    bad = [v for v in Axe().run(page).response["violations"]
           if v["impact"] in ("serious", "critical")]
    assert not bad, [(v["id"], v["help"], [n["target"] for n in v["nodes"][:3]]) for v in bad]
    # the page with errors shown is checked too
    page.click("#survey-submit")
    page.wait_for_selector(".error[role=alert]")
    assert page.locator("#field-department[aria-invalid=true]").count() == 1
    bad = [v for v in Axe().run(page).response["violations"]
           if v["impact"] in ("serious", "critical")]
    assert not bad, [(v["id"], v["help"]) for v in bad]
    assert _width(page)[0] <= _width(page)[1] + 1
    page.context.close()


def _focused(page: Any) -> dict[str, Any]:
    return page.evaluate("() => { const e = document.activeElement; return {tag: e.tagName, "
                         "name: e.name || '', id: e.id || '', type: e.type || ''}; }")


def test_the_whole_survey_can_be_answered_from_the_keyboard(survey: Any, browser: Any) -> None:
    server, ws, tokens = survey
    page = browser.new_context().new_page()
    page.goto(f"{server.url}/survey/{tokens[1]}")
    page.locator("#field-department").focus()
    page.keyboard.press("ArrowDown")  # the first department
    page.keyboard.press("ArrowDown")  # the second: Service
    page.keyboard.press("Tab")
    assert _focused(page)["id"] == "field-role"
    page.keyboard.press("ArrowDown")  # manager
    answered = 0
    for it in INSTRUMENT.items:
        page.keyboard.press("Tab")
        now = _focused(page)
        assert now["name"] == f"q_{it.id}" and now["type"] == "radio", (it.id, now)
        page.keyboard.press("Space")  # the first point of the scale
        page.keyboard.press("ArrowRight")  # and one up: 2
        answered += 1
    page.keyboard.press("Tab")
    assert _focused(page)["id"] == "field-comment"
    page.keyboard.type("Typed from the keyboard.")
    page.keyboard.press("Tab")
    assert _focused(page)["id"] == "survey-save"
    page.keyboard.press("Tab")
    assert _focused(page)["id"] == "survey-submit"
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Thank you")
    page.context.close()
    with session_scope(ws.store_url, write=False) as s:
        mine = [r for r in s.scalars(select(CultureResponse))
                if r.comment == "Typed from the keyboard."]
    assert len(mine) == 1 and answered == len(INSTRUMENT.items)
    assert mine[0].role == "manager" and set(mine[0].answers.values()) == {2}


def test_answers_are_kept_as_they_are_given_and_found_on_coming_back(
        survey: Any, browser: Any) -> None:
    server, _, tokens = survey
    url = f"{server.url}/survey/{tokens[2]}"
    page = browser.new_context(viewport=PHONE).new_page()
    page.goto(url)
    page.locator("label.point:has(input[name=q_cus1][value='4'])").click()
    page.locator("label.point:has(input[name=q_cmp2][value='1'])").click()
    page.select_option("#field-department", label="Warehouse")
    page.wait_for_selector("#survey-progress:has-text('Saved: 2 of 39')")
    page.context.close()  # the phone's battery dies: no Save button pressed

    later = browser.new_context().new_page()
    later.goto(url)
    assert later.locator("input[name=q_cus1][value='4']").is_checked()
    assert later.locator("input[name=q_cmp2][value='1']").is_checked()
    assert later.locator("#field-department option:checked").inner_text() == "Warehouse"
    assert "2 of 39 questions answered" in later.locator("#survey-progress").inner_text()
    later.context.close()
