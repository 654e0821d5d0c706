"""Buy-till-you-die transaction models: BG/NBD, MBG/NBD, Pareto/NBD and BG/BB.

The models live in private modules (one per family); import them from here
or from :mod:`outsidein.value`.

>>> from outsidein.value.btyd import BetaGeo
>>> BetaGeo()
BetaGeo()
"""

from __future__ import annotations

from outsidein.value._bgbb import BetaGeoBetaBinom
from outsidein.value._bgnbd import BetaGeo, ModifiedBetaGeo
from outsidein.value._pareto import ParetoNBD

__all__ = ["BetaGeo", "BetaGeoBetaBinom", "ModifiedBetaGeo", "ParetoNBD"]
