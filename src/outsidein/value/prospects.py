"""Ideal prospects: who looks like the best customers (question 4).

* :func:`ideal_customer_profile` finds the attribute values over-represented
  among the top value decile (lift = P(top | value) / P(top); confidence =
  P(top | value)).
* :class:`LookalikeModel` learns "looks like a top customer" from customers'
  attributes (one-hot logistic regression) and scores prospects by it.

Which prospects are likely to buy (question 5) is the
:class:`~outsidein.value.ConversionModel`'s job.

>>> import pandas as pd
>>> customers = pd.DataFrame({"industry": ["software"] * 5 + ["retail"] * 15,
...                           "is_top": [True] * 4 + [False] * 16})
>>> icp = ideal_customer_profile(customers, ["industry"], min_count=1)
>>> icp.loc[0, "value"], float(icp.loc[0, "lift"])
('software', 4.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression

from outsidein.errors import DataValidationError, NotFittedError

__all__ = ["PROFILE_ATTRIBUTES", "LookalikeModel", "feature_words", "ideal_customer_profile",
           "lookalike_figure", "profile_reason", "profile_reasons"]

#: Attributes customers and prospects share (the profile and the lookalike model use them).
PROFILE_ATTRIBUTES = ("region", "industry", "company_size", "age_band", "channel")
_SOURCE_WORDS = {"trade_show": "from the trade show", "referral": "referred by a customer",
                 "web_form": "came through the web form", "ads": "came from an ad",
                 "web": "came through the website", "store": "met in a store",
                 "partner": "came through a partner", "event": "met at an event"}
_ATTR_WORDS = {"region": "in region {v}", "industry": "in {v}", "company_size": "company size {v}",
               "age_band": "aged {v}", "channel": "came via {v}", "source": "source {v}"}


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def feature_words(feature: str, value: Any) -> str:
    """A feature's value in words, for the reasons shown next to a prospect.

    Examples
    --------
    >>> feature_words("pricing_visits", 2)
    'visited pricing twice'
    >>> feature_words("source", "trade_show")
    'from the trade show'
    """
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

    Examples
    --------
    >>> import pandas as pd
    >>> customers = pd.DataFrame({"region": ["north"] * 4 + ["south"] * 6,
    ...                           "is_top": [True, True, True, False] + [False] * 6})
    >>> ideal_customer_profile(customers, ["region"], min_count=1)[["value", "lift"]]
       value  lift
    0  north  2.5
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

    Examples
    --------
    >>> import pandas as pd
    >>> icp = pd.DataFrame({"attribute": ["industry"], "value": ["software"], "lift": [4.0]})
    >>> profile_reasons(pd.DataFrame({"industry": ["software", "retail"]}), icp)
    ['like top customers: in software (4.0x) (x = how much likelier to be top)',
     'no attribute typical of top customers']
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
    """:func:`profile_reasons` for one row.

    Examples
    --------
    >>> import pandas as pd
    >>> icp = pd.DataFrame({"attribute": ["region"], "value": ["north"], "lift": [2.5]})
    >>> profile_reason(pd.Series({"region": "north"}), icp)
    'like top customers: in region north (2.5x) (x = how much likelier to be top)'
    """
    return profile_reasons(row.to_frame().T, icp, k=k, min_lift=min_lift)[0]


class LookalikeModel(BaseEstimator):
    """"Looks like a top customer": one-hot logistic regression on shared attributes.

    A scikit-learn estimator (``get_params``, ``set_params``, ``clone``).

    Parameters
    ----------
    attributes
        Categorical columns to use (those missing from the data are ignored).
    max_rows
        Fit on at most this many customers (a random sample), for speed.
    random_state
        Seed of the sample.

    Attributes
    ----------
    columns_ : list of str
        The attributes found in the data and used.
    categories_ : dict
        Per attribute, the values seen at least 5 times (the others count as unknown).
    model_ : sklearn.linear_model.LogisticRegression
        The fitted regression on the one-hot attributes.

    Examples
    --------
    >>> import pandas as pd
    >>> customers = pd.DataFrame({"industry": ["software"] * 10 + ["retail"] * 30,
    ...                           "is_top": [True] * 8 + [False] * 32})
    >>> m = LookalikeModel(attributes=("industry",)).fit(customers, customers["is_top"])
    >>> p = m.predict_proba(pd.DataFrame({"industry": ["software", "retail", "mining"]}))
    >>> bool(p[0] > p[2] > p[1])
    True
    """

    def __init__(self, *, attributes: Sequence[str] = PROFILE_ATTRIBUTES,
                 max_rows: int = 200_000, random_state: int = 0) -> None:
        self.attributes = attributes
        self.max_rows = max_rows
        self.random_state = random_state

    def fit(self, customers: pd.DataFrame, is_top: Sequence[bool] | np.ndarray) -> LookalikeModel:
        """Learn P(top customer | attributes) from *customers*; return self."""
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

    def _one_hot(self, X: pd.DataFrame) -> sparse.csr_matrix:
        """Sparse one-hot of the learned categories (unknown and rare values: all zero).

        By hand rather than OneHotEncoder: its counting of Python strings took
        seconds on a million customers; a pandas index lookup takes a fraction.
        """
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
        """P(top customer) for each row of *X* (prospects or customers).

        Unknown values and missing attribute columns count as "none of the known values".
        """
        if not hasattr(self, "model_"):
            raise NotFittedError("LookalikeModel is not fitted; call fit(customers, is_top)")
        X = X.copy()
        for c in self.columns_:
            if c not in X.columns:
                X[c] = pd.NA
        return self.model_.predict_proba(self._one_hot(X))[:, 1]


def lookalike_figure(scores: np.ndarray) -> go.Figure:
    """Histogram of prospects' lookalike scores.

    Examples
    --------
    >>> fig = lookalike_figure([0.1, 0.2, 0.2, 0.9])
    >>> int(sum(fig.data[0].y))
    4
    """
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
