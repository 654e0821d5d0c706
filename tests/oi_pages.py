"""Every page of the app, for one person, as a browser test walks them
(tests/web/test_accessibility.py, tests/web/test_speed.py).

The list is built from the app's own routes (``app.state.page_roles``: each guarded GET
outside ``/api``, with the roles that may open it), so a new page is walked without
editing the tests.  A path with a parameter (``/insights/{insight_id}``) is filled from the
first link to it found on a page already walked.  Answers that are not an HTML page (CSV,
JSON, PDF, downloads, HTMX fragments) are left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from outsidein.demo.accounts import DEMO_PASSWORD

#: role -> the demo account that has it (``outsidein demo``; the viewer is added by the tests).
DEMO_LOGINS = {"admin": "admin@demo.outsidein", "advocate": "advocate@demo.outsidein",
               "member": "marketing@demo.outsidein", "viewer": "viewer@demo.outsidein"}
VIEWER = ("viewer@demo.outsidein", "viewer", ("marketing",))
PASSWORD = DEMO_PASSWORD
#: Not requested at all: rendering these costs seconds (PDF) and they are not pages.
NOT_PAGES = re.compile(r"\.(pdf|csv|json|xlsx|png|svg)$")
#: Documents that are the same for every role (the API docs, the analysis reports): the tests
#: check them for the admin only, since each takes seconds.
SAME_FOR_EVERYONE = ("/docs", "/reports/")
_HREF = re.compile(r'href="(/[^"#?]*)')


@dataclass
class Walk:
    """What a walk found: HTML pages in order, what was left out and why."""

    pages: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    unreached: list[str] = field(default_factory=list)


def login(browser: Any, url: str, email: str, password: str = PASSWORD,
          **context: Any) -> Any:
    """A new browser page logged in as *email*, on the overview."""
    page = browser.new_context(**context).new_page()
    page.goto(url + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")
    return page


def walk(page: Any, url: str, page_roles: dict[str, tuple[str, ...]], role: str) -> Walk:
    """The HTML pages *role* may open (through *page*'s logged-in context)."""
    paths = [p for p, roles in page_roles.items() if role in roles]
    open_ = {p: re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(p)) + "$")
             for p in paths if "{" in p}
    queue = [p for p in paths if "{" not in p]
    out = Walk()
    while queue:
        path = queue.pop(0)
        if NOT_PAGES.search(path):
            out.skipped[path] = "not a page (file type)"
            continue
        r = page.request.get(url + path)
        ctype = r.headers.get("content-type", "")
        body = r.text() if "text/" in ctype else ""
        if r.status >= 400:
            out.skipped[path] = f"HTTP {r.status}"
        elif "text/html" not in ctype or "attachment" in r.headers.get("content-disposition", ""):
            out.skipped[path] = f"not a page ({ctype.split(';')[0]})"
        elif "<html" not in body[:500].lower():
            out.skipped[path] = "HTML fragment"
        else:
            out.pages.append(path)
        for href in [path, *_HREF.findall(body)]:
            for template, rx in list(open_.items()):
                if rx.match(href):
                    del open_[template]
                    if href != path:
                        queue.append(href)
    out.unreached = sorted(open_)
    return out
