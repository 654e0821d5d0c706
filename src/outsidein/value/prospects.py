"""Ideal prospects and likely converts (questions 4 and 5).

* :func:`ideal_customer_profile` finds the attribute values over-represented
  among the top value decile (lift = P(top | value) / P(top); confidence =
  P(top | value)).
* :class:`LookalikeModel` learns "looks like a top customer" from customers'
  attributes (one-hot logistic regression) and scores prospects by it.
* :class:`ConversionModel` is a LightGBM classifier trained on past
  prospects (converted or not), its probabilities calibrated by isotonic
  regression on a held-out set, with per-prospect reasons from LightGBM's
  own feature contributions (``pred_contrib=True``) phrased in words.

>>> import pandas as pd
>>> customers = pd.DataFrame({"industry": ["software"] * 5 + ["retail"] * 15,
...                           "is_top": [True] * 4 + [False] * 16})
>>> icp = ideal_customer_profile(customers, ["industry"], min_count=1)
>>> icp.loc[0, ["value", "lift"]].tolist()
['software', 4.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from outsidein.errors import DataValidationError, NotFittedError

#: Attributes customers and prospects share (the profile and the lookalike model use them).
PROFILE_ATTRIBUTES = ("region", "industry", "company_size", "age_band", "channel")
CATEGORICAL = ("source", "region", "industry", "company_size", "age_band")
NUMERIC = ("web_visits", "pricing_visits", "email_opens")
_SOURCE_WORDS = {"trade_show": "from the trade show", "referral": "referred by a customer",
                 "web_form": "came through the web form", "ads": "came from an ad",
                 "web": "came through the website", "store": "met in a store",
                 "partner": "came through a partner", "event": "met at an event"}
_ATTR_WORDS = {"region": "in region {v}", "industry": "in {v}", "company_size": "company size {v}",
               "age_band": "aged {v}", "channel": "came via {v}", "source": "source {v}"}


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def feature_words(feature: str, value: Any) -> str:
    """A feature's value in words: ``("pricing_visits", 2)`` -> ``"visited pricing twice"``."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return f"no {feature.replace('_', ' ')} recorded"
    if feature == "source":
        return _SOURCE_WORDS.get(str(value), f"from {str(value).replace('_', ' ')}")
    if feature == "web_visits":
        return f"visited the website {_times(int(value))}" if value else "never visited the website"
    if feature == "pricing_visits":
        return f"visited pricing {_times(int(value))}" if value else "never visited pricing"
    if feature == "email_opens":
        n = int(value)
        return f"opened {n} e-mail{'' if n == 1 else 's'}" if n else "opened no e-mails"
    text = str(value).replace("_", " ") if feature == "channel" else value
    return _ATTR_WORDS.get(feature, feature.replace("_", " ") + " {v}").format(v=text)


# -- ideal customer profile -------------------------------------------------------------


def ideal_customer_profile(customers: pd.DataFrame, attributes: Sequence[str],
                           *, target: str = "is_top", min_count: int = 20,
                           min_lift: float = 1.0) -> pd.DataFrame:
    """Attribute values over-represented among the top customers.

    Parameters
    ----------
    customers
        One row per customer: the *attributes* and a boolean *target* (top value decile).
    min_count, min_lift
        Keep values held by at least *min_count* customers with lift above *min_lift*.

    Returns
    -------
    pandas.DataFrame
        ``attribute, value, customers, top_customers, support`` (share of top customers
        with the value), ``base_share`` (share of all customers), ``confidence``
        (P(top | value)) and ``lift`` (confidence / P(top)), highest lift first.
    """
    cols = ["attribute", "value", "customers", "top_customers", "support", "base_share",
            "confidence", "lift"]
    n = len(customers)
    top = customers[target].astype(bool).to_numpy()
    n_top = int(top.sum())
    if n == 0 or n_top == 0:
        return pd.DataFrame(columns=cols)
    p_top = n_top / n
    frames = []
    for a in attributes:
        if a not in customers.columns or customers[a].isna().all():
            continue
        v = customers[a].astype("string")
        g = pd.DataFrame({"value": v, "top": top}).dropna().groupby("value", observed=True)["top"]
        t = pd.DataFrame({"customers": g.size(), "top_customers": g.sum()}).reset_index()
        t.insert(0, "attribute", a)
        frames.append(t)
    if not frames:
        return pd.DataFrame(columns=cols)
    t = pd.concat(frames, ignore_index=True)
    t["top_customers"] = t["top_customers"].astype("int64")
    t["support"] = t["top_customers"] / n_top
    t["base_share"] = t["customers"] / n
    t["confidence"] = t["top_customers"] / t["customers"]
    t["lift"] = t["confidence"] / p_top
    t = t[(t["customers"] >= min_count) & (t["lift"] > min_lift)]
    t = t.sort_values(["lift", "top_customers"], ascending=False).reset_index(drop=True)
    t["value"] = t["value"].astype(str)
    return t[cols]


def profile_reasons(rows: pd.DataFrame, icp: pd.DataFrame, *, k: int = 3,
                    min_lift: float = 1.2) -> list[str]:
    """Why each row (a prospect) looks like a top customer, from the profile's lifts.

    Lists up to *k* of the row's attribute values with the highest lift, e.g.
    ``"like top customers: company size 50-200 (2.3x), in manufacturing (1.8x) ..."``.
    """
    parts: list[list[str]] = [[] for _ in range(len(rows))]
    for r in icp.itertuples(index=False):
        if r.lift < min_lift or r.attribute not in rows.columns:
            continue
        text = f"{feature_words(r.attribute, r.value)} ({r.lift:.1f}x)"
        match = (rows[r.attribute].astype("string") == r.value).fillna(False).to_numpy(dtype=bool)
        for i in np.flatnonzero(match):
            if len(parts[i]) < k:
                parts[i].append(text)
    return ["like top customers: " + ", ".join(p) + " (x = how much likelier to be top)"
            if p else "no attribute typical of top customers" for p in parts]


def profile_reason(row: pd.Series, icp: pd.DataFrame, *, k: int = 3, min_lift: float = 1.2) -> str:
    """:func:`profile_reasons` for one row."""
    return profile_reasons(row.to_frame().T, icp, k=k, min_lift=min_lift)[0]


class LookalikeModel:
    """"Looks like a top customer": one-hot logistic regression on shared attributes.

    Parameters
    ----------
    attributes
        Categorical columns to use (those missing from the data are ignored).
    max_rows
        Fit on at most this many customers (a stratified random sample), for speed.
    random_state
        Seed of the sample.
    """

    def __init__(self, *, attributes: Sequence[str] = PROFILE_ATTRIBUTES,
                 max_rows: int = 200_000, random_state: int = 0) -> None:
        self.attributes = attributes
        self.max_rows = max_rows
        self.random_state = random_state

    def fit(self, customers: pd.DataFrame, is_top: Sequence[bool] | np.ndarray) -> LookalikeModel:
        """Learn P(top customer | attributes) from *customers*."""
        from sklearn.linear_model import LogisticRegression

        y = np.asarray(is_top, dtype=bool)
        cols = [a for a in self.attributes if a in customers.columns
                and customers[a].notna().any()]
        if not cols:
            raise DataValidationError(
                f"customers have none of the attributes {list(self.attributes)}; "
                "load customers with region/industry/company_size/age_band columns")
        if y.all() or not y.any():
            raise DataValidationError("the lookalike model needs both top and other customers")
        X = customers[cols]
        if len(X) > self.max_rows:
            rng = np.random.default_rng(self.random_state)
            idx = np.sort(rng.choice(len(X), self.max_rows, replace=False))
            X, y = X.iloc[idx], y[idx]
        self.columns_ = cols
        self.categories_ = {}
        for c in cols:
            counts = self._strings(X[c]).value_counts()
            self.categories_[c] = counts.index[counts >= 5].tolist()
        model = LogisticRegression(C=1.0, max_iter=500)
        model.fit(self._one_hot(X), y)
        self.model_ = model
        return self

    @staticmethod
    def _strings(col: pd.Series) -> pd.Series:
        return col.astype("string").fillna("unknown")

    def _one_hot(self, X: pd.DataFrame) -> Any:
        """Sparse one-hot of the learned categories (unknown and rare values: all zero).

        By hand rather than OneHotEncoder: its counting of Python strings took
        seconds on a million customers; a pandas index lookup takes a fraction.
        """
        from scipy import sparse

        rows, cols, offset = [], [], 0
        for c in self.columns_:
            cats = self.categories_[c]
            codes = pd.Index(cats, dtype=object).get_indexer(
                self._strings(X[c]).to_numpy(dtype=object))
            hit = np.flatnonzero(codes >= 0)
            rows.append(hit)
            cols.append(codes[hit].astype(np.int64) + offset)
            offset += len(cats)
        r, k = np.concatenate(rows), np.concatenate(cols)
        return sparse.csr_matrix((np.ones(len(r)), (r, k)), shape=(len(X), max(offset, 1)))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """P(top customer) for each row of *X* (prospects or customers)."""
        if not hasattr(self, "model_"):
            raise NotFittedError("LookalikeModel is not fitted; call fit(customers, is_top)")
        X = X.copy()
        for c in self.columns_:
            if c not in X.columns:
                X[c] = pd.NA
        return self.model_.predict_proba(self._one_hot(X))[:, 1]


# -- conversion model -------------------------------------------------------------------


class ConversionModel:
    """LightGBM conversion model with isotonic calibration on a held-out share.

    Parameters
    ----------
    calibration_share
        Share of the training prospects held out to calibrate the probabilities.
    calibration
        ``"sigmoid"`` (Platt scaling: keeps the model's ranking, so its AUC) or
        ``"isotonic"`` (more flexible, needs a large held-out share; ties lower the AUC).
    n_estimators, learning_rate, num_leaves, min_child_samples, num_threads
        LightGBM settings.  Small trees by default: conversion drivers are mostly
        additive (source, size, visits), and deep trees overfit a few thousand prospects.
    num_threads
        LightGBM threads; 1 by default: on a busy machine OpenMP threads that wait for
        a core made a 2-thread fit three times slower than 1 thread (measured here).
    monotone_engagement
        Constrain the chance to rise (never fall) with web visits, pricing visits and
        e-mail opens: more engagement is not a reason to convert less, and the
        constraint keeps small samples from learning noise.
    random_state
        Seed of the split and of LightGBM.
    """

    def __init__(self, *, calibration_share: float = 0.25, calibration: str = "sigmoid",
                 n_estimators: int = 200, learning_rate: float = 0.03, num_leaves: int = 4,
                 min_child_samples: int = 50, monotone_engagement: bool = True,
                 num_threads: int = 1, random_state: int = 0) -> None:
        self.calibration_share = calibration_share
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
            codes = pd.Index(cats, dtype=object).get_indexer(
                prospects[c].astype("string").to_numpy(dtype=object, na_value=None))
            out[c] = pd.Categorical.from_codes(codes, categories=cats)  # unseen -> missing
        for c in self.numeric_:
            out[c] = pd.to_numeric(prospects[c], errors="coerce").astype(float)
        return out

    def fit(self, prospects: pd.DataFrame,
            converted: Sequence[bool] | np.ndarray) -> ConversionModel:
        """Train on *prospects* (features) and *converted* (bool), calibrate on a held-out part."""
        import lightgbm as lgb
        from sklearn.isotonic import IsotonicRegression
        from sklearn.model_selection import train_test_split

        y = np.asarray(converted, dtype=bool)
        if y.all() or not y.any() or len(y) < 20:
            raise DataValidationError(
                f"the conversion model needs converted and non-converted prospects "
                f"(found {int(y.sum())} converted of {len(y)})")
        self.categorical_ = [c for c in CATEGORICAL if c in prospects.columns
                             and prospects[c].notna().any()]
        self.numeric_ = [c for c in NUMERIC if c in prospects.columns]
        self.categories_ = {c: sorted(prospects[c].dropna().astype(str).unique())
                            for c in self.categorical_}
        X = self._frame(prospects)
        X_fit, X_cal, y_fit, y_cal = train_test_split(
            X, y, test_size=self.calibration_share, stratify=y, random_state=self.random_state)
        model = lgb.LGBMClassifier(
            n_estimators=self.n_estimators, learning_rate=self.learning_rate,
            num_leaves=self.num_leaves, min_child_samples=self.min_child_samples,
            subsample=0.8, subsample_freq=1, colsample_bytree=0.9, reg_lambda=5.0,
            num_threads=self.num_threads, random_state=self.random_state, verbose=-1,
            monotone_constraints=([0] * len(self.categorical_) + [1] * len(self.numeric_)
                                  if self.monotone_engagement else None))
        model.fit(X_fit, y_fit)
        raw = np.asarray(model.predict_proba(X_cal))[:, 1]
        if self.calibration == "isotonic":
            self.calibrator_ = IsotonicRegression(out_of_bounds="clip", y_min=0.0,
                                                  y_max=1.0).fit(raw, y_cal)
        elif self.calibration == "sigmoid":
            self.calibrator_ = _Platt().fit(raw, y_cal)
        else:
            raise DataValidationError(
                f"calibration {self.calibration!r}: expected 'sigmoid' or 'isotonic'")
        self.model_ = model
        self.features_ = [*self.categorical_, *self.numeric_]
        return self

    def _check(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError("ConversionModel is not fitted; call fit(prospects, converted)")

    def predict_proba(self, prospects: pd.DataFrame) -> np.ndarray:
        """Calibrated probability that each prospect converts."""
        self._check()
        raw = np.asarray(self.model_.predict_proba(self._frame(prospects)))[:, 1]
        return self.calibrator_.predict(raw)

    def contributions(self, prospects: pd.DataFrame) -> pd.DataFrame:
        """LightGBM's per-feature contributions (log-odds) for each prospect."""
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
        from sklearn.linear_model import LogisticRegression

        self.lr_ = LogisticRegression(C=1e4).fit(self._logit(raw), np.asarray(y, dtype=bool))
        return self

    @staticmethod
    def _logit(p: np.ndarray) -> np.ndarray:
        p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
        return np.log(p / (1 - p)).reshape(-1, 1)

    def predict(self, raw: np.ndarray) -> np.ndarray:
        return self.lr_.predict_proba(self._logit(raw))[:, 1]


def calibration_table(p: np.ndarray, y: np.ndarray, *, bins: int = 10) -> pd.DataFrame:
    """Mean predicted vs observed conversion rate in equal-count bins of *p*."""
    df = pd.DataFrame({"p": p, "y": np.asarray(y, dtype=float)})
    q = min(bins, max(1, df["p"].nunique()))
    df["bin"] = pd.qcut(df["p"].rank(method="first"), q, labels=False)
    t = df.groupby("bin").agg(predicted=("p", "mean"), observed=("y", "mean"),
                              prospects=("y", "size")).reset_index(drop=True)
    return t


def calibration_figure(table: pd.DataFrame, auc: float) -> Any:
    """Plotly calibration plot (predicted vs observed) with the diagonal."""
    import plotly.graph_objects as go

    hi = float(max(table["predicted"].max(), table["observed"].max(), 0.01)) if len(table) else 1.0
    fig = go.Figure([
        go.Scatter(x=[0, hi], y=[0, hi], mode="lines", line={"dash": "dot"}, name="perfect"),
        go.Scatter(x=table["predicted"], y=table["observed"], mode="lines+markers",
                   name="held-out prospects", text=table["prospects"]),
    ])
    fig.update_layout(title=f"Conversion model calibration (held-out AUC {auc:.3f})",
                      xaxis_title="predicted probability", yaxis_title="observed conversion rate",
                      height=380)
    return fig


def lookalike_figure(scores: np.ndarray, flagged: np.ndarray | None = None) -> Any:
    """Histogram of prospects' lookalike scores."""
    import plotly.graph_objects as go

    # binned here: a histogram trace would carry every prospect's score into the JSON.
    # Rounded first: scores vary in the last bits between runs (threaded training), and the
    # chart is part of the insight's evidence, whose hash must not change when nothing did.
    counts, edges = np.histogram(np.round(np.asarray(scores, dtype=float), 9), bins=40)
    edges = np.round(edges, 9)
    fig = go.Figure(go.Bar(x=(edges[:-1] + edges[1:]) / 2, y=counts, width=np.diff(edges),
                           name="prospects"))
    fig.update_layout(title="Prospects by similarity to the top customers",
                      xaxis_title="P(looks like a top-decile customer)",
                      yaxis_title="prospects", height=380)
    return fig
