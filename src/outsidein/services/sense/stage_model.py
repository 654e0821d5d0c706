"""``outsidein sense stage-model``: the decayed-evidence scorer against a classifier that
learned the stages from labels, on customers neither has seen.

Where the stages of past interactions are known (a labels table with ``customer_id``,
``ts``, ``channel``, ``type`` and ``stage``: the demo's ``truth_stages``), half of the
customers (chosen at random) train a :class:`~outsidein.sense.sequence.StageClassifier` on
their histories; on the other half, both the classifier and the scorer sense the stage of
every interaction from the past alone, and both are compared with the label.  The
classifier's accuracy is the empirical ceiling for a filter on these clues (the exact Bayes
limit needs the generator's own model), so ``scorer / classifier`` says how close the
transparent default comes to it.  Both are compared on the labels' stages (the scorer's
seven map to the demo's five: :data:`~outsidein.sense.stages.STAGE_TO_DEMO`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from outsidein.errors import MissingDataError
from outsidein.sense.evidence import EvidenceScorer
from outsidein.sense.sequence import StageClassifier, history_features
from outsidein.sense.stages import STAGE_TO_DEMO
from outsidein.warehouse.schema import CHANNELS, INTERACTION_TYPES

if TYPE_CHECKING:
    from outsidein.workspace import Workspace

__all__ = ["StageModelReport", "compare_stage_models"]


@dataclass(frozen=True)
class StageModelReport:
    """Accuracy of both stage models on the held-out customers' interactions."""

    labels_table: str
    customers_trained: int
    customers_tested: int
    interactions_tested: int
    scorer_accuracy: float
    classifier_accuracy: float
    majority_accuracy: float

    @property
    def share_of_ceiling(self) -> float:
        """The scorer's accuracy as a share of the classifier's."""
        return self.scorer_accuracy / self.classifier_accuracy

    def to_dict(self) -> dict[str, Any]:
        """Plain values for ``--json``."""
        return {**asdict(self), "share_of_ceiling": self.share_of_ceiling}


def _labelled(ws: Workspace, table: str) -> pd.DataFrame:
    with ws.reader() as con:
        if table not in con.list_tables():
            raise MissingDataError(
                f"no table {table!r} of stage labels (customer_id, ts, channel, type, stage): "
                "the demo writes truth_stages; name yours with --labels TABLE")
        frame = con.table(table).select("customer_id", "ts", "channel", "type",
                                        "stage").to_pandas()
    frame = frame[frame["channel"].isin(CHANNELS) & frame["type"].isin(INTERACTION_TYPES)]
    if frame.empty:
        raise MissingDataError(f"table {table!r} has no labelled interactions")
    return frame.reset_index(drop=True)


def _seconds(ts: pd.Series) -> np.ndarray:
    """Times as seconds since 1970, whatever the column's unit or zone."""
    t = pd.to_datetime(ts)
    if t.dt.tz is not None:
        t = t.dt.tz_convert("UTC").dt.tz_localize(None)
    return ((t - pd.Timestamp(0)) / pd.Timedelta(seconds=1)).to_numpy(float)


def _scorer_stages(frame: pd.DataFrame) -> np.ndarray:
    """The scorer's stage (on the labels' scale) of each row, each customer in time order."""
    scorer = EvidenceScorer().fit()
    states: dict[str, Any] = {}
    out = np.empty(len(frame), dtype=object)
    ts = _seconds(frame["ts"])
    order = np.lexsort((ts, frame["customer_id"].to_numpy()))
    cust, ch, ty = (frame[c].to_numpy() for c in ("customer_id", "channel", "type"))
    for i in order:
        st = states.get(cust[i])
        if st is None:
            st = states[cust[i]] = scorer.new_state()
        scorer.update(st, ts[i], ch[i], ty[i])
        out[i] = STAGE_TO_DEMO.get(scorer.stage(st, ts[i]), "")
    return out


def compare_stage_models(ws: Workspace, *, labels: str = "truth_stages", seed: int = 0,
                         max_customers: int | None = None) -> StageModelReport:
    """Train the classifier on half the labelled customers, compare on the other half."""
    frame = _labelled(ws, labels)
    customers = np.sort(frame["customer_id"].unique())
    rng = np.random.default_rng(seed)
    if max_customers is not None and len(customers) > max_customers:
        customers = rng.choice(customers, max_customers, replace=False)
        frame = frame[frame["customer_id"].isin(customers)].reset_index(drop=True)
    test = set(rng.choice(customers, len(customers) // 2, replace=False).tolist())
    if not test or len(test) == len(customers):
        raise MissingDataError("stage models need labelled interactions of at least two "
                               "customers")
    codes = pd.factorize(frame["customer_id"])[0]
    ts = _seconds(frame["ts"])
    X = history_features(codes, ts, frame["channel"].map(CHANNELS.index).to_numpy(),
                         frame["type"].map(INTERACTION_TYPES.index).to_numpy(),
                         n_channels=len(CHANNELS), n_types=len(INTERACTION_TYPES),
                         checkout_type=INTERACTION_TYPES.index("checkout"))
    y = frame["stage"].astype(str).to_numpy()
    held = frame["customer_id"].isin(test).to_numpy()
    model = StageClassifier(random_state=seed).fit(X[~held], y[~held])
    truth = y[held]
    scored = _scorer_stages(frame[held].reset_index(drop=True))
    majority = pd.Series(y[~held]).mode().iloc[0]
    return StageModelReport(
        labels_table=labels, customers_trained=len(customers) - len(test),
        customers_tested=len(test), interactions_tested=int(held.sum()),
        scorer_accuracy=float((scored == truth).mean()),
        classifier_accuracy=float((model.predict(X[held]) == truth).mean()),
        majority_accuracy=float((truth == majority).mean()))
