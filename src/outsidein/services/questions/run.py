"""Answer the five crucial questions on a workspace and save the results (the use case).

:func:`answer_five_questions` reads the per-customer inputs
(:mod:`~outsidein.services.questions.inputs`), runs the five builders
(:mod:`~outsidein.services.questions.customers`,
:mod:`~outsidein.services.questions.prospects`), writes each full ranked list to
its ``answer_*`` warehouse table and the summary to
``results/five_questions.json`` (:mod:`~outsidein.services.questions.results`).

A run replaces the saved answers only when it succeeds: a reversed or empty
period is refused before anything is read (:func:`check_period`), and the
tables and the file are written after every answer has been built.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from outsidein.services.questions.customers import (
    answer_advocates,
    answer_cost_to_serve,
    answer_value,
)
from outsidein.services.questions.inputs import (
    PROFIT_STAGE,
    PROFIT_TABLE,
    Inputs,
    check_period,
    read_inputs,
)
from outsidein.services.questions.model import NAMES, Answer, FiveAnswers
from outsidein.services.questions.prospects import answer_ideal_prospects, answer_likely_converts
from outsidein.services.questions.results import save_answers

if TYPE_CHECKING:
    from rich.progress import Progress

    from outsidein.workspace import Workspace

log = logging.getLogger(__name__)

__all__ = ["BUILDERS", "answer_five_questions"]

#: The five builders, in the order of :data:`~outsidein.services.questions.model.NAMES`.
BUILDERS = (answer_value, answer_cost_to_serve, answer_advocates, answer_ideal_prospects,
            answer_likely_converts)
#: answers that quote customer value without wording it themselves: they get its caveat here
_QUOTE_VALUE = ("ideal_prospects", "likely_converts")


def _with_value_caveat(answer: Answer, inp: Inputs) -> Answer:
    """*answer* with the value basis and, if it quotes customer value, the basis's caveat."""
    caveat = inp.basis.caveat
    extra = (caveat,) if (caveat and answer.name in _QUOTE_VALUE and not answer.missing_data
                          and caveat not in answer.caveats) else ()
    return replace(answer, caveats=(*answer.caveats, *extra),
                   value_basis=answer.value_basis or inp.basis.basis)


def answer_five_questions(
    ws: Workspace,
    *,
    period_start: datetime | None = None,
    period_end: datetime | None = None,
    top_n: int = 25,
    progress: Progress | None = None,
) -> FiveAnswers:
    """Answer the five crucial questions on the workspace's data and save the results.

    Parameters
    ----------
    ws
        The workspace (its warehouse holds the canonical tables and ``customer_value``).
    period_start, period_end
        Period ``[start, end)`` for profit and cost to serve; default: all order history.
    top_n
        Rows per answer in the summary (the warehouse tables hold the full lists).
    progress
        Optional Rich progress bar (the CLI passes one).

    Returns
    -------
    FiveAnswers
        Also written to ``<workspace>/results/five_questions.json`` and to the
        ``answer_*`` warehouse tables (only once every answer has been built).

    Raises
    ------
    DataValidationError
        A reversed or empty period (the saved answers are left as they were).
    """
    t0 = time.perf_counter()
    check_period(ws, period_start, period_end)
    task = progress.add_task("five questions", total=len(NAMES) + 1) if progress else None
    wh = ws.warehouse()
    try:
        inp = read_inputs(ws, period_start, period_end)
        if progress and task is not None:
            progress.advance(task)
        answers, fulls = [], {}
        for fn in BUILDERS:
            a0 = time.perf_counter()
            answer, full = fn(inp, top_n=top_n)
            if full is not None:
                fulls[answer.table] = full
            answers.append(_with_value_caveat(answer, inp))
            log.info("answer %s in %.2f s", answer.name, time.perf_counter() - a0)
            if progress and task is not None:
                progress.advance(task)
        # every answer built: now replace the saved ones (tables first, the file last)
        if PROFIT_STAGE in inp.extras:
            wh.write_table(PROFIT_TABLE, inp.extras[PROFIT_STAGE])
        for table, full in fulls.items():
            wh.write_table(table, full)
    finally:
        wh.drop_tables(PROFIT_STAGE)
    result = FiveAnswers(tuple(answers), inp.period_start, inp.period_end, top_n,
                         datetime.now(UTC), time.perf_counter() - t0,
                         value_basis=inp.basis.basis)
    save_answers(ws, result)
    return result
