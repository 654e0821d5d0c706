"""Scores: reverse-keying, component and overall scores per respondent, means per group.

Scores are on 0-100, the percent of the scale's range an answer reaches after reverse-keying
(``(x - min) / (max - min) * 100``), so 5- and 7-point items can be averaged together.
A component's score is the mean of its answered items when at least *min_share* of them are
answered; ``market_orientation`` is the mean of the six market-orientation component scores
(those present).  Group means here ignore anonymity: what is shown goes through
:func:`outsidein.culture.disclosed_scores`.

>>> from outsidein.culture.instrument import build_instrument
>>> inst = build_instrument({"version": "1", "items": [
...     {"id": "a", "component": "responsiveness", "text": "t"},
...     {"id": "b", "component": "responsiveness", "text": "t", "reverse": True},
...     {"id": "c", "component": "responsiveness", "text": "t"}]})
>>> r = pd.DataFrame({"org": ["x", "x"], "a": [5, 3], "b": [1, 3], "c": [5, None]})
>>> score_respondents(r, inst)[["org", "responsiveness", "market_orientation"]]
  org  responsiveness  market_orientation
0   x           100.0               100.0
1   x            50.0                50.0
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from outsidein.culture.instrument import Instrument
from outsidein.errors import DataValidationError

__all__ = ["ID_COLUMNS", "aggregate_scores", "check_responses", "item_scores", "key_items",
           "score_respondents"]

#: the respondent columns kept beside the scores when present
ID_COLUMNS: tuple[str, ...] = ("org", "department", "role", "wave")


def check_responses(responses: pd.DataFrame, instrument: Instrument) -> None:
    """Raise :class:`~outsidein.errors.DataValidationError` if an answer cannot be used.

    Every item column must be there and numeric, with answers inside the item's scale.

    >>> from outsidein.culture.instrument import build_instrument
    >>> inst = build_instrument({"version": "1", "items": [
    ...     {"id": i, "component": "responsiveness", "text": "t"} for i in "abc"]})
    >>> check_responses(pd.DataFrame({"a": [1], "b": [9], "c": [2]}), inst)
    Traceback (most recent call last):
    ...
    outsidein.errors.DataValidationError: item b: answer 9 in row 0 is outside its scale 1..5
    """
    missing = [i for i in instrument.item_ids if i not in responses.columns]
    if missing:
        raise DataValidationError(f"the responses have no column for item(s) "
                                  f"{', '.join(missing)} of instrument {instrument.version}")
    for it in instrument.items:
        col = responses[it.id]
        if not pd.api.types.is_numeric_dtype(col):
            raise DataValidationError(f"item {it.id}: answers must be numbers "
                                      f"{it.scale_min}..{it.scale_max}, got {col.dtype}")
        v = col.to_numpy(dtype=float, na_value=np.nan)
        bad = np.flatnonzero(~np.isnan(v) & ((v < it.scale_min) | (v > it.scale_max)))
        if bad.size:
            row = responses.index[bad[0]]
            raise DataValidationError(f"item {it.id}: answer {v[bad[0]]:g} in row {row} is "
                                      f"outside its scale {it.scale_min}..{it.scale_max}")


def key_items(responses: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """The item answers with reverse-keyed items reversed (``min + max - x``), own scale.

    >>> from outsidein.culture.instrument import build_instrument
    >>> inst = build_instrument({"version": "1", "items": [
    ...     {"id": i, "component": "responsiveness", "text": "t", "reverse": i == "b"}
    ...     for i in "abc"]})
    >>> key_items(pd.DataFrame({"a": [1], "b": [2], "c": [3]}), inst).iloc[0].tolist()
    [1.0, 4.0, 3.0]
    """
    check_responses(responses, instrument)
    out = {}
    for it in instrument.items:
        v = responses[it.id].to_numpy(dtype=float, na_value=np.nan)
        out[it.id] = (it.scale_min + it.scale_max - v) if it.reverse else v
    return pd.DataFrame(out, index=responses.index)


def item_scores(responses: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """Each item's answer, reverse-keyed, on 0-100 (for item-level comparisons and norms).

    >>> from outsidein.culture.instrument import build_instrument
    >>> inst = build_instrument({"version": "1", "items": [
    ...     {"id": i, "component": "responsiveness", "text": "t", "reverse": i == "b"}
    ...     for i in "abc"]})
    >>> item_scores(pd.DataFrame({"a": [1], "b": [2], "c": [3]}), inst).iloc[0].tolist()
    [0.0, 75.0, 50.0]
    """
    keyed = key_items(responses, instrument)
    return pd.DataFrame({it.id: (keyed[it.id] - it.scale_min) / (it.scale_max - it.scale_min)
                         * 100.0 for it in instrument.items}, index=responses.index)


def score_respondents(responses: pd.DataFrame, instrument: Instrument, *,
                      min_share: float = 0.5) -> pd.DataFrame:
    """Component scores (0-100) and ``market_orientation`` for each respondent.

    The id columns (:data:`ID_COLUMNS`) present in *responses* are kept, first.
    """
    keyed = key_items(responses, instrument)
    out: dict[str, np.ndarray | pd.Series] = {c: responses[c] for c in ID_COLUMNS
                                              if c in responses.columns}
    for comp in instrument.components:
        items = instrument.items_for(comp)
        x = np.column_stack([(keyed[it.id].to_numpy() - it.scale_min)
                             / (it.scale_max - it.scale_min) * 100.0 for it in items])
        answered = (~np.isnan(x)).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.nansum(x, axis=1) / answered
        mean[answered < max(1, int(np.ceil(min_share * len(items))))] = np.nan
        out[comp] = mean
    mo = [out[c] for c in instrument.mo_components]
    stack = np.column_stack([np.asarray(m, dtype=float) for m in mo])
    ok = ~np.isnan(stack).any(axis=1)
    mo_score = np.full(len(stack), np.nan)
    mo_score[ok] = stack[ok].mean(axis=1)
    out["market_orientation"] = mo_score
    return pd.DataFrame(out, index=responses.index)


def aggregate_scores(scores: pd.DataFrame, by: Sequence[str] = ("org",),
                     columns: Sequence[str] | None = None) -> pd.DataFrame:
    """``n`` and the mean of each score column per group of *by* (no anonymity rule applied).

    >>> s = pd.DataFrame({"org": ["a", "a", "b"], "engagement": [50.0, 70.0, 20.0]})
    >>> aggregate_scores(s)
      org  n  engagement
    0   a  2        60.0
    1   b  1        20.0
    """
    by = list(by)
    cols = [c for c in (columns or scores.columns) if c not in by and c not in ID_COLUMNS]
    g = scores.groupby(by, sort=True, observed=True, dropna=False)
    out = g[cols].mean()
    out.insert(0, "n", g.size())
    return out.reset_index()
