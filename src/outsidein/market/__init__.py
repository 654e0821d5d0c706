"""The market-sensing engine: stratification, event-driven products, KPI watch.

Pure like :mod:`outsidein.value`: no I/O; its use cases go in ``services/``, its pages in
``web/routes/``, its commands in ``cli/`` and its report section in ``report/sections/``.

Stratification (``outsidein market segments``):

* :mod:`~outsidein.market.rfm`: RFM quintile scores and the named segments;
* :mod:`~outsidein.market.clusters`: behavioural clusters, k chosen by silhouette;
* :mod:`~outsidein.market.profiles`: each cluster's profile in words;
* :mod:`~outsidein.market.matrix`: segment x product type and the cross-sell gaps;
* :mod:`~outsidein.market.availability`: what stock-outs and slow deliveries cost.

Baskets (``outsidein market basket``): :mod:`~outsidein.market.basket`, association rules
from frequent itemsets.  Context (``outsidein market context``):
:mod:`~outsidein.market.context`, the products that events drive (Mantel-Haenszel rate
ratios, false discovery rate, obvious or not, extra stock).

KPI watch (``outsidein market watch``): :mod:`~outsidein.market.watch`, change points in a
seasonal KPI series (STL, CUSUM, ruptures).

>>> from outsidein.market import RFM_SEGMENTS
>>> RFM_SEGMENTS[0].key
'champions'
"""

from outsidein.market.availability import AvailabilityEffect
from outsidein.market.basket import AssociationRules, longer_itemsets
from outsidein.market.clusters import BehaviourClusters
from outsidein.market.context import ContextLift, mantel_haenszel
from outsidein.market.matrix import BANDS, cross_sell_matrix
from outsidein.market.profiles import ClusterProfile, describe, short_name
from outsidein.market.rfm import RFM_SEGMENTS, RfmSegment, quintile_scores, rfm_segment
from outsidein.market.watch import Change, ChangeDetector

__all__ = ["BANDS", "RFM_SEGMENTS", "AssociationRules", "AvailabilityEffect", "BehaviourClusters",
           "Change", "ContextLift", "longer_itemsets", "mantel_haenszel",
           "ChangeDetector",
           "ClusterProfile", "RfmSegment", "cross_sell_matrix", "describe",
           "quintile_scores", "rfm_segment", "short_name"]
