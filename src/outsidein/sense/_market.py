"""The synthetic market behind :mod:`outsidein.sense.simulate`: its true parameters and draws.

Private: :class:`Market` and :func:`sample_market` are public through ``simulate``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from outsidein.sense.hmm import SYMBOLS
from outsidein.sense.stages import MESSAGE_NEEDS, STAGE_INDEX, STAGES

__all__ = ["ACTIONS", "Market", "draw", "oracle_gain", "sample_market"]

ACTIONS: tuple[str, ...] = MESSAGE_NEEDS  # one message per need
_K, _A = len(STAGES), len(ACTIONS)
_P = STAGE_INDEX["purchased"]


def _rows(spec: dict[str, dict[str, float]], cols: tuple[str, ...], rest: str | None = None
          ) -> np.ndarray:
    m = np.zeros((_K, len(cols)))
    for s, row in spec.items():
        for c, p in row.items():
            m[STAGE_INDEX[s], cols.index(c)] = p
        if rest is not None:
            m[STAGE_INDEX[s], cols.index(rest)] += 1.0 - sum(row.values())
    return m


def _default_transmat() -> np.ndarray:
    return _rows({
        "aware": {"aware": 0.86, "considering": 0.10, "lapsed": 0.04},
        "considering": {"aware": 0.08, "considering": 0.62, "deciding": 0.22, "lapsed": 0.08},
        "deciding": {"considering": 0.18, "deciding": 0.52, "purchased": 0.18, "lapsed": 0.12},
        "purchased": {"purchased": 0.35, "loyal": 0.45, "at_risk": 0.20},
        "loyal": {"purchased": 0.06, "loyal": 0.86, "at_risk": 0.08},
        "at_risk": {"purchased": 0.03, "loyal": 0.12, "at_risk": 0.65, "lapsed": 0.20},
        "lapsed": {"aware": 0.03, "lapsed": 0.97},
    }, STAGES)


def _default_emissionprob() -> np.ndarray:
    return _rows({
        "aware": {"visit": 0.45, "product_view": 0.04, "search": 0.04},
        "considering": {"product_view": 0.35, "search": 0.30, "visit": 0.05,
                        "pricing_view": 0.03},
        "deciding": {"cart_add": 0.35, "pricing_view": 0.35, "product_view": 0.05,
                     "search": 0.03},
        "purchased": {"checkout": 0.60, "support_call": 0.15, "review": 0.05},
        "loyal": {"email_open": 0.22, "email_click": 0.15, "review": 0.10, "visit": 0.05,
                  "product_view": 0.05},
        "at_risk": {"complaint": 0.15, "support_call": 0.12, "unsubscribe": 0.08,
                    "email_open": 0.05},
        "lapsed": {"email_open": 0.02, "visit": 0.02},
    }, SYMBOLS, rest="quiet")


def _default_response() -> np.ndarray:
    # click probability of a fresh customer, per stage (rows) and message need (columns)
    return np.array([
        # awareness advice sales retention service
        [0.10, 0.03, 0.02, 0.01, 0.01],  # aware
        [0.04, 0.14, 0.05, 0.01, 0.01],  # considering
        [0.02, 0.06, 0.18, 0.02, 0.02],  # deciding
        [0.01, 0.03, 0.02, 0.04, 0.16],  # purchased
        [0.01, 0.03, 0.05, 0.10, 0.02],  # loyal
        [0.01, 0.02, 0.02, 0.12, 0.07],  # at risk
        [0.03, 0.01, 0.01, 0.04, 0.01],  # lapsed
    ])


def _default_moves() -> np.ndarray:
    # stage a click moves the customer to (-1: the click changes nothing)
    m = np.full((_K, _A), -1)
    for s, a, t in (("aware", "awareness", "considering"), ("considering", "advice", "deciding"),
                    ("deciding", "sales", "purchased"), ("purchased", "service", "loyal"),
                    ("loyal", "sales", "purchased"), ("loyal", "retention", "purchased"),
                    ("at_risk", "retention", "loyal"), ("at_risk", "service", "loyal"),
                    ("lapsed", "retention", "considering"), ("lapsed", "awareness", "aware")):
        m[STAGE_INDEX[s], ACTIONS.index(a)] = STAGE_INDEX[t]
    return m


@dataclass(frozen=True)
class Market:
    """The true market: the stage chain, what each stage shows, and how messages land."""

    startprob: np.ndarray = field(default_factory=lambda: np.array(
        [0.35, 0.12, 0.05, 0.03, 0.25, 0.08, 0.12]))
    transmat: np.ndarray = field(default_factory=_default_transmat)
    emissionprob: np.ndarray = field(default_factory=_default_emissionprob)
    response: np.ndarray = field(default_factory=_default_response)
    moves: np.ndarray = field(default_factory=_default_moves)
    #: revenue of a first purchase (from deciding) and of a repeat purchase
    first_order_value: float = 120.0
    repeat_order_value: float = 80.0
    fatigue_decay: float = 0.6       # weekly carry-over of fatigue
    fatigue_damping: float = 0.25    # click probability x exp(-damping x fatigue)
    opt_out_base: float = 0.003
    opt_out_irrelevant: float = 0.012  # x (1 - relevance of the message to the stage)
    opt_out_fatigue: float = 0.003     # x fatigue


def sample_market(market: Market, customers: int, weeks: int, rng: np.random.Generator
                  ) -> tuple[np.ndarray, np.ndarray]:
    """True stages and weekly symbols of an unmessaged market, each ``(customers, weeks)``."""
    u0, ue, ut = rng.random(customers), rng.random((customers, weeks)), rng.random(
        (customers, weeks))
    cum_a, cum_b = np.cumsum(market.transmat, 1), np.cumsum(market.emissionprob, 1)
    stage = draw(np.cumsum(market.startprob)[None, :], u0)
    stages = np.empty((customers, weeks), np.int64)
    symbols = np.empty((customers, weeks), np.int64)
    for t in range(weeks):
        stages[:, t] = stage
        symbols[:, t] = draw(cum_b[stage], ue[:, t])
        stage = draw(cum_a[stage], ut[:, t])
    return stages, symbols


def draw(cum: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Row-wise inverse-CDF draw: the first column whose cumulative probability exceeds u."""
    cum = np.broadcast_to(cum, (len(u), cum.shape[-1]))
    return np.minimum((cum <= u[:, None]).sum(axis=1), cum.shape[1] - 1)


def oracle_gain(m: Market, discount: float = 0.95) -> np.ndarray:
    """Expected extra discounted conversions of a click per (stage, action), from the true chain."""
    conv = np.zeros((_K, _K))
    conv[:, _P] = 1.0
    conv[_P, _P] = 0.0
    c = (m.transmat * conv).sum(1)
    v = np.linalg.solve(np.eye(_K) - discount * m.transmat, c)
    base = c + discount * m.transmat @ v
    gain = np.zeros((_K, _A))
    for s in range(_K):
        for a in range(_A):
            t = m.moves[s, a]
            if t >= 0:
                gain[s, a] = conv[s, t] + discount * v[t] - base[s]
    return gain
