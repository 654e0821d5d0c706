"""P(alive) of BG/NBD and MBG/NBD against brute-force integrals over the models' own story.

Neither reference uses a closed form of P(alive): both integrate the
likelihood of a history, alive or dead, over the mixing distributions,
with mpmath's tanh-sinh quadrature at 20 digits.

The story (Fader, Hardie & Lee 2005; Batislam, Denizel & Filiztekin 2007):
purchases come at Poisson rate lambda ~ Gamma(r, alpha) while a customer is
alive; a customer may drop out, with probability p ~ Beta(a, b), right after
each repeat purchase (BG/NBD) or right after every purchase including the
first one (MBG/NBD).  With x repeat purchases, the last at t_x, by time T:

* alive at T: survived every chance to drop out, (1 - p)^(x + k), and no
  purchase in (t_x, T]: lambda^x e^(-lambda T);
* dropped out at t_x: survived x + k - 1 chances and took the last one,
  p (1 - p)^(x + k - 1), and no purchase after t_x: lambda^x e^(-lambda t_x);

with k = 0 for BG/NBD (where a customer without repeat purchases has had no
chance to drop out, so is alive for sure) and k = 1 for MBG/NBD.
"""

from __future__ import annotations

import mpmath
import pytest

from outsidein.value import BetaGeo, ModifiedBetaGeo

#: CDNOW-like parameters (BG/NBD fit of Fader, Hardie & Lee 2005) and a second, sharper set
PARAMS = [
    {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259},
    {"r": 2.5, "alpha": 0.8, "a": 3.0, "b": 0.6},
]
#: (frequency, recency, T): no repeat purchase (short and long watch), then repeat buyers
HISTORIES = [(0, 0.0, 1.0), (0, 0.0, 38.86), (1, 2.0, 38.86), (2, 30.43, 38.86),
             (7, 35.0, 38.86), (3, 10.0, 10.0)]


def _gamma_mean(f, r: float, alpha: float) -> mpmath.mpf:
    """E[f(lambda)] for lambda ~ Gamma(shape r, rate alpha), by quadrature.

    Integrated in u = lambda^r, where the density's lambda^(r-1) d lambda is
    d u / r: the singularity at 0 (r < 1) is gone and tanh-sinh converges fast.
    """
    def integrand(u):
        lam = u ** (1 / mpmath.mpf(r))
        return f(lam) * mpmath.exp(-alpha * lam)

    return alpha**r / mpmath.gamma(r + 1) * mpmath.quad(integrand, [0, 1, mpmath.inf])


def _beta_mean(f, a: float, b: float) -> mpmath.mpf:
    """E[f(p)] for p ~ Beta(a, b), by quadrature.

    The halves [0, 1/2] and [1/2, 1] are integrated in v = p^a and w = (1 - p)^b,
    which take the density's singular factors p^(a-1) and (1-p)^(b-1) out.
    """
    a, b = mpmath.mpf(a), mpmath.mpf(b)

    def low(v):  # p = v^(1/a)
        p = v ** (1 / a)
        return f(p) * (1 - p) ** (b - 1) / a

    def high(w):  # 1 - p = w^(1/b)
        q = w ** (1 / b)
        return f(1 - q) * (1 - q) ** (a - 1) / b

    half = mpmath.mpf(1) / 2
    total = mpmath.quad(low, [0, half**a]) + mpmath.quad(high, [0, half**b])
    return total / mpmath.beta(a, b)


def reference_prob_alive(x: int, tx: float, big_t: float, *, r: float, alpha: float, a: float,
                         b: float, k: int) -> float:
    """P(alive at T | x, t_x, T) = L(history, alive) / L(history), each integrated out."""
    with mpmath.workdps(20):
        alive = (_gamma_mean(lambda lam: lam**x * mpmath.exp(-lam * big_t), r, alpha)
                 * _beta_mean(lambda p: (1 - p) ** (x + k), a, b))
        if x + k == 0:  # BG/NBD without a repeat purchase: no chance to drop out yet
            return float(alive / alive)
        dead = (_gamma_mean(lambda lam: lam**x * mpmath.exp(-lam * tx), r, alpha)
                * _beta_mean(lambda p: p * (1 - p) ** (x + k - 1), a, b))
        return float(alive / (alive + dead))


@pytest.mark.parametrize("params", PARAMS, ids=["cdnow", "sharp"])
@pytest.mark.parametrize(("cls", "k"), [(BetaGeo, 0), (ModifiedBetaGeo, 1)],
                         ids=["BG/NBD", "MBG/NBD"])
def test_prob_alive_matches_the_integrated_likelihood(cls, k, params) -> None:
    model = cls()
    model.params_ = dict(params)
    for x, tx, big_t in HISTORIES:
        got = float(model.prob_alive(x, tx, big_t)[0])
        want = reference_prob_alive(x, tx, big_t, **params, k=k)
        assert got == pytest.approx(want, rel=1e-12), (x, tx, big_t)


@pytest.mark.parametrize("params", PARAMS, ids=["cdnow", "sharp"])
def test_mbgnbd_customer_without_repeat_purchase_may_have_left(params) -> None:
    """MBG/NBD's point: one purchase and silence since is not proof of life (BG/NBD says it is)."""
    mbg, bg = ModifiedBetaGeo(), BetaGeo()
    mbg.params_ = bg.params_ = dict(params)
    for big_t in (1.0, 38.86):
        assert float(bg.prob_alive(0, 0, big_t)[0]) == 1.0
        p = float(mbg.prob_alive(0, 0, big_t)[0])
        assert 0 < p < 1
        assert p == pytest.approx(reference_prob_alive(0, 0.0, big_t, **params, k=1), rel=1e-12)
    # the longer the silence, the less likely still active
    assert mbg.prob_alive(0, 0, 38.86)[0] < mbg.prob_alive(0, 0, 1.0)[0]
    # and it shows in the forecast: P(alive) scales the expected purchases of the living
    assert (mbg.expected_purchases(52, 0, 0, 38.86)[0]
            < mbg.expected_purchases(52, 0, 0, 1.0)[0])
