"""The demo company's people: customers with latent BG/NBD and Gamma-Gamma traits, referral
trees and prospects.

The latent traits are drawn first, exactly from the published mixing
distributions (``lambda ~ Gamma(r, alpha)`` per week, ``p ~ Beta(a, b)``,
``nu ~ Gamma(q, gamma)``), so the models' parameters stay recoverable.  The
visible attributes are drawn *after*, with category logits that rise with the
customer's latent value score: the attributes predict value (an ideal
customer profile is learnable) without bending the mixing distributions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, ndtri

from outsidein.demo.catalog import REGION_SHARE, REGIONS

#: the generator's true parameters (BG/NBD per week; Gamma-Gamma in money)
BGNBD = {"r": 1.5, "alpha": 11.0, "a": 0.4, "b": 12.0}
GAMMA_GAMMA = {"p": 6.0, "q": 4.0, "gamma": 40.0}

INDUSTRIES = ("retail", "construction", "hospitality", "manufacturing", "healthcare",
              "education", "professional_services")
INDUSTRY_BASE = (0.20, 0.15, 0.15, 0.15, 0.12, 0.10, 0.13)
INDUSTRY_BETA = (0.0, 0.3, -0.2, 0.6, 0.0, -0.3, 0.1)
SIZES = ("1-9", "10-49", "50-200", "200+")
SIZE_BASE = (0.40, 0.30, 0.20, 0.10)
SIZE_BETA = (-0.5, 0.0, 0.9, 0.4)
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
AGE_BASE = (0.12, 0.22, 0.22, 0.18, 0.14, 0.12)
AGE_BETA = (-0.3, 0.0, 0.2, 0.2, 0.0, -0.1)
ACQ_CHANNELS = ("web", "store", "referral", "trade_show", "ads", "partner")
ACQ_BASE_BUSINESS = (0.22, 0.08, 0.18, 0.22, 0.12, 0.18)
ACQ_BASE_CONSUMER = (0.37, 0.27, 0.18, 1e-9, 0.18, 1e-9)
ACQ_BETA = (0.0, 0.0, 0.3, 0.8, -0.6, 0.2)
REGION_BETA = (0.0, -0.1, 0.0, 0.25, 0.0)
#: latent behaviour segments: they set which product types a customer buys
SEGMENTS = ("tech_buyer", "home_maker", "pro_trade", "budget")
SEGMENT_BASE_BUSINESS = (0.30, 0.10, 0.50, 0.10)
SEGMENT_BASE_CONSUMER = (0.25, 0.35, 0.05, 0.35)
#: the ideal-customer profile the attribute logits plant (used for lookalike prospects)
ICP = {"industry": "manufacturing", "company_size": "50-200", "source": "trade_show",
       "region": "west"}

#: prospect conversion: logit = intercept + source + company size + per-visit terms
PROSPECT_SOURCES = ("trade_show", "web_form", "referral", "ads", "cold_call")
PROSPECT_LOGIT: dict[str, float] = {
    "intercept": -2.2,
    "source=trade_show": 1.2, "source=web_form": 0.3, "source=referral": 0.9,
    "source=ads": -0.4, "source=cold_call": -0.8,
    "company_size=1-9": -0.3, "company_size=10-49": 0.2, "company_size=50-200": 0.8,
    "company_size=200+": 0.4,
    "pricing_visits": 0.45, "web_visits": 0.06, "email_opens": 0.12,
}


@dataclass
class People:
    """Customer-level arrays (index = customer number - 1); -1 codes mean null."""

    acq_day: np.ndarray
    lam: np.ndarray          # purchase rate per week
    p_drop: np.ndarray       # dropout probability after each repeat purchase
    nu: np.ndarray           # Gamma-Gamma scale: mean spend = p / nu
    z: np.ndarray            # latent value score (standard normal scores)
    is_business: np.ndarray
    region: np.ndarray
    industry: np.ndarray
    size: np.ndarray
    age: np.ndarray
    channel: np.ndarray
    segment: np.ndarray
    consent_email: np.ndarray
    consent_sms: np.ndarray
    is_drainer: np.ndarray
    is_advocate: np.ndarray
    nps: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.acq_day)

    @property
    def mean_spend(self) -> np.ndarray:
        return GAMMA_GAMMA["p"] / self.nu


def _categorical(rng: np.random.Generator, base: np.ndarray, beta: np.ndarray,
                 z: np.ndarray) -> np.ndarray:
    """Draw one category per row with logits ``log(base) + beta * z`` (Gumbel-max)."""
    logits = np.log(np.asarray(base))[None, :] + np.asarray(beta)[None, :] * z[:, None]
    return np.argmax(logits + rng.gumbel(size=logits.shape), axis=1).astype(np.int8)


def _top_k(rng: np.random.Generator, weights: np.ndarray, k: int) -> np.ndarray:
    """Indices of a weighted sample of *k* without replacement (Gumbel top-k)."""
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    keys = np.log(np.maximum(weights, 1e-300)) + rng.gumbel(size=len(weights))
    return np.argpartition(-keys, k - 1)[:k]


def make_people(rng: np.random.Generator, n: int, acquisition_days: float) -> People:
    """Latent traits, then attributes that lean on the latent value score."""
    lam = rng.gamma(BGNBD["r"], 1.0 / BGNBD["alpha"], n)
    p_drop = rng.beta(BGNBD["a"], BGNBD["b"], n)
    nu = rng.gamma(GAMMA_GAMMA["q"], 1.0 / GAMMA_GAMMA["gamma"], n)
    # dropout barely moves next-year value when it is rare (Beta(0.4, 12)), so it weighs little
    value = np.log(lam) + 0.7 * np.log(GAMMA_GAMMA["p"] / nu) - 0.1 * np.log(p_drop)
    rank = np.argsort(np.argsort(value))
    z = ndtri((rank + 0.5) / n)
    is_business = rng.random(n) < expit(np.log(0.45 / 0.55) + 0.35 * z)
    region = _categorical(rng, np.array(REGION_SHARE), np.array(REGION_BETA), z)
    industry = np.where(is_business, _categorical(rng, np.array(INDUSTRY_BASE),
                                                  np.array(INDUSTRY_BETA), z), -1)
    size = np.where(is_business, _categorical(rng, np.array(SIZE_BASE), np.array(SIZE_BETA), z), -1)
    age = np.where(is_business, -1, _categorical(rng, np.array(AGE_BASE), np.array(AGE_BETA), z))
    beta = np.array(ACQ_BETA)
    channel = np.where(is_business,
                       _categorical(rng, np.array(ACQ_BASE_BUSINESS), beta, z),
                       _categorical(rng, np.array(ACQ_BASE_CONSUMER), beta, z))
    zero = np.zeros(n)
    segment = np.where(is_business,
                       _categorical(rng, np.array(SEGMENT_BASE_BUSINESS), np.zeros(4), zero),
                       _categorical(rng, np.array(SEGMENT_BASE_CONSUMER), np.zeros(4), zero))
    acq_day = rng.uniform(0.0, acquisition_days, n)
    # cost drainers (~4 %): more among small accounts and ad-acquired, fewer among the best
    w = np.exp(-0.5 * z) * np.where(channel == ACQ_CHANNELS.index("ads"), 2.0, 1.0)
    w = w * np.where(size == 0, 1.5, 1.0)
    is_drainer = np.zeros(n, dtype=bool)
    is_drainer[_top_k(rng, w, round(0.04 * n))] = True
    # strong advocates (~0.5 %): early customers, leaning to the valuable, never drainers
    early = (acq_day < min(120.0, acquisition_days / 3)) & ~is_drainer
    is_advocate = np.zeros(n, dtype=bool)
    is_advocate[_top_k(rng, early * np.exp(0.5 * z), max(1, round(0.005 * n)))] = True
    return People(
        acq_day=acq_day, lam=lam, p_drop=p_drop, nu=nu, z=z, is_business=is_business,
        region=region.astype(np.int8), industry=industry.astype(np.int8),
        size=size.astype(np.int8), age=age.astype(np.int8), channel=channel.astype(np.int8),
        segment=segment.astype(np.int8), consent_email=rng.random(n) < 0.7,
        consent_sms=rng.random(n) < 0.35, is_drainer=is_drainer, is_advocate=is_advocate,
    )


def make_nps(rng: np.random.Generator, people: People) -> np.ndarray:
    """Net Promoter answers for a subset (-1 = none): advocates mostly 9-10, drainers low."""
    n = people.n
    answered = rng.random(n) < np.where(people.is_advocate, 0.9, 0.25)
    score = np.clip(np.round(7.0 + 0.8 * people.z + rng.normal(0, 1.6, n)), 0, 10)
    score = np.where(people.is_drainer, np.clip(score - 3, 0, 10), score)
    score = np.where(people.is_advocate, rng.choice([9, 10], n, p=[0.35, 0.65]), score)
    return np.where(answered, score, -1).astype(np.int64)


# -- referrals -------------------------------------------------------------------------

def _draw_after(rng: np.random.Generator, referrers: np.ndarray, counts: np.ndarray,
                pool: np.ndarray, acq_day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each referrer draws *counts* pool members acquired after it; each member used once."""
    if len(pool) == 0 or len(referrers) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    pool = pool[np.argsort(acq_day[pool], kind="stable")]
    lo = np.searchsorted(acq_day[pool], acq_day[referrers], side="right")
    rep = np.repeat(np.arange(len(referrers)), counts)
    room = len(pool) - lo[rep]
    ok = room > 0
    rep = rep[ok]
    pos = lo[rep] + np.floor(rng.random(len(rep)) * room[ok]).astype(np.int64)
    order = rng.permutation(len(rep))
    referred = pool[pos][order]
    _, first = np.unique(referred, return_index=True)
    return referrers[rep[order][first]], referred[first]


def make_referrals(rng: np.random.Generator, people: People) -> tuple[np.ndarray, np.ndarray,
                                                                       np.ndarray]:
    """Referral trees: advocates refer 8-30 each, some referred refer further; plus singles.

    Returns ``(referrer, referred, day)``; referred customers are those whose
    acquisition channel is 'referral', and each is referred once.
    """
    acq = people.acq_day
    pool_all = np.flatnonzero(people.channel == ACQ_CHANNELS.index("referral"))
    taken = np.zeros(people.n, dtype=bool)
    src: list[np.ndarray] = []
    dst: list[np.ndarray] = []
    level = np.flatnonzero(people.is_advocate)
    counts = rng.integers(8, 31, len(level))
    for share, lo_k, hi_k in ((None, 0, 0), (0.35, 1, 4), (0.2, 1, 2)):
        if share is not None:
            level = level[rng.random(len(level)) < share]
            counts = rng.integers(lo_k, hi_k + 1, len(level))
        pool = pool_all[~taken[pool_all]]
        a, b = _draw_after(rng, level, counts, pool, acq)
        taken[b] = True
        src.append(a)
        dst.append(b)
        level = b
    # single referrals for most of the remaining referral-channel customers
    rest = pool_all[~taken[pool_all] & (rng.random(len(pool_all)) < 0.7)]
    order = np.argsort(acq, kind="stable")
    before = np.searchsorted(acq[order], acq[rest], side="left")
    ok = before > 0
    pick = order[np.floor(rng.random(ok.sum()) * before[ok]).astype(np.int64)]
    keep = ~people.is_advocate[pick]
    src.append(pick[keep])
    dst.append(rest[ok][keep])
    referrer = np.concatenate(src)
    referred = np.concatenate(dst)
    gap = rng.uniform(0.5, 14.0, len(referred))
    day = np.maximum(acq[referred] - gap, acq[referrer] + 0.01)
    return referrer, referred, day


# -- prospects ---------------------------------------------------------------------------

@dataclass
class Prospects:
    created: np.ndarray
    is_business: np.ndarray
    region: np.ndarray
    industry: np.ndarray
    size: np.ndarray
    age: np.ndarray
    source: np.ndarray
    web_visits: np.ndarray
    pricing_visits: np.ndarray
    email_opens: np.ndarray
    is_lookalike: np.ndarray
    p_convert: np.ndarray
    customer: np.ndarray      # linked customer index, -1 when not converted

    @property
    def n(self) -> int:
        return len(self.created)


def conversion_probability(source: np.ndarray, size: np.ndarray, web: np.ndarray,
                           pricing: np.ndarray, opens: np.ndarray) -> np.ndarray:
    """The generator's true logistic conversion model (:data:`PROSPECT_LOGIT`)."""
    c = PROSPECT_LOGIT
    src = np.array([c[f"source={s}"] for s in PROSPECT_SOURCES])[source]
    siz = np.where(size >= 0, np.array([c[f"company_size={s}"] for s in SIZES])[size], 0.0)
    logit = (c["intercept"] + src + siz + c["pricing_visits"] * pricing
             + c["web_visits"] * web + c["email_opens"] * opens)
    return expit(logit)


def make_prospects(rng: np.random.Generator, n: int, people: People,
                   acquisition_days: float) -> Prospects:
    """Prospects created over the acquisition period; converts link to matching customers."""
    is_b = rng.random(n) < 0.55
    region = rng.choice(len(REGIONS), n, p=REGION_SHARE).astype(np.int8)
    industry = np.where(is_b, rng.choice(len(INDUSTRIES), n, p=INDUSTRY_BASE), -1)
    size = np.where(is_b, rng.choice(len(SIZES), n, p=SIZE_BASE), -1)
    age = np.where(is_b, -1, rng.choice(len(AGE_BANDS), n, p=AGE_BASE))
    source = np.where(is_b, rng.choice(5, n, p=[0.25, 0.30, 0.12, 0.18, 0.15]),
                      rng.choice(5, n, p=[0.0, 0.45, 0.15, 0.40, 0.0]))
    look = rng.random(n) < 0.05
    is_b = is_b | look
    industry = np.where(look, INDUSTRIES.index(ICP["industry"]), industry)
    size = np.where(look, SIZES.index(ICP["company_size"]), size)
    age = np.where(look, -1, age)
    source = np.where(look, PROSPECT_SOURCES.index(ICP["source"]), source)
    region = np.where(look, REGIONS.index(ICP["region"]), region)
    web = rng.poisson(2.5, n)
    pricing = rng.poisson(np.where(is_b, 0.8, 0.5))
    opens = rng.poisson(1.8, n)
    p = conversion_probability(source, size, web, pricing, opens)
    converted = rng.random(n) < p
    created = rng.uniform(0.0, max(1.0, acquisition_days - 30.0), n)
    customer = _link(rng, people, converted, created, is_b, region, industry, size, age)
    return Prospects(created, is_b, region.astype(np.int8), industry.astype(np.int8),
                     size.astype(np.int8), age.astype(np.int8), source.astype(np.int8),
                     web, pricing, opens, look, p, customer)


def _profile_key(is_b: np.ndarray, region: np.ndarray, industry: np.ndarray, size: np.ndarray,
                 age: np.ndarray) -> np.ndarray:
    return np.where(is_b, 1000 + region * 100 + industry * 10 + size, region * 10 + age).astype(
        np.int64)


def _link(rng: np.random.Generator, people: People, converted: np.ndarray, created: np.ndarray,
          is_b: np.ndarray, region: np.ndarray, industry: np.ndarray, size: np.ndarray,
          age: np.ndarray) -> np.ndarray:
    """Give each converted prospect a distinct customer of the same profile acquired after it."""
    ckey = _profile_key(people.is_business, people.region.astype(np.int64),
                        people.industry.astype(np.int64), people.size.astype(np.int64),
                        people.age.astype(np.int64))
    sort_val = ckey * 10_000.0 + people.acq_day
    order = np.argsort(sort_val, kind="stable")
    sorted_val = sort_val[order]
    pkey = _profile_key(is_b, region.astype(np.int64), industry.astype(np.int64),
                        size.astype(np.int64), age.astype(np.int64))
    lo = np.searchsorted(sorted_val, pkey * 10_000.0 + created, side="left")
    hi = np.searchsorted(sorted_val, pkey * 10_000.0 + 9_999.0, side="right")
    out = np.full(len(created), -1, dtype=np.int64)
    used = np.zeros(people.n, dtype=bool)
    todo = np.flatnonzero(converted & (hi > lo))
    for attempt in range(8):
        if len(todo) == 0:
            break
        width = np.minimum(hi[todo] - lo[todo], 25 * (attempt + 1))
        cand = order[lo[todo] + np.floor(rng.random(len(todo)) * width).astype(np.int64)]
        free = ~used[cand]
        perm = rng.permutation(np.flatnonzero(free))
        _, first = np.unique(cand[perm], return_index=True)
        win = perm[first]
        out[todo[win]] = cand[win]
        used[cand[win]] = True
        todo = todo[out[todo] < 0]
    return out
