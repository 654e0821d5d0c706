"""A stage classifier on each customer's interaction history, for where stage labels exist.

The second learned stage model (the first is the hidden Markov model of
:mod:`outsidein.sense.hmm`): where a company knows the stage of past interactions (a CRM's
lifecycle field; the demo's ``truth_stages``), a gradient-boosted classifier learns the
stage from what a customer did up to and including each interaction — never after, so it
is a filter, usable online, like the decayed-evidence scorer.

:func:`history_features` turns interactions (customer, time, channel, type) into one row
per interaction: the interaction itself, the time since the customer's previous and first
interactions and since their last checkout, how many interactions of each type they had
before, and how many in the last 7 and 30 days.  :class:`StageClassifier` (LightGBM,
scikit-learn contract) learns the stage from those rows.

Fitted with labels and scored on customers it never saw, it also gives an empirical
ceiling for any filter on the same clues: the best accuracy a flexible model reaches from
the past alone.  (The exact Bayes limit needs the generator's own model; the demo's
generator is not a hidden Markov model, so this is its stand-in, reported as such.)

>>> import numpy as np
>>> X = history_features(np.array([0, 0, 1]), np.array([0.0, 86400.0, 0.0]),
...                      np.array([2, 2, 0]), np.array([1, 4, 0]), n_channels=7, n_types=12)
>>> X.shape, float(X[1, N_FIXED - 1])  # 2nd row: one interaction in the 7 days before it
((3, 37), 1.0)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from outsidein.errors import DataValidationError, NotFittedError
from outsidein.sense.stages import SILENCE

__all__ = ["N_FIXED", "HistoryTracker", "LiveStageClassifier", "StageClassifier",
           "history_features"]

_DAY = 86400.0
_NEVER = 10_000.0  # days, for "no checkout yet"
#: Features before the one-hot and per-type columns: days since previous, since first,
#: since last checkout, interactions before, in the last 30 days, in the last 7 days.
N_FIXED = 6


def history_features(customer: NDArray[Any], ts: NDArray[Any], channel: NDArray[Any],
                     typ: NDArray[Any], *, n_channels: int, n_types: int,
                     checkout_type: int = 4) -> NDArray[np.float64]:
    """One row of features per interaction, from its customer's history up to it.

    Parameters
    ----------
    customer, ts, channel, typ
        Arrays of equal length: customer codes (ints), seconds, channel and type codes
        (ints in ``range(n_channels)`` and ``range(n_types)``).  Any order: rows come back
        in the order given.
    checkout_type
        The type code of a purchase (days since the last one is a feature).
    """
    n = len(customer)
    order = np.lexsort((np.arange(n), ts, customer))
    c, t = np.asarray(customer)[order], np.asarray(ts, float)[order]
    ch, ty = np.asarray(channel)[order], np.asarray(typ)[order]
    new = np.r_[True, c[1:] != c[:-1]]
    start = np.maximum.accumulate(np.where(new, np.arange(n), 0))
    idx = np.arange(n)
    prev_gap = np.where(new, _NEVER, np.r_[0.0, np.diff(t)] / _DAY)
    since_first = (t - t[start]) / _DAY
    # time of the last checkout at or before each row, within the customer
    co_time = np.where(ty == checkout_type, t, -np.inf)
    co_time = np.where(new & (ty != checkout_type), -np.inf, co_time)
    last_co = _group_running_max(co_time, new)
    since_checkout = np.where(np.isfinite(last_co), (t - last_co) / _DAY, _NEVER)
    key = c.astype(float) * 1e11 + t  # sorted: customer first, then time
    in_30 = idx - np.searchsorted(key, key - 30 * _DAY, side="left")
    in_7 = idx - np.searchsorted(key, key - 7 * _DAY, side="left")
    before = idx - start
    one_type = np.zeros((n, n_types))
    one_type[idx, ty] = 1.0
    counts = np.cumsum(one_type, axis=0)
    counts -= counts[start] - one_type[start]  # restart at each customer
    counts -= one_type  # before this interaction
    one_channel = np.zeros((n, n_channels))
    one_channel[idx, ch] = 1.0
    out = np.column_stack([prev_gap, since_first, since_checkout, before, in_30, in_7,
                           one_type, one_channel, counts])
    back = np.empty(n, np.intp)
    back[order] = idx
    return out[back]


class HistoryTracker:
    """:func:`history_features` one event at a time, from a small per-customer state.

    The state is a JSON-ready dict (first and last time, last checkout, interactions
    before, counts per type, and the times of the last 30 days), so the live engine keeps
    it in each customer's row.  Rows equal :func:`history_features`'s for events that
    arrive in time order; a late event is counted as of its own time.

    >>> tr = HistoryTracker(n_channels=7, n_types=12)
    >>> state, row = tr.update(None, 0.0, 2, 1)
    >>> state, row = tr.update(state, 86400.0, 2, 4)
    >>> row[:6].tolist()
    [1.0, 1.0, 0.0, 1.0, 1.0, 1.0]
    """

    def __init__(self, *, n_channels: int, n_types: int, checkout_type: int = 4) -> None:
        self.n_channels, self.n_types, self.checkout_type = n_channels, n_types, checkout_type
        self.width = N_FIXED + 2 * n_types + n_channels

    def update(self, state: Mapping[str, Any] | None, ts: float, channel: int, typ: int
               ) -> tuple[dict[str, Any], NDArray[np.float64]]:
        """The new state and the feature row of the event (channel and type as codes)."""
        nt = self.n_types
        row = np.zeros(self.width)
        if not state:
            counts = [0] * nt
            first, last, last_co, recent = ts, None, None, []
        else:
            counts = list(state["counts"])
            first, last, last_co = state["first"], state["last"], state["last_co"]
            recent = [r for r in state["recent"] if r >= ts - 30 * _DAY]
        if typ == self.checkout_type:
            last_co = ts if last_co is None else max(last_co, ts)
        row[0] = _NEVER if last is None else (ts - last) / _DAY
        row[1] = (ts - first) / _DAY
        row[2] = _NEVER if last_co is None else (ts - last_co) / _DAY
        row[3] = sum(counts)
        row[4] = len(recent)
        row[5] = sum(1 for r in recent if r >= ts - 7 * _DAY)
        if 0 <= typ < nt:  # a code outside the range (an unknown type) sets no column
            row[N_FIXED + typ] = 1.0
        if 0 <= channel < self.n_channels:
            row[N_FIXED + nt + channel] = 1.0
        row[N_FIXED + nt + self.n_channels:] = counts
        if 0 <= typ < nt:
            counts[typ] += 1
        recent.append(ts)
        return {"first": min(first, ts), "last": ts if last is None else max(last, ts),
                "last_co": last_co, "counts": counts, "recent": recent}, row


def _group_running_max(values: NDArray[np.float64], new: NDArray[np.bool_]
                       ) -> NDArray[np.float64]:
    """Running maximum that restarts where *new* is True (values are -inf or times)."""
    group = np.cumsum(new)
    # within a group times only grow, so a running max of (group, value) pairs works when
    # each group's values are offset above every earlier group's
    offset = group * 1e12
    shifted = np.where(np.isfinite(values), values + offset, offset - 1.0)
    run = np.maximum.accumulate(shifted)
    return np.where(run >= offset, run - offset, -np.inf)


class StageClassifier:
    """Gradient-boosted stage classifier on :func:`history_features` (LightGBM).

    Parameters
    ----------
    n_estimators, learning_rate, num_leaves
        LightGBM's settings.
    random_state
        Seed.

    Attributes
    ----------
    classes_ : ndarray
        The stage labels seen in ``fit``.
    model_ : lightgbm.LGBMClassifier
        The fitted booster.
    """

    def __init__(self, n_estimators: int = 150, learning_rate: float = 0.1,
                 num_leaves: int = 31, random_state: int = 0) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.random_state = random_state

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"n_estimators": self.n_estimators, "learning_rate": self.learning_rate,
                "num_leaves": self.num_leaves, "random_state": self.random_state}

    def __repr__(self) -> str:
        return (f"StageClassifier(n_estimators={self.n_estimators}, "
                f"learning_rate={self.learning_rate})")

    def fit(self, X: Any, y: Any) -> StageClassifier:
        """Learn the stage (labels *y*) from feature rows *X*."""
        # lazy: importing lightgbm loads its native library and OpenMP into the process;
        # only the commands that fit this model need it
        import lightgbm as lgb

        X, y = np.asarray(X, float), np.asarray(y)
        if len(X) != len(y) or len(X) == 0:
            raise DataValidationError(f"StageClassifier.fit: {len(X)} rows of features and "
                                      f"{len(y)} labels; expected the same, at least one")
        self.model_ = lgb.LGBMClassifier(
            n_estimators=self.n_estimators, learning_rate=self.learning_rate,
            num_leaves=self.num_leaves, random_state=self.random_state, n_jobs=1,
            verbose=-1).fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def _check(self) -> None:
        if not hasattr(self, "booster_"):
            raise NotFittedError("StageClassifier: call fit() first")

    @property
    def booster_(self) -> Any:
        """The LightGBM booster (of the fitted model, or the one read by :meth:`from_text`)."""
        if "_booster" in self.__dict__:
            return self.__dict__["_booster"]
        if "model_" in self.__dict__:
            return self.model_.booster_
        raise AttributeError("booster_")

    def to_text(self) -> str:
        """The model in LightGBM's own text format (its classes: :attr:`classes_`)."""
        self._check()
        return str(self.booster_.model_to_string())

    @classmethod
    def from_text(cls, text: str, classes: Sequence[Any]) -> StageClassifier:
        """A classifier from :meth:`to_text`'s text and the classes in their order."""
        # lazy: lightgbm loads its native library; only a configured classifier needs it
        import lightgbm as lgb

        out = cls()
        out.__dict__["_booster"] = lgb.Booster(model_str=text)
        out.classes_ = np.asarray(list(classes))
        return out

    def predict(self, X: Any) -> NDArray[Any]:
        """The most likely stage of each row."""
        return np.asarray(self.classes_[np.argmax(self.predict_proba(X), axis=1)])

    def predict_proba(self, X: Any) -> NDArray[np.float64]:
        """Stage probabilities per row, columns in :attr:`classes_` order."""
        self._check()
        # one thread: LightGBM's OpenMP start-up cost 8 ms on a one-row call here (0.05 ms
        # without); the rows the engine scores are few
        p = np.asarray(self.booster_.predict(np.asarray(X, float), num_threads=1), float)
        return np.column_stack([1.0 - p, p]) if p.ndim == 1 else p


def _factor(log_odds: float) -> str:
    """A change in log-odds as a factor people read: x1.37, x22, x1000+."""
    f = float(np.exp(min(log_odds, 20.0)))
    return "x1000+" if f >= 1000 else f"x{f:.3g}"


class LiveStageClassifier:
    """A fitted :class:`StageClassifier` as the live engine's stage model.

    Per event: the customer's :class:`HistoryTracker` state moves on, the model gives the
    stage probabilities, and the clues say which parts of the history pushed toward the
    stage found, in words.

    **Clues by occlusion, not SHAP.**  LightGBM's exact per-feature contributions
    (``pred_contrib``) took 6.3 ms per event here (750 trees), against 0.05 ms for the
    prediction itself.  Instead, each of seven groups of features (the interaction's type,
    its channel, the days since the previous, the first and the last checkout, the recent
    activity, the past interactions by type) is reset to "nothing known" (zeros; "never"
    for the day counts) in one extra row, all scored in the same call; a clue is a group
    whose reset lowers the odds of the found stage (against the others, from the model's
    raw scores, which do not saturate as probabilities do), by the factor shown.

    Parameters
    ----------
    model
        The fitted classifier (its labels are mapped to engine stages by ``label_map``).
    label_map
        Label -> engine stage (labels already named as engine stages map to themselves).
    channels, types
        The channel and interaction-type names, in the codes' order.
    """

    def __init__(self, model: StageClassifier, label_map: Mapping[str, str],
                 channels: Sequence[str], types: Sequence[str],
                 checkout: str = "checkout") -> None:
        model._check()
        self.model, self.label_map = model, dict(label_map)
        self.channels, self.types = tuple(channels), tuple(types)
        self._ch = {c: i for i, c in enumerate(self.channels)}
        self._ty = {t: i for i, t in enumerate(self.types)}
        self.tracker = HistoryTracker(n_channels=len(self.channels), n_types=len(self.types),
                                      checkout_type=self._ty.get(checkout, -1))
        self.stages = [self.label_map.get(str(c), str(c)) for c in model.classes_]
        self._booster = model.booster_
        nt, nc = len(self.types), len(self.channels)
        t0, c0, h0 = N_FIXED, N_FIXED + nt, N_FIXED + nt + nc
        # (name, columns, value meaning "nothing known")
        self._groups: list[tuple[str, slice, float]] = [
            ("type", slice(t0, t0 + nt), 0.0), ("channel", slice(c0, c0 + nc), 0.0),
            ("previous", slice(0, 1), _NEVER), ("first", slice(1, 2), 0.0),
            ("checkout", slice(2, 3), _NEVER), ("activity", slice(3, 6), 0.0),
            ("past", slice(h0, h0 + nt), 0.0)]

    def _words(self, group: str, row: NDArray[np.float64], typ: str, channel: str) -> str:
        nt, nc = len(self.types), len(self.channels)
        if group == "type":
            return f"this interaction: {typ}"
        if group == "channel":
            return f"its channel: {channel}"
        if group == "previous":
            return ("the first interaction seen" if row[0] >= _NEVER
                    else f"{row[0]:.1f} days since the previous interaction")
        if group == "first":
            return f"{row[1]:.0f} days since the first interaction"
        if group == "checkout":
            return ("no checkout yet" if row[2] >= _NEVER
                    else f"{row[2]:.1f} days since the last checkout")
        if group == "activity":
            return f"{row[4]:.0f} interactions in the last 30 days, {row[5]:.0f} in the last 7"
        past = row[N_FIXED + nt + nc:]
        top = [f"{int(past[j])} {self.types[j]}" for j in np.argsort(-past)[:3] if past[j] > 0]
        return "before: " + (", ".join(top) if top else "nothing")

    def sense(self, state: Mapping[str, Any] | None, ts: float, channel: str, typ: str,
              top: int = 3) -> tuple[dict[str, Any], str, float, list[str]]:
        """``(new state, stage, its probability, clues in words)`` for one event.

        Channels and types the model never saw leave their one-hot columns empty.  A
        ``"silence"`` (the sweep's event for a stage changed by silence) is no interaction:
        the model is asked about the history as of *ts* with the interaction's type and
        channel unknown (as its occlusion clues ask), so the days since the previous
        interaction and the last checkout and the recent activity speak; the state is kept.
        """
        if typ == SILENCE:  # the history as it was, asked about as of ts
            _, stage, p, clues = self.sense(state, ts, "", "no interaction", top)
            return dict(state or {}), stage, p, clues
        ch, ty = self._ch.get(channel), self._ty.get(typ)
        state, row = self.tracker.update(state, ts, -1 if ch is None else ch,
                                         -1 if ty is None else ty)
        rows = np.repeat(row[None, :], len(self._groups) + 1, axis=0)
        for i, (_, cols, blank) in enumerate(self._groups, start=1):
            rows[i, cols] = blank
        raw = np.asarray(self._booster.predict(rows, raw_score=True, num_threads=1), float)
        if raw.ndim == 1:  # two classes: the score is the second's log-odds
            raw = np.column_stack([np.zeros(len(raw)), raw])
        k = int(np.argmax(raw[0]))
        p = float(1.0 / np.exp(raw[0] - raw[0, k]).sum())
        stage = self.stages[k]
        # log-odds of the stage found against the rest: they do not saturate as p does
        others = np.delete(raw, k, axis=1)
        top_other = others.max(axis=1)
        lo = raw[:, k] - (top_other + np.log(np.exp(others - top_other[:, None]).sum(axis=1)))
        push = lo[0] - lo[1:]
        order = [i for i in np.argsort(-push) if push[i] > 0.01][:top]
        if not order:  # no single group matters alone (the rest would tell the same)
            order = [int(np.argmax(push))]
        clues = [f"{self._words(self._groups[i][0], row, typ, channel)} "
                 f"(odds toward {stage} {_factor(push[i])})" for i in order]
        return state, stage, p, clues
