"""Ideal prospects: who looks like the best customers (question 4).

* :func:`ideal_customer_profile` finds the attribute values over-represented
  among the top value decile (lift = P(top | value) / P(top); confidence =
  P(top | value)).
* :class:`LookalikeModel` learns "looks like a top customer" from customers'
  attributes (one-hot logistic regression) and scores prospects by it.

Both take any attribute column, canonical (region, industry, ...) or one a
customers file brought (income, home ownership, ...): text is a category,
a boolean reads "yes"/"no", and a number is cut into quantile bins
(quintiles by default; a number with few distinct values is a category).

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

__all__ = ["PROFILE_ATTRIBUTES", "LookalikeModel", "attribute_values", "feature_words",
           "ideal_customer_profile", "is_numeric_attribute", "lookalike_figure", "number_words",
           "profile_reason", "profile_reasons", "quantile_bins"]

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
    if feature in _ATTR_WORDS:
        text = str(value).replace("_", " ") if feature == "channel" else value
        return _ATTR_WORDS[feature].format(v=text)
    name = feature.replace("_", " ")
    if isinstance(value, bool | np.bool_) or str(value).lower() in ("true", "false"):
        value = "yes" if str(value).lower() == "true" else "no"
    if value in ("yes", "no"):
        return f"{name}: {value}"
    if isinstance(value, int | float | np.number):
        return f"{name} {number_words(float(value))}"
    return f"{name} {value}"


def number_words(x: float) -> str:
    """A number as a person writes it: thousands separated, no needless decimals.

    >>> number_words(84912.4), number_words(3.0), number_words(0.4567)
    ('84,912', '3', '0.457')
    """
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if float(x).is_integer():
        return f"{int(x)}"
    return f"{x:.3g}"


def is_numeric_attribute(col: pd.Series) -> bool:
    """A column of numbers (not booleans): profiled by quantile bins, not by value.

    >>> is_numeric_attribute(pd.Series([1.5, 2.0])), is_numeric_attribute(pd.Series([True]))
    (True, False)
    """
    return (pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
            and not pd.api.types.is_datetime64_any_dtype(col))


def attribute_values(col: pd.Series, bins: np.ndarray | None = None) -> pd.Series:
    """An attribute's values as text categories (missing stays missing).

    Booleans read ``"yes"``/``"no"``; with *bins* (quantile edges, from
    :func:`quantile_bins`) a number becomes its bin, e.g. ``"52,000 to 61,000"``;
    other values their text.

    >>> attribute_values(pd.Series([True, None, False], dtype="boolean")).tolist()
    ['yes', <NA>, 'no']
    >>> attribute_values(pd.Series([1.0, 7.0, None]), np.array([0.0, 5.0, 10.0])).tolist()
    ['0 to 5', '5 to 10', <NA>]
    """
    if pd.api.types.is_bool_dtype(col) or col.dtype == object and col.notna().any() and all(
            isinstance(v, bool | np.bool_) for v in col.dropna().unique()):
        return col.map({True: "yes", False: "no"}).astype("string")
    if bins is None:
        if is_numeric_attribute(col):  # few distinct numbers: each is a category
            words = {v: number_words(float(v)) for v in col.dropna().unique()}
            return col.map(words).astype("string")
        return col.astype("string")
    labels = [f"{number_words(lo)} to {number_words(hi)}" for lo, hi in zip(bins[:-1], bins[1:],
                                                                              strict=True)]
    codes = pd.cut(pd.to_numeric(col, errors="coerce").astype(float), bins,
                   include_lowest=True, labels=False)
    return pd.Series(pd.Categorical.from_codes(
        codes.fillna(-1).astype(int), categories=labels), index=col.index).astype("string")


def quantile_bins(col: pd.Series, bins: int = 5) -> np.ndarray | None:
    """Quantile edges cutting a numeric attribute into *bins* groups (None: few values, or text).

    A number with at most *bins* distinct values is kept as categories.

    >>> quantile_bins(pd.Series(range(100)), 4)
    array([ 0.  , 24.75, 49.5 , 74.25, 99.  ])
    >>> quantile_bins(pd.Series([1, 2, 2, 3])) is None
    True
    """
    if not is_numeric_attribute(col):
        return None
    v = pd.to_numeric(col, errors="coerce").astype(float).dropna()
    if v.nunique() <= bins:
        return None
    edges = np.unique(np.quantile(v, np.linspace(0, 1, bins + 1)))
    return edges if len(edges) > 2 else None


# -- ideal customer profile -------------------------------------------------------------


def ideal_customer_profile(customers: pd.DataFrame, attributes: Sequence[str],
                           *, target: str = "is_top", min_count: int = 20,
                           min_lift: float = 1.0, bins: int = 5) -> pd.DataFrame:
    """Attribute values over-represented among the top customers.

    Parameters
    ----------
    customers
        One row per customer: the *attributes* and a boolean *target* (top value decile).
    min_count, min_lift
        Keep values held by at least *min_count* customers with lift above *min_lift*.
    bins
        A numeric attribute is cut into this many quantile bins (its "values").

    Returns
    -------
    pandas.DataFrame
        ``attribute, value, customers, top_customers, support`` (share of top customers
        with the value), ``base_share`` (share of all customers), ``confidence``
        (P(top | value)) and ``lift`` (confidence / P(top)), highest lift first;
        ``low`` and ``high`` bound a numeric attribute's bin (NaN for a category).

    Examples
    --------
    >>> import pandas as pd
    >>> customers = pd.DataFrame({"region": ["north"] * 4 + ["south"] * 6,
    ...                           "is_top": [True, True, True, False] + [False] * 6})
    >>> ideal_customer_profile(customers, ["region"], min_count=1)[["value", "lift"]]
       value  lift
    0  north  2.5

    A number is profiled by quantile bins:

    >>> customers["income"] = [90_000, 95_000, 99_000, 40_000, 41_000, 42_000, 43_000,
    ...                        44_000, 45_000, 46_000]
    >>> icp = ideal_customer_profile(customers, ["income"], min_count=1, bins=3)
    >>> icp.loc[0, "value"], round(float(icp.loc[0, "lift"]), 2)
    ('46,000 to 99,000', 3.33)
    """
    cols = ["attribute", "value", "customers", "top_customers", "support", "base_share",
            "confidence", "lift", "low", "high"]
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
        edges = quantile_bins(customers[a], bins)
        v = attribute_values(customers[a], edges)
        g = pd.DataFrame({"value": v, "top": top}).dropna().groupby("value", observed=True)["top"]
        t = pd.DataFrame({"customers": g.size(), "top_customers": g.sum()}).reset_index()
        t.insert(0, "attribute", a)
        bounds = {} if edges is None else {
            f"{number_words(lo)} to {number_words(hi)}": (lo, hi)
            for lo, hi in zip(edges[:-1], edges[1:], strict=True)}
        t["low"] = t["value"].map(lambda x, b=bounds: b.get(x, (np.nan,))[0]).astype(float)
        t["high"] = t["value"].map(lambda x, b=bounds: b.get(x, (np.nan, np.nan))[1]).astype(
            float)
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
        col = rows[r.attribute]
        if pd.notna(getattr(r, "low", np.nan)) and is_numeric_attribute(col):  # a number's bin
            x = pd.to_numeric(col, errors="coerce").astype(float)
            match = ((x >= r.low) & (x <= r.high)).fillna(False).to_numpy(dtype=bool)
        else:
            match = (attribute_values(col) == r.value).fillna(False).to_numpy(dtype=bool)
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
    bins_ : dict
        Per numeric attribute, its quantile bins' edges (None for a category).
    categories_ : dict
        Per attribute, the values (a number: its bins) seen at least 5 times (the others
        count as unknown).
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
        self.bins_ = {c: quantile_bins(X[c]) for c in cols}
        self.categories_ = {}
        for c in cols:
            counts = self._labels(X, c).value_counts()
            self.categories_[c] = counts.index[counts >= 5].tolist()
        model = LogisticRegression(C=1.0, max_iter=500)
        model.fit(self._one_hot(X), y)
        self.model_ = model
        return self

    def _labels(self, X: pd.DataFrame, c: str) -> pd.Series:
        return attribute_values(X[c], self.bins_[c]).fillna("unknown")

    def _one_hot(self, X: pd.DataFrame) -> sparse.csr_matrix:
        """Sparse one-hot of the learned categories (unknown and rare values: all zero).

        By hand rather than OneHotEncoder: its counting of Python strings took
        seconds on a million customers; a pandas index lookup takes a fraction.
        """
        rows, cols, offset = [], [], 0
        for c in self.columns_:
            cats = self.categories_[c]
            codes = pd.Index(cats, dtype=object).get_indexer(
                self._labels(X, c).to_numpy(dtype=object))
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
