"""The public survey page at ``/survey/<token>``: a respondent's form, no login.

- ``GET /survey/<token>`` shows the wave's questions (grouped by component, each a labelled
  radio group on the item's scale), the department and role questions and the comment box,
  filled with the answers saved so far;
- ``POST /survey/<token>`` with ``action=save`` keeps what was answered (come back later with
  the same link), with ``action=submit`` stores the response anonymously and uses up the link;
- ``PUT /api/v1/survey/<token>/draft`` is the same save as JSON, which the page's script calls
  as answers are given (``X-CSRF-Token``; errors are problem+json).

Every write carries the CSRF token of the visitor's session, as everywhere in the app.
Whatever is wrong with a link (unknown, closed wave) the answer is the same 404 page.

**Nothing identifying is logged.**  :func:`redact_survey_logs` (called by
:func:`outsidein.web.app.create_app`) makes the server's access log and the app's error log
write ``/survey/…`` instead of the token, and drop the client's address from those lines.

>>> redact("GET /survey/AbCdEfGhIjKlMnOp HTTP/1.1")
'GET /survey/… HTTP/1.1'
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from outsidein.culture.instrument import COMPONENT_LABELS
from outsidein.errors import DataValidationError, OutsideInError
from outsidein.services.culture.survey import (
    MAX_COMMENT,
    SurveyForm,
    open_survey,
    save_draft,
    submit,
)
from outsidein.web.forms import FormState
from outsidein.web.routes._common import Store
from outsidein.web.security import check_csrf
from outsidein.web.templating import render

__all__ = ["SURVEY_PATHS", "redact", "redact_survey_logs", "router", "scale_labels"]

router = APIRouter(include_in_schema=False)
#: The public paths of the survey (no login; listed in outsidein.web.routing.PUBLIC_ROUTES).
SURVEY_PATHS = ("/survey/{token}", "/api/v1/survey/{token}/draft")
_TOKEN = re.compile(r"(/survey/)[A-Za-z0-9_\-]+")
#: Loggers whose lines may carry a request path: the server's access log and error pages.
_LOGGERS = ("uvicorn.access", "uvicorn.error", "outsidein.web.problems")
_AGREE = ("strongly disagree", "disagree", "neither agree nor disagree", "agree",
          "strongly agree")
_AGREE7 = ("strongly disagree", "disagree", "somewhat disagree", "neither agree nor disagree",
           "somewhat agree", "agree", "strongly agree")
_COMPARE7 = ("much worse than our main competitors", "worse", "somewhat worse", "about the same",
             "somewhat better", "better", "much better than our main competitors")


def redact(text: str) -> str:
    """*text* with every survey token replaced by ``…``."""
    return _TOKEN.sub(r"\1…", text)


class _Redact(logging.Filter):
    """Rewrites a log record that mentions a survey path: no token, no client address."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and any(isinstance(a, str) and "/survey/" in a
                                           for a in args):
            new = [redact(a) if isinstance(a, str) else a for a in args]
            if record.name == "uvicorn.access" and new:
                new[0] = "-"  # the client's address
            record.args = tuple(new)
        if isinstance(record.msg, str) and "/survey/" in record.msg:
            record.msg = redact(record.msg)
        return True


_FILTER = _Redact()


def redact_survey_logs() -> None:
    """Install the redaction on the loggers that can see a request's path (idempotent)."""
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def scale_labels(item: Mapping[str, Any]) -> list[tuple[int, str]]:
    """(value, words) for each point of *item*'s scale.

    >>> scale_labels({"component": "engagement", "scale_min": 1, "scale_max": 5})[0]
    (1, 'strongly disagree')
    """
    lo, hi = int(item["scale_min"]), int(item["scale_max"])
    n = hi - lo + 1
    words: tuple[str, ...] = ()
    if n == 5:
        words = _AGREE
    elif n == 7:
        words = _COMPARE7 if item.get("component") == "performance" else _AGREE7
    return [(lo + i, words[i] if words else str(lo + i)) for i in range(n)]


def _page(request: Request, form: SurveyForm, token: str, *, state: FormState | None = None,
          status: int = 200, saved: bool = False) -> HTMLResponse:
    values: dict[str, Any] = {f"q_{k}": str(v) for k, v in form.answers.items()}
    values.update(department=str(form.department_id or ""), role=form.role or "",
                  comment=form.comment)
    if state is not None:
        values.update(state.values)
    groups = [(COMPONENT_LABELS.get(c, c.replace("_", " ").capitalize()),
               [{**it, "labels": scale_labels(it)} for it in items])
              for c, items in form.components]
    return render(request, "culture_survey.html", None, status_code=status, form=form,
                  token=token, groups=groups, values=values,
                  errors=state.errors if state else {}, saved=saved,
                  max_comment=MAX_COMMENT, action=f"/survey/{token}")


@router.get("/survey/{token}", response_class=HTMLResponse)
def survey_page(request: Request, token: str, session: Store,
                saved: int = 0) -> HTMLResponse:
    """The survey form for *token* (or the thank-you note once it was submitted)."""
    return _page(request, open_survey(session, token), token, saved=bool(saved))


def _field(message: str) -> str:
    first = message.split(" ", 1)[0].rstrip(":")
    if first.startswith("q_") or first in ("department", "role", "comment"):
        return first
    return "survey"


def _values(data: FormData) -> dict[str, str]:
    return {k: v for k, v in data.items() if isinstance(v, str) and k != "csrf_token"}


@router.post("/survey/{token}", response_class=HTMLResponse)
async def survey_post(request: Request, token: str, session: Store) -> Response:
    """Save the answers given so far, or submit the survey."""
    await check_csrf(request)
    values = _values(await request.form())
    finishing = values.get("action") == "submit"
    try:
        if finishing:
            submit(session, token, values)
        else:
            save_draft(session, token, values)
    except OutsideInError as exc:
        if exc.http_status >= 500 or exc.http_status == 404:
            raise
        session.rollback()
        message = str(exc)
        if isinstance(exc, DataValidationError) and message.startswith("q_"):
            message = message.split(": ", 1)[1]
        state = FormState("survey", values, {_field(str(exc)): message}, exc.http_status)
        return _page(request, open_survey(session, token), token, state=state,
                     status=exc.http_status)
    suffix = "" if finishing else "?saved=1"
    return RedirectResponse(f"/survey/{token}{suffix}#survey-status", status_code=303)


@router.put("/api/v1/survey/{token}/draft")
async def survey_draft(request: Request, token: str, session: Store) -> JSONResponse:
    """Keep the answers given so far (JSON form fields); how many are answered now."""
    await check_csrf(request)
    try:
        body = await request.json()
    except ValueError:
        raise DataValidationError("expected a JSON object of the form's fields") from None
    if not isinstance(body, dict):
        raise DataValidationError("expected a JSON object of the form's fields")
    form = save_draft(session, token, {str(k): v for k, v in body.items()
                                       if isinstance(v, str | int)})
    return JSONResponse({"answered": form.answered, "items": len(form.items)})
