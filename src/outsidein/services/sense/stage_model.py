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

With ``--save``, a classifier fitted on all the labelled customers is written to the
workspace (:data:`MODEL_FILE`: LightGBM's own text format inside a JSON file with the
classes and how they map to the engine's stages).  ``[sense] stage_model = "classifier"``
in ``outsidein.toml`` then makes it the live engine's stage model
(:func:`load_live_classifier`): every event's stage, probability and clues come from it,
for the events API and for ``outsidein sense replay``.  The decayed-evidence scorer still
runs beside it for the service override of the message need.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from outsidein.errors import ConfigError, MissingDataError
from outsidein.sense.evidence import EvidenceConfig, EvidenceScorer
from outsidein.sense.sequence import LiveStageClassifier, StageClassifier, history_features
from outsidein.sense.stages import DEMO_TO_STAGE, STAGE_TO_DEMO, STAGES
from outsidein.warehouse.schema import CHANNELS, INTERACTION_TYPES

if TYPE_CHECKING:
    from outsidein.workspace import Workspace

__all__ = ["MODEL_FILE", "StageModelReport", "compare_stage_models", "configured_scorer",
           "configured_stage_model",
           "load_live_classifier", "save_stage_classifier"]

#: Where ``outsidein sense stage-model --save`` writes the classifier (workspace-relative).
MODEL_FILE = "models/stage_classifier.json"


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


def _scorer_stages(frame: pd.DataFrame, scorer: EvidenceScorer) -> np.ndarray:
    """The scorer's stage (on the labels' scale) of each row, each customer in time order."""
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


def _features(frame: pd.DataFrame) -> np.ndarray:
    codes = pd.factorize(frame["customer_id"])[0]
    return history_features(codes, _seconds(frame["ts"]),
                            frame["channel"].map(CHANNELS.index).to_numpy(),
                            frame["type"].map(INTERACTION_TYPES.index).to_numpy(),
                            n_channels=len(CHANNELS), n_types=len(INTERACTION_TYPES),
                            checkout_type=INTERACTION_TYPES.index("checkout"))


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
    X = _features(frame)
    y = frame["stage"].astype(str).to_numpy()
    held = frame["customer_id"].isin(test).to_numpy()
    model = StageClassifier(random_state=seed).fit(X[~held], y[~held])
    truth = y[held]
    scored = _scorer_stages(frame[held].reset_index(drop=True), configured_scorer(ws.config.extra))
    majority = pd.Series(y[~held]).mode().iloc[0]
    return StageModelReport(
        labels_table=labels, customers_trained=len(customers) - len(test),
        customers_tested=len(test), interactions_tested=int(held.sum()),
        scorer_accuracy=float((scored == truth).mean()),
        classifier_accuracy=float((model.predict(X[held]) == truth).mean()),
        majority_accuracy=float((truth == majority).mean()))


def _label_map(labels: Any) -> dict[str, str]:
    """Label -> engine stage: engine stage names as they are, the demo's five mapped."""
    out: dict[str, str] = {}
    for label in (str(x) for x in labels):
        stage = label if label in STAGES else DEMO_TO_STAGE.get(label)
        if stage is None:
            raise MissingDataError(
                f"stage label {label!r} is neither an engine stage ({', '.join(STAGES)}) nor "
                f"one of {', '.join(DEMO_TO_STAGE)}: rename it in the labels table")
        out[label] = stage
    return out


def save_stage_classifier(ws: Workspace, *, labels: str = "truth_stages", seed: int = 0,
                          report: StageModelReport | None = None) -> Path:
    """Fit the classifier on every labelled interaction and write it to :data:`MODEL_FILE`
    (atomically: a failed write leaves the previous model)."""
    frame = _labelled(ws, labels)
    y = frame["stage"].astype(str).to_numpy()
    label_map = _label_map(np.unique(y))
    model = StageClassifier(random_state=seed).fit(_features(frame), y)
    path = ws.root / MODEL_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"kind": "outsidein.stage_classifier", "version": 1, "labels_table": labels,
           "interactions": len(frame), "customers": int(frame["customer_id"].nunique()),
           "classes": [str(c) for c in model.classes_], "label_map": label_map,
           "channels": list(CHANNELS), "types": list(INTERACTION_TYPES),
           "held_out": report.to_dict() if report is not None else None,
           "model": model.to_text()}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc))
    os.replace(tmp, path)
    return path


def load_live_classifier(root: Path) -> LiveStageClassifier:
    """The saved classifier of the workspace at *root*, ready for the live engine."""
    path = Path(root) / MODEL_FILE
    if not path.exists():
        raise ConfigError(f"[sense] stage_model = \"classifier\" but {path} does not exist: "
                          "run 'outsidein sense stage-model --save' first (it needs a table "
                          "of labelled interactions)")
    try:
        doc = json.loads(path.read_text())
        model = StageClassifier.from_text(doc["model"], doc["classes"])
        return LiveStageClassifier(model, doc["label_map"], doc["channels"], doc["types"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: not a stage classifier saved by 'outsidein sense "
                          f"stage-model --save' ({exc}); save it again") from exc


def configured_scorer(extra: Mapping[str, Any]) -> EvidenceScorer:
    """The decayed-evidence scorer with the weights and half-lives of ``[sense.evidence]``
    in ``outsidein.toml`` merged over the defaults (an unknown key or stage is an error that
    names it)."""
    section = dict(extra.get("sense", {})).get("evidence", {})
    if not isinstance(section, Mapping):
        raise ConfigError("outsidein.toml [sense.evidence] must be a table (weights, "
                          "half_lives, ...)")
    return EvidenceScorer(EvidenceConfig.from_mapping(section)).fit()


def configured_stage_model(root: Path, extra: Mapping[str, Any]) -> LiveStageClassifier | None:
    """The live stage model ``[sense] stage_model`` names: ``"evidence"`` (the default, the
    decayed-evidence scorer: None here) or ``"classifier"`` (the saved classifier)."""
    name = dict(extra.get("sense", {})).get("stage_model", "evidence")
    if name == "evidence":
        return None
    if name == "classifier":
        return load_live_classifier(root)
    raise ConfigError(f"[sense] stage_model = {name!r}: expected \"evidence\" (the "
                      "decayed-evidence scorer) or \"classifier\" (saved by 'outsidein sense "
                      "stage-model --save')")
