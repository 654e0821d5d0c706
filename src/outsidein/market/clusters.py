"""Behavioural clusters: k-means on standardised per-customer features, k chosen by silhouette.

The features (built in the warehouse by :mod:`outsidein.services.market.segments_data`)
are the customer's value and frequency (log scale), product-type mix (share of revenue
per type), channel mix (share of shopping interactions -- visits, views, searches, baskets,
checkouts -- per channel), service contacts and
attributes (business or consumer).  Each is standardised (mean 0, sd 1) on the sample.

**How k is chosen (the stated criterion):** k-means is fitted for every k in ``k_range``
(3 to 8 by default: two clusters say less to a manager than the RFM grid already does) on a
sample of at most ``silhouette_sample`` customers, and the k with the highest mean
silhouette on that sample wins; the chosen k is then fitted on all the rows given.
The silhouette (Rousseeuw 1987) compares each customer's mean distance to
its own cluster with that to the nearest other cluster: it rewards clusters that are
tight and apart, and needs no distributional assumption (Gaussian-mixture BIC would
assume Gaussian clusters, which shares of a mix are not).  The scores of every k are kept
in ``silhouettes_``.

The model is fitted on a sample pulled from the warehouse; the service assigns every
customer to the nearest centre inside the warehouse with the learned ``mean_``,
``scale_`` and ``centers_`` (the same arithmetic as :meth:`BehaviourClusters.predict`).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = np.vstack([rng.normal(m, 0.3, size=(60, 2)) for m in (0.0, 3.0, 6.0)])
>>> model = BehaviourClusters(k_range=(2, 5)).fit(X, ["value", "frequency"])
>>> model.k_
3
>>> len(set(model.predict(X[:60]).tolist()))
1
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from threadpoolctl import threadpool_limits

from outsidein.errors import DataValidationError, NotFittedError

__all__ = ["BehaviourClusters"]


class BehaviourClusters:
    """k-means with k chosen by the silhouette (see the module doc).

    Parameters
    ----------
    k_range
        The smallest and largest k tried (both included).
    silhouette_sample
        At most this many customers score each k (the silhouette costs n squared).
    n_init
        k-means restarts per k.
    random_state
        Seeds k-means and the silhouette sample.
    n_threads
        Threads k-means and the silhouette may use (None: the libraries' default).  One
        is the default: on this project's 2-core machine under load, OpenMP's threads
        made k-means about 7 times slower (measured: 20,000 x 27, k = 8, 12.2 s against
        1.7 s).

    Attributes
    ----------
    k_ : int
        The number of clusters chosen.
    silhouettes_ : dict[int, float]
        Mean silhouette of each k tried.
    mean_, scale_ : numpy.ndarray
        The standardisation (per feature).
    centers_ : numpy.ndarray
        ``(k_, n_features)`` centres in standardised units, ordered by cluster size
        (cluster 0 is the largest in the sample).
    feature_names_ : list[str]
    sizes_ : numpy.ndarray
        Customers of the sample in each cluster.
    """

    def __init__(self, *, k_range: tuple[int, int] = (3, 8), silhouette_sample: int = 4000,
                 n_init: int = 4, random_state: int = 0, n_threads: int | None = 1) -> None:
        self.k_range = k_range
        self.silhouette_sample = silhouette_sample
        self.n_init = n_init
        self.random_state = random_state
        self.n_threads = n_threads

    def fit(self, X: np.ndarray, feature_names: Sequence[str]) -> BehaviourClusters:
        """Standardise *X* (customers x features), try each k, keep the best.

        Raises
        ------
        DataValidationError
            Fewer customers than twice the largest k tried, or non-finite values.
        """
        with threadpool_limits(limits=self.n_threads):
            return self._fit(X, feature_names)

    def _fit(self, X: np.ndarray, feature_names: Sequence[str]) -> BehaviourClusters:
        X = np.asarray(X, dtype=float)
        lo, hi = self.k_range
        if X.ndim != 2 or X.shape[1] != len(feature_names):
            raise DataValidationError(f"clusters: expected {len(feature_names)} feature "
                                      f"columns, got an array of shape {X.shape}")
        if not np.isfinite(X).all():
            raise DataValidationError("clusters: the features hold missing or infinite values")
        hi = min(hi, X.shape[0] // 2)
        if hi < max(lo, 2):
            raise DataValidationError(f"clusters: {X.shape[0]} customers are too few to "
                                      f"cluster (at least {2 * max(lo, 2)} are needed)")
        self.mean_ = X.mean(axis=0)
        scale = X.std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        Z = (X - self.mean_) / self.scale_
        rng = np.random.default_rng(self.random_state)
        pick = (np.sort(rng.choice(len(Z), self.silhouette_sample, replace=False))
                if len(Z) > self.silhouette_sample else np.arange(len(Z)))
        Zs = Z[pick]
        scores: dict[int, float] = {}
        for k in range(max(lo, 2), min(hi, len(Zs) // 2) + 1):
            labels = KMeans(n_clusters=k, n_init=self.n_init,
                            random_state=self.random_state).fit(Zs).labels_
            if len(set(labels.tolist())) < 2:
                continue
            scores[k] = float(silhouette_score(Zs, labels))
        if not scores:
            raise DataValidationError("clusters: the customers do not separate into groups "
                                      "(every k gave one cluster)")
        self.silhouettes_ = scores
        self.k_ = max(scores, key=lambda k: (round(scores[k], 6), -k))
        km = (KMeans(n_clusters=self.k_, n_init=self.n_init, random_state=self.random_state)
              .fit(Z))
        sizes = np.bincount(km.labels_, minlength=self.k_)
        order = np.argsort(-sizes, kind="stable")
        self.centers_ = km.cluster_centers_[order]
        self.sizes_ = sizes[order]
        self.feature_names_ = list(feature_names)
        self.inertia_ = float(km.inertia_)
        return self

    def _check(self) -> None:
        if not hasattr(self, "centers_"):
            raise NotFittedError("BehaviourClusters is not fitted yet; call fit(X, names)")

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The nearest centre of each row of *X* (raw, unstandardised features)."""
        self._check()
        Z = (np.asarray(X, dtype=float) - self.mean_) / self.scale_
        d = ((Z[:, None, :] - self.centers_[None, :, :]) ** 2).sum(axis=2)
        return d.argmin(axis=1)

    def centers_raw(self) -> np.ndarray:
        """The centres in the features' own units (shares, logs ...)."""
        self._check()
        return self.centers_ * self.scale_ + self.mean_

    def __repr__(self) -> str:
        chosen = f", k_={self.k_}" if hasattr(self, "k_") else ""
        return f"BehaviourClusters(k_range={self.k_range}{chosen})"
