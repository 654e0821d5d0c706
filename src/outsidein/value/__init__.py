"""Customer value: who is most valuable, and why (the first crucial question).

Buy-till-you-die transaction models, the Gamma-Gamma spend model and CLV:

>>> from outsidein.value import BetaGeo, GammaGamma, clv
>>> BetaGeo()
BetaGeo()
"""

from __future__ import annotations

from outsidein.value._bgbb import BetaGeoBetaBinom
from outsidein.value._bgnbd import BetaGeo, ModifiedBetaGeo
from outsidein.value._pareto import ParetoNBD
from outsidein.value.clv import clv
from outsidein.value.spend import GammaGamma

__all__ = ["BetaGeo", "BetaGeoBetaBinom", "GammaGamma", "ModifiedBetaGeo", "ParetoNBD", "clv"]
