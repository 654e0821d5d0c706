"""The five crucial questions, answered with evidence (use cases).

:func:`answer_five_questions` answers them on a workspace and saves the summary;
:func:`read_answers` is the one reader of the saved summary; :func:`answer_insight`
the one builder of an answer's insight.

>>> from outsidein.services.questions import answer_five_questions
>>> answers = answer_five_questions(ws)                    # doctest: +SKIP
>>> answers["cost_to_serve"].headline                      # doctest: +SKIP
'212 customers (4%) cost more to serve than they bring ...'
"""

from __future__ import annotations

from outsidein.services.questions.drivers import DRIVERS_RULE
from outsidein.services.questions.inputs import Inputs, customer_frame, read_inputs
from outsidein.services.questions.insights import answer_insight
from outsidein.services.questions.model import (
    JSON_VERSION,
    NAMES,
    Answer,
    FiveAnswers,
    NextAction,
    missing_answer,
)
from outsidein.services.questions.results import (
    HOW_TO_ANSWER,
    RESULT_FILE,
    StoredAnswer,
    StoredAnswers,
    read_answers,
    result_path,
    save_answers,
)
from outsidein.services.questions.run import BUILDERS, answer_five_questions

__all__ = [
    "BUILDERS", "DRIVERS_RULE", "HOW_TO_ANSWER", "JSON_VERSION", "NAMES", "RESULT_FILE",
    "Answer", "FiveAnswers",
    "Inputs", "NextAction", "StoredAnswer", "StoredAnswers",
    "answer_five_questions",
    "answer_insight", "customer_frame", "missing_answer", "read_answers", "read_inputs",
    "result_path", "save_answers",
]
