"""Likely converts: which prospects are about to buy (question 5).

:class:`ConversionModel` is a LightGBM classifier trained on past prospects
(converted or not), its probabilities calibrated on a held-out share (Platt
scaling or isotonic regression), with per-prospect reasons from LightGBM's
own feature contributions (``pred_contrib=True``) phrased in words.

Besides the canonical prospect columns it takes any *attributes* a prospects
file brought (budget, employees, ...): numbers and booleans as numbers
(unconstrained), text as a category capped at *max_levels* levels (the rarer
ones pooled as ``"(other)"``); time stamps are not used.

>>> import numpy as np, pandas as pd
>>> prospects = pd.DataFrame({"source": ["trade_show", "ads"] * 20,
...                           "pricing_visits": np.arange(40) % 4})
>>> converted = prospects["pricing_visits"].to_numpy() >= 2
>>> m = ConversionModel(min_child_samples=5).fit(prospects, converted)
>>> m.reasons(prospects.iloc[[3]])
['visited pricing 3 times']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from sklearn.base import BaseEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from outsidein.errors import DataValidationError, NotFittedError
from outsidein.value.prospects import feature_words, is_numeric_attribute

__all__ = ["CATEGORICAL", "NUMERIC", "OTHER", "ConversionModel", "calibration_figure",
           "calibration_table"]

#: Categorical and numeric prospect columns the conversion model uses when present.
CATEGORICAL = ("source", "region", "industry", "company_size", "age_band")
NUMERIC = ("web_visits", "pricing_visits", "email_opens")
#: the level standing for an attribute's rarer values (beyond ``max_levels``)
OTHER = "(other)"


class ConversionModel(BaseEstimator):
    """LightGBM conversion model with calibration on a held-out share.

    A scikit-learn estimator (``get_params``, ``set_params``, ``clone``).

    Parameters
    ----------
    calibration_share
        Share of the training prospects held out to calibrate the probabilities.
    calibration
        ``"sigmoid"`` (Platt scaling: keeps the model's ranking, so its AUC) or
        ``"isotonic"`` (more flexible, needs a large held-out share; ties lower the AUC).
    n_estimators, learning_rate, num_leaves, min_child_samples
        LightGBM settings.  Small trees by default: conversion drivers are mostly
        additive (source, size, visits), and deep trees overfit a few thousand prospects.
    num_threads
        LightGBM threads; 1 by default: on a busy machine OpenMP threads that wait for
        a core made a 2-thread fit three times slower than 1 thread (measured here).
    monotone_engagement
        Constrain the chance to rise (never fall) with web visits, pricing visits and
        e-mail opens: more engagement is not a reason to convert less, and the
        constraint keeps small samples from learning noise.
    attributes
        More columns to use (a prospects file's own attributes): numbers and booleans
        as numbers, text as a category; absent or empty ones are ignored.
    max_levels
        An attribute's text keeps its *max_levels* commonest values; the others are
        one level, :data:`OTHER`.
    random_state
        Seed of the split and of LightGBM.

    Attributes
    ----------
    model_ : lightgbm.LGBMClassifier
        The boosted trees, trained on the non-held-out share.
    calibrator_
        Maps the trees' probability to a calibrated one (fitted on the held-out share).
    features_ : list of str
        The columns used: categorical ones first (text attributes among them), then the
        engagement counts, then numeric and boolean attributes.
    attribute_numeric_ : list of str
        The numeric and boolean *attributes* used.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> prospects = pd.DataFrame({"source": ["trade_show", "ads"] * 20,
    ...                           "pricing_visits": np.arange(40) % 4})
    >>> converted = prospects["pricing_visits"].to_numpy() >= 2
    >>> m = ConversionModel(min_child_samples=5).fit(prospects, converted)
    >>> p = m.predict_proba(prospects.head(4))
    >>> bool(p[3] > 0.5 > p[0])
    True
    >>> m.features_
    ['source', 'pricing_visits']
    >>> m.contributions(prospects.head(2)).columns.tolist()  # log-odds per feature
    ['source', 'pricing_visits']
    """

    def __init__(self, *, calibration_share: float = 0.25, calibration: str = "sigmoid",
                 n_estimators: int = 200, learning_rate: float = 0.03, num_leaves: int = 4,
                 min_child_samples: int = 50, monotone_engagement: bool = True,
                 attributes: Sequence[str] = (), max_levels: int = 20,
                 num_threads: int = 1, random_state: int = 0) -> None:
        self.calibration_share = calibration_share
        self.attributes = attributes
        self.max_levels = max_levels
        self.monotone_engagement = monotone_engagement
        self.calibration = calibration
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.num_threads = num_threads
        self.random_state = random_state

    def _frame(self, prospects: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame(index=prospects.index)
        for c in self.categorical_:
            cats = self.categories_[c]
            values = (prospects[c] if c in prospects.columns
                      else pd.Series(pd.NA, index=prospects.index)).astype("string")
            codes = pd.Index(cats, dtype=object).get_indexer(
                values.to_numpy(dtype=object, na_value=None))
            if cats and cats[-1] == OTHER:  # a capped attribute: its rarer values are "other"
                codes[(codes < 0) & values.notna().to_numpy()] = len(cats) - 1
            out[c] = pd.Categorical.from_codes(codes, categories=cats)  # unseen -> missing
        for c in (*self.numeric_, *self.attribute_numeric_):
            col = prospects[c] if c in prospects.columns else pd.Series(np.nan, prospects.index)
            if c in self.attribute_numeric_ and not is_numeric_attribute(col):  # yes/no: 1/0
                col = col.map({True: 1.0, False: 0.0})
            out[c] = pd.to_numeric(col, errors="coerce").astype(float)
        return out

    def _attribute_columns(self, prospects: pd.DataFrame) -> tuple[list[str], list[str]]:
        """The *attributes* to use: ``(text ones, numeric and boolean ones)``."""
        text: list[str] = []
        numbers: list[str] = []
        for a in self.attributes:
            if a in (*CATEGORICAL, *NUMERIC) or a not in prospects.columns:
                continue
            col = prospects[a]
            if col.isna().all() or pd.api.types.is_datetime64_any_dtype(col):
                continue
            is_bool = pd.api.types.is_bool_dtype(col) or col.dtype == object and all(
                isinstance(v, bool | np.bool_) for v in col.dropna().unique())
            (numbers if is_bool or is_numeric_attribute(col) else text).append(a)
        return text, numbers

    def _levels(self, col: pd.Series) -> list[str]:
        """A text attribute's *max_levels* commonest values, then :data:`OTHER` if more."""
        counts = col.dropna().astype(str).value_counts()
        keep = sorted(counts.index[: self.max_levels])
        return [*keep, OTHER] if len(counts) > self.max_levels else keep

    def fit(self, prospects: pd.DataFrame,
            converted: Sequence[bool] | np.ndarray) -> ConversionModel:
        """Train on *prospects* (features) and *converted* (bool), calibrate on a held-out part.

        Returns
        -------
        self
        """
        # lazy: importing lightgbm loads its native library and OpenMP (libgomp) into the
        # process; only a conversion fit needs them
        import lightgbm as lgb

        if self.calibration not in ("sigmoid", "isotonic"):
            raise DataValidationError(
                f"calibration {self.calibration!r}: expected 'sigmoid' or 'isotonic'")
        y = np.asarray(converted, dtype=bool)
        if y.all() or not y.any() or len(y) < 20:
            raise DataValidationError(
                f"the conversion model needs converted and non-converted prospects "
                f"(found {int(y.sum())} converted of {len(y)})")
        text, self.attribute_numeric_ = self._attribute_columns(prospects)
        self.categorical_ = [c for c in CATEGORICAL if c in prospects.columns
                             and prospects[c].notna().any()] + text
        self.numeric_ = [c for c in NUMERIC if c in prospects.columns]
        self.categories_ = {c: sorted(prospects[c].dropna().astype(str).unique())
                            for c in self.categorical_ if c not in text}
        self.categories_.update({c: self._levels(prospects[c]) for c in text})
        X = self._frame(prospects)
        X_fit, X_cal, y_fit, y_cal = train_test_split(
            X, y, test_size=self.calibration_share, stratify=y, random_state=self.random_state)
        model = lgb.LGBMClassifier(
            n_estimators=self.n_estimators, learning_rate=self.learning_rate,
            num_leaves=self.num_leaves, min_child_samples=self.min_child_samples,
            subsample=0.8, subsample_freq=1, colsample_bytree=0.9, reg_lambda=5.0,
            num_threads=self.num_threads, random_state=self.random_state, verbose=-1,
            monotone_constraints=([0] * len(self.categorical_) + [1] * len(self.numeric_)
                                  + [0] * len(self.attribute_numeric_)
                                  if self.monotone_engagement else None))
        model.fit(X_fit, y_fit)
        raw = np.asarray(model.predict_proba(X_cal))[:, 1]
        if self.calibration == "isotonic":
            self.calibrator_ = IsotonicRegression(out_of_bounds="clip", y_min=0.0,
                                                  y_max=1.0).fit(raw, y_cal)
        else:
            self.calibrator_ = _Platt().fit(raw, y_cal)
        self.model_ = model
        self.features_ = [*self.categorical_, *self.numeric_, *self.attribute_numeric_]
        return self

    def _check(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError("ConversionModel is not fitted; call fit(prospects, converted)")

    def predict_proba(self, prospects: pd.DataFrame) -> np.ndarray:
        """Calibrated probability that each prospect converts (unseen values count as missing)."""
        self._check()
        raw = np.asarray(self.model_.predict_proba(self._frame(prospects)))[:, 1]
        return self.calibrator_.predict(raw)

    def contributions(self, prospects: pd.DataFrame) -> pd.DataFrame:
        """LightGBM's per-feature contributions (log-odds) for each prospect, one column each."""
        self._check()
        c = self.model_.predict(self._frame(prospects), pred_contrib=True)
        return pd.DataFrame(np.asarray(c)[:, :-1], columns=self.features_, index=prospects.index)

    def reasons(self, prospects: pd.DataFrame, *, k: int = 3) -> list[str]:
        """Up to *k* features that raise each prospect's chance most, in words."""
        contrib = self.contributions(prospects).to_numpy()
        values = prospects.reindex(columns=self.features_).to_numpy(dtype=object)
        out = []
        for i in range(len(prospects)):
            order = np.argsort(-contrib[i])
            words = [feature_words(self.features_[j], values[i, j]) for j in order[:k]
                     if contrib[i, j] > 0.02]
            out.append(", ".join(words) if words else "nothing in their profile raises the chance")
        return out


class _Platt:
    """Platt scaling on the log-odds of the raw score (monotone: the ranking is kept)."""

    def fit(self, raw: np.ndarray, y: np.ndarray) -> _Platt:
        self.lr_ = LogisticRegression(C=1e4).fit(self._logit(raw), np.asarray(y, dtype=bool))
        return self

    @staticmethod
    def _logit(p: np.ndarray) -> np.ndarray:
        p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
        return np.log(p / (1 - p)).reshape(-1, 1)

    def predict(self, raw: np.ndarray) -> np.ndarray:
        return self.lr_.predict_proba(self._logit(raw))[:, 1]


def calibration_table(p: np.ndarray, y: np.ndarray, *, bins: int = 10) -> pd.DataFrame:
    """Mean predicted vs observed conversion rate in equal-count bins of *p*.

    Examples
    --------
    >>> import numpy as np
    >>> calibration_table(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1]), bins=2)
       predicted  observed  prospects
    0       0.15       0.0          2
    1       0.85       1.0          2
    """
    df = pd.DataFrame({"p": p, "y": np.asarray(y, dtype=float)})
    q = min(bins, max(1, df["p"].nunique()))
    df["bin"] = pd.qcut(df["p"].rank(method="first"), q, labels=False)
    t = df.groupby("bin").agg(predicted=("p", "mean"), observed=("y", "mean"),
                              prospects=("y", "size")).reset_index(drop=True)
    return t


def calibration_figure(table: pd.DataFrame, auc: float) -> go.Figure:
    """Plotly calibration plot (predicted vs observed) with the diagonal.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"predicted": [0.15, 0.85], "observed": [0.0, 1.0],
    ...                       "prospects": [2, 2]})
    >>> calibration_figure(table, auc=0.91).layout.title.text.endswith("91% of pairs)")
    True
    """
    hi = float(max(table["predicted"].max(), table["observed"].max(), 0.01)) if len(table) else 1.0
    fig = go.Figure([
        go.Scatter(x=[0, hi], y=[0, hi], mode="lines", line={"dash": "dot"},
                   name="exactly as predicted"),
        go.Scatter(x=table["predicted"], y=table["observed"], mode="lines+markers",
                   name="held-out prospects", text=table["prospects"]),
    ])
    fig.update_layout(title=(f"Predicted against actual conversion, prospects the model had not "
                             f"seen (converters ranked first in {auc:.0%} of pairs)"),
                      xaxis_title="predicted chance to convert",
                      yaxis_title="share that converted",
                      height=380)
    return fig
