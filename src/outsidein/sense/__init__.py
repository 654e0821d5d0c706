"""The sense-and-respond engine (to come): buying-stage sensing and next-message decisions.

Pure like :mod:`outsidein.value`: no I/O; its use cases go in ``services/``, its pages in
``web/routes/``, its commands in ``cli/`` and its report section in ``report/sections/``.
"""

from outsidein.sense._bts import bernoulli_ts_action_dist
from outsidein.sense.ope import PolicyValue, dm, dr, ipw, snipw

__all__: list[str] = [
    "PolicyValue", "bernoulli_ts_action_dist", "dm", "dr", "ipw", "snipw",
]
