"""The one builder of an answer's insight: what the hub shows for a saved answer.

Publishing from the web ("Publish" on the answers page) and from
``outsidein analyze`` both build the insight here, from the saved answer
(:class:`~outsidein.services.questions.results.StoredAnswer`), under the stable key
``five_questions.<name>``.  An insight version is the hash of its title,
statement and evidence, so the same analysis published by either path adds no
version and asks nobody to acknowledge again.

>>> from outsidein.services.questions.results import StoredAnswer
>>> a = StoredAnswer(name="cost_to_serve", question="Who costs more than they are worth?",
...     title="12 customers cost $4.8k more than they bring", headline="12 customers ...",
...     missing_data=None, figures={"loss": -4800.0},
...     next_action={"text": "review their terms", "count": 12, "amount": 4800.0},
...     rows=[], tables={}, table="answer_cost_to_serve", departments=("service",),
...     priority="high")
>>> draft = answer_insight(a)
>>> draft.key, draft.statement
('five_questions.cost_to_serve', '12 customers ... Next: review their terms.')
"""

from __future__ import annotations

from typing import Any

from outsidein.errors import MissingDataError
from outsidein.services.questions.results import StoredAnswer
from outsidein.services.share import InsightDraft

__all__ = ["answer_insight"]


def answer_insight(answer: StoredAnswer) -> InsightDraft:
    """The insight of one saved answer (an answer lacking data has none: MissingDataError)."""
    if answer.missing_data:
        raise MissingDataError(f"answer {answer.name!r} lacks data: {answer.missing_data}")
    statement = answer.headline + (f" Next: {answer.next_action_text}."
                                   if answer.next_action_text else "")
    evidence: dict[str, Any] = {"figures": dict(answer.figures),
                                "link": f"/answers#q-{answer.name}", "table": answer.table}
    if answer.plot is not None:
        evidence["chart"] = answer.plot
    if answer.next_action:
        evidence["next_action"] = dict(answer.next_action)
    if answer.caveats:  # what the answer cannot know (e.g. "profit" is revenue), with the fix
        evidence["caveats"] = list(answer.caveats)
    return InsightDraft(key=f"five_questions.{answer.name}", title=answer.title or answer.question,
                        statement=statement, evidence=evidence,
                        departments=tuple(answer.departments), priority=answer.priority,
                        source="five_questions")
