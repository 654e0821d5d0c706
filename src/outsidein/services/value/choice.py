"""Which transaction model: BG/NBD, MBG/NBD or Pareto/NBD, chosen by the holdout.

``fit_value`` fits every model on the calibration window, measures each
one's holdout error (:data:`~outsidein.services.value.holdout.CRITERION`:
root mean squared error per customer of predicted vs actual repeat
purchases) and keeps the smallest; ``--model`` forces one, and the others'
errors are still measured and shown, so the user sees what the choice costs.
The comparison is stored in ``value_model_choice`` (one row per model) and
shown by ``outsidein value fit``, its ``--json`` and the report.

>>> s = ModelScore("bgnbd", {"r": 0.25}, -95368.4, rmse=1.733, error=-0.143,
...                actual_total=10.0, predicted_total=8.6)
>>> choice = ModelChoice("bgnbd", "holdout", "smallest holdout error", (s,))
>>> choice.to_pandas()[["model", "rmse", "chosen"]]
   model   rmse  chosen
0  bgnbd  1.733    True
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from outsidein.services.value.holdout import CRITERION

if TYPE_CHECKING:
    from outsidein.warehouse.engine import Warehouse

__all__ = ["CHOICE_TABLE", "MODEL_TITLES", "ModelChoice", "ModelScore", "best_model",
           "load_choice", "save_choice"]

CHOICE_TABLE = "value_model_choice"
#: model keys -> the names people know them by
MODEL_TITLES = {"bgnbd": "BG/NBD", "mbgnbd": "MBG/NBD", "pareto": "Pareto/NBD",
                "gamma_gamma": "Gamma-Gamma (spend)"}


@dataclass(frozen=True)
class ModelScore:
    """One model fitted on the calibration window and its holdout errors."""

    model: str
    params: dict[str, float]
    log_likelihood: float
    rmse: float
    error: float
    actual_total: float
    predicted_total: float
    #: why the model could not be fitted (then the numbers are NaN)
    failed: str = ""
    #: per calibration-frequency bucket: label, customers, actual and predicted mean, rmse
    #: (from a fresh comparison; the stored buckets are read by ``load_holdout_models``)
    buckets: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class ModelChoice:
    """The chosen transaction model, how it was chosen, and every candidate's holdout errors.

    ``chosen_by`` is ``"holdout"`` (smallest holdout error), ``"forced"``
    (``--model``), ``"default"`` (no holdout to compare on) or ``"kept"``
    (``outsidein analyze`` refitted the model of the last ``value fit``).
    """

    model: str
    chosen_by: str
    reason: str
    scores: tuple[ModelScore, ...] = ()
    criterion: str = field(default=CRITERION)

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "chosen_by": self.chosen_by, "reason": self.reason,
                "criterion": self.criterion,
                "models": [{**s.__dict__, "chosen": s.model == self.model}
                           for s in self.scores]}

    def to_pandas(self) -> pd.DataFrame:
        """One row per compared model: errors, log-likelihood, whether it was chosen."""
        rows = [{"model": s.model, "rmse": s.rmse, "error": s.error,
                 "actual_total": s.actual_total, "predicted_total": s.predicted_total,
                 "log_likelihood": s.log_likelihood, "chosen": s.model == self.model,
                 "failed": s.failed} for s in self.scores]
        return pd.DataFrame(rows, columns=["model", "rmse", "error", "actual_total",
                                           "predicted_total", "log_likelihood", "chosen",
                                           "failed"])

    def __repr__(self) -> str:
        errors = ", ".join(f"{s.model} {s.rmse:.4f}" for s in self.scores if not s.failed)
        return (f"ModelChoice({self.model}, {self.chosen_by}: {self.reason}"
                + (f"; RMSE per customer {errors}" if errors else "") + ")")


def best_model(scores: tuple[ModelScore, ...]) -> str | None:
    """The model with the smallest holdout RMSE (the first on a tie); None if all failed.

    >>> a = ModelScore("bgnbd", {}, 0.0, 1.2, 0.1, 10.0, 11.0)
    >>> b = ModelScore("pareto", {}, 0.0, 1.1, 0.2, 10.0, 12.0)
    >>> best_model((a, b))
    'pareto'
    """
    ok = [s for s in scores if not s.failed and math.isfinite(s.rmse)]
    return min(ok, key=lambda s: s.rmse).model if ok else None


def save_choice(wh: Warehouse, choice: ModelChoice) -> None:
    """Store *choice* in ``value_model_choice`` (one row per compared model, or one row)."""
    # without a comparison, one row still records the choice and its reason
    scores = choice.scores or (ModelScore(choice.model, {}, math.nan, math.nan, math.nan,
                                          math.nan, math.nan),)
    frame = pd.DataFrame([{
        "model": s.model, "compared": bool(choice.scores), "chosen": s.model == choice.model,
        "chosen_by": choice.chosen_by,
        "reason": choice.reason, "criterion": choice.criterion, "rmse": float(s.rmse),
        "error": float(s.error), "actual_total": float(s.actual_total),
        "predicted_total": float(s.predicted_total), "log_likelihood": float(s.log_likelihood),
        "params": json.dumps(s.params), "failed": s.failed} for s in scores])
    wh.write_table(CHOICE_TABLE, frame)


def load_choice(wh: Warehouse) -> ModelChoice | None:
    """The stored model choice, or None (a workspace fitted before models were compared)."""
    if not wh.has_table(CHOICE_TABLE):
        return None
    df = wh.table(CHOICE_TABLE).execute()
    chosen = df[df.chosen.astype(bool)]
    if chosen.empty:
        return None
    first = chosen.iloc[0]
    scores = tuple(
        ModelScore(str(r.model), {str(k): float(v) for k, v in json.loads(r.params).items()},
                   float(r.log_likelihood), float(r.rmse), float(r.error),
                   float(r.actual_total), float(r.predicted_total), str(r.failed or ""))
        for r in df.itertuples(index=False) if r.compared)
    return ModelChoice(str(first.model), str(first.chosen_by), str(first.reason), scores,
                       str(first.criterion))
