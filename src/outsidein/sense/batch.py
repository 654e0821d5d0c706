"""Many decisions at once: the evidence, the stage, the clues and the contact policy as
array operations over a *round* of events, one per customer.

:meth:`outsidein.services.sense.respond.Responder.decide_many` cuts a group of events
into rounds (the first event of each customer, then the second, ...) and hands each round
here.  What comes back is what :class:`~outsidein.sense.evidence.EvidenceScorer` and
:func:`~outsidein.sense.policy.eligible_actions` give event by event, computed with numpy
over the round:

* :func:`sense_round`: decay the evidence to each event, clear and add its weights, the
  stage (softmax of prior + evidence), its probability, the message need and the top clues
  (the recent interactions ranked by their decayed push toward the stage, ties broken as
  the scorer breaks them: later first, then channel and type names);
* :func:`policy_round`: opt-out, suppression, the global cap and the minimum gap per
  customer, then per channel consent, the channel cap and quiet hours in the customer's
  zone, and per action the first open channel in the order clue, preferred, catalogue;
  every removed action with its rule in words, as :class:`~outsidein.sense.policy.Filtered`.

Choices made here
-----------------
* Results equal the event-by-event functions' to float rounding (numpy's ``exp`` may differ
  from :func:`math.exp` in the last bit): ``tests/sense/test_batch.py`` checks stages,
  probabilities, needs, clues, eligible actions, channels and every reason in words on
  random streams.
* Words are built only for what is shown (the clues kept and the actions removed), from
  numbers computed for the whole round.
* Pure: no clock, no I/O; times are Unix seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from outsidein.sense.evidence import Clue, EvidenceScorer
from outsidein.sense.policy import (
    CatalogAction,
    ContactPolicy,
    Eligible,
    Filtered,
    PolicyResult,
    _channel_order,
    _hours,
    _in_quiet,
    _plural,
    _quiet_end,
    _verdict,
    local_hour,
)
from outsidein.sense.stages import STAGE_NEED, STAGES

__all__ = ["RoundContacts", "RoundEvidence", "RoundSensed", "contacts_arrays", "policy_round",
           "sense_round"]

_DAY = 86400.0
_K = len(STAGES)
_NEED_OF = tuple(STAGE_NEED[s] for s in STAGES)


class RoundEvidence(NamedTuple):
    """The evidence of a round's customers before their event, as arrays and lists."""

    ev: np.ndarray  # (n, 8): seven stages then service
    ts: np.ndarray  # (n,): time of the evidence; nan for a customer never seen
    last_buy: np.ndarray  # (n,): time of the last checkout; nan for none
    recent: list[list[list[Any]]]  # per customer, the last interactions [ts, channel, type]


class RoundSensed(NamedTuple):
    """What a round's events tell: the new evidence and the stage of each customer."""

    ev: np.ndarray
    ts: np.ndarray
    last_buy: np.ndarray
    recent: list[list[list[Any]]]
    stage: np.ndarray  # (n,) stage index
    probability: np.ndarray  # (n,)
    need: list[str]
    clues: list[list[Clue]]


def _tables(scorer: EvidenceScorer) -> dict[str, Any]:
    """The scorer's compiled tables as arrays (kept on the scorer, built once)."""
    cached: dict[str, Any] | None = getattr(scorer, "_batch_tables", None)
    if cached is None:
        resets = np.zeros((0, _K + 1), bool)
        cached = {"rates": np.asarray(scorer.rates_, float),
                  "prior": np.asarray(scorer.prior_, float),
                  "pairs": {}, "dense": np.zeros((0, _K + 1)), "resets": resets}
        scorer._batch_tables = cached  # type: ignore[attr-defined]
    return cached


def _pair_codes(scorer: EvidenceScorer, tables: dict[str, Any], channels: Sequence[str],
                types: Sequence[str]) -> np.ndarray:
    """A code per (channel, type), indexing ``tables['dense']`` (weights) and
    ``tables['resets']`` (stages the type clears), both grown as new pairs appear."""
    pairs: dict[tuple[str, str], int] = tables["pairs"]
    out = np.empty(len(channels), np.intp)
    new_rows: list[tuple[float, ...]] = []
    new_resets: list[list[bool]] = []
    for i, key in enumerate(zip(channels, types, strict=True)):
        code = pairs.get(key)
        if code is None:
            code = pairs[key] = len(pairs)
            ch, ty = key
            new_rows.append(scorer._dense.get(key) or scorer._dense_row(ch, ty))
            cleared = scorer.resets_.get(ty, ())
            new_resets.append([j in cleared for j in range(_K + 1)])
        out[i] = code
    if new_rows:
        tables["dense"] = np.vstack([tables["dense"], np.asarray(new_rows, float)])
        tables["resets"] = np.vstack([tables["resets"], np.asarray(new_resets, bool)])
    return out


def sense_round(scorer: EvidenceScorer, before: RoundEvidence, now: np.ndarray,
                channels: Sequence[str], types: Sequence[str], top: int = 3) -> RoundSensed:
    """:meth:`EvidenceScorer.update`, then ``stage_probability``, ``message_need`` and
    ``clues`` for each event of the round (one per customer), as arrays.

    ``recent`` lists are extended in place (and trimmed to the scorer's ``max_clues``).
    """
    t = _tables(scorer)
    cfg = scorer.config_
    rates, n = t["rates"], len(now)
    codes = _pair_codes(scorer, t, channels, types)
    ts = before.ts
    ev = before.ev.copy()
    with np.errstate(invalid="ignore"):
        dt = now - ts  # nan for a new customer
        decay = dt > 0
        keep_ts = dt < 0  # a late event counts as of now and does not decay backwards
    if decay.any():
        ev[decay] *= np.exp(-rates[None, :] * dt[decay, None])
    ev[t["resets"][codes]] = 0.0
    ev += t["dense"][codes]
    new_ts = np.where(keep_ts, ts, now)
    checkout = np.fromiter((ty == "checkout" for ty in types), bool, n)
    last_buy = np.where(checkout, now, before.last_buy)

    # the stage right after the update: nothing has decayed since, and no silence has passed
    scores = t["prior"][None, :] + ev[:, :_K]
    lo, hi = cfg.silence_days
    if lo < 0:  # a silence ramp that starts before day 0 (only a configuration makes one)
        ramp = 0.0 if 0 >= hi else (0.0 - lo) / (hi - lo)
        scores[~np.isnan(last_buy), 5] += cfg.silence_weight * ramp
    stage = scores.argmax(axis=1)
    top_score = scores[np.arange(n), stage]
    z = np.exp((scores - top_score[:, None]) / cfg.temperature).sum(axis=1)
    probability = 1.0 / z
    service = ev[:, _K] >= cfg.service_threshold
    need = ["service" if s else _NEED_OF[k] for s, k in zip(service.tolist(), stage.tolist(),
                                                             strict=True)]

    recent = before.recent
    max_clues = cfg.max_clues
    for r, tsi, ch, ty in zip(recent, now.tolist(), channels, types, strict=True):
        r.append([tsi, ch, ty])
        if len(r) > max_clues:
            del r[0]
    clues = _clues(scorer, t, recent, now, stage, top)
    return RoundSensed(ev, new_ts, last_buy, recent, stage, probability, need, clues)


def _clues(scorer: EvidenceScorer, t: dict[str, Any], recent: list[list[list[Any]]],
           now: np.ndarray, stage: np.ndarray, top: int) -> list[list[Clue]]:
    """The top clues toward each customer's stage, as :meth:`EvidenceScorer.clues` ranks them."""
    n = len(recent)
    width = max((len(r) for r in recent), default=0)
    out: list[list[Clue]] = [[] for _ in range(n)]
    if not width:
        return out
    rts = np.full((n, width), np.nan)
    chs: list[str] = []
    tys: list[str] = []
    rows: list[int] = []
    cols: list[int] = []
    for i, r in enumerate(recent):
        for j, (ts_, ch, ty) in enumerate(r):
            rts[i, j] = ts_
            chs.append(ch)
            tys.append(ty)
            rows.append(i)
            cols.append(j)
    codes = np.zeros((n, width), np.intp)
    flat = _pair_codes(scorer, t, chs, tys)
    codes[rows, cols] = flat
    present = np.zeros((n, width), bool)
    present[rows, cols] = True
    k = stage[:, None]
    w = np.take_along_axis(t["dense"][codes], k[:, :, None], axis=2)[:, :, 0]
    resets = np.take_along_axis(t["resets"][codes], k[:, :, None], axis=2)[:, :, 0] & present
    # entries before the last interaction that cleared the stage do not count
    pos = np.arange(width)[None, :]
    last_reset = np.where(resets, pos, -1).max(axis=1)
    valid = present & (w != 0) & (pos >= last_reset[:, None])
    rate = t["rates"][stage][:, None]
    with np.errstate(invalid="ignore"):
        age = now[:, None] - rts
        contrib = np.where(age > 0, w * np.exp(-rate * np.where(age > 0, age, 0.0)), w)
    rows_v, cols_v = np.nonzero(valid)
    if not len(rows_v):
        return out
    # per customer, largest contribution first; ties: later, then channel and type names
    # descending (the scorer sorts (contribution, ts, channel, type) tuples in reverse)
    ch_flat = np.asarray(chs, object)
    ty_flat = np.asarray(tys, object)
    index_of = np.full((n, width), -1, np.intp)
    index_of[rows, cols] = np.arange(len(rows))
    idx = index_of[rows_v, cols_v]
    rank = {s: i for i, s in enumerate(sorted(set(chs) | set(tys)))}
    ch_rank = np.fromiter((rank[c] for c in ch_flat[idx]), np.intp, len(idx))
    ty_rank = np.fromiter((rank[x] for x in ty_flat[idx]), np.intp, len(idx))
    c = contrib[rows_v, cols_v]
    tsv = rts[rows_v, cols_v]
    order = np.lexsort((-ty_rank, -ch_rank, -tsv, -c, rows_v))
    stages = stage.tolist()
    nows = now.tolist()
    taken = [0] * n
    for o in order.tolist():
        i = int(rows_v[o])
        if taken[i] >= top:
            continue
        taken[i] += 1
        j = int(idx[o])
        out[i].append(Clue(tys[j], chs[j], (nows[i] - float(tsv[o])) / _DAY,
                           STAGES[stages[i]], float(c[o])))
    return out


class RoundContacts(NamedTuple):
    """What the contact policy knows of a round's customers (after their event)."""

    consent: list[frozenset[str]]
    opted_out: np.ndarray  # (n,) bool
    preferred: list[str | None]
    timezone: list[str]  # the customer's zone, or the policy's default
    ignored: np.ndarray  # (n,) messages ignored in a row
    sent_ts: np.ndarray  # (n, m): times of recent messages, nan-padded
    sent_channel: np.ndarray  # (n, m): their channels (object), None-padded


def contacts_arrays(consent: list[frozenset[str]], opted_out: list[bool],
                    preferred: list[str | None], timezone: list[str], ignored: list[int],
                    sent: list[Sequence[Sequence[Any]]]) -> RoundContacts:
    """Pack per-customer contact facts (``sent`` as ``(ts, channel)`` pairs) into arrays."""
    n = len(consent)
    width = max((len(s) for s in sent), default=0)
    sent_ts = np.full((n, width), np.nan)
    sent_ch = np.full((n, width), None, object)
    for i, s in enumerate(sent):
        for j, (ts_, ch) in enumerate(s):
            sent_ts[i, j] = ts_
            sent_ch[i, j] = ch
    return RoundContacts(consent, np.asarray(opted_out, bool), preferred, timezone,
                         np.asarray(ignored, np.int64), sent_ts, sent_ch)


def policy_round(actions: Sequence[Sequence[CatalogAction]], contacts: RoundContacts,
                 now: np.ndarray, policies: Sequence[ContactPolicy],
                 stages: Sequence[str | None], clue_channels: Sequence[str | None]
                 ) -> list[PolicyResult]:
    """:func:`~outsidein.sense.policy.eligible_actions` for each event of a round.

    ``actions[i]``, ``policies[i]``, ``stages[i]`` and ``clue_channels[i]`` are event *i*'s
    candidates, rules, stage and clue channel.  Events are grouped by their rules; each
    group's numbers (messages in each window, local hours) are computed as arrays.
    """
    n = len(now)
    out: list[PolicyResult | None] = [None] * n
    by_policy: dict[int, list[int]] = {}
    for i, p in enumerate(policies):
        by_policy.setdefault(id(p), []).append(i)
    for members in by_policy.values():
        idx = np.asarray(members, np.intp)
        policy = policies[members[0]]
        for i, res in zip(members, _policy_group(actions, contacts, now, policy, stages,
                                                 clue_channels, idx), strict=True):
            out[i] = res
    return out  # type: ignore[return-value]


def _policy_group(actions: Sequence[Sequence[CatalogAction]], c: RoundContacts,
                  now_all: np.ndarray, policy: ContactPolicy, stages: Sequence[str | None],
                  clue_channels: Sequence[str | None], idx: np.ndarray) -> list[PolicyResult]:
    now = now_all[idx]
    sent_ts, sent_ch = c.sent_ts[idx], c.sent_channel[idx]
    has_sent = ~np.isnan(sent_ts[:, 0]) if sent_ts.shape[1] else np.zeros(len(idx), bool)
    g_max, g_days = policy.global_cap
    g_window = g_days * _DAY
    with np.errstate(invalid="ignore"):
        age = now[:, None] - sent_ts
        in_global = age < g_window  # nan (no message) is False
    n_recent = in_global.sum(axis=1)
    first = np.minimum(np.where(in_global, sent_ts, np.inf).min(axis=1, initial=np.inf), now)
    last = np.where(np.isnan(sent_ts), -1e300, sent_ts).max(axis=1, initial=-1e300)
    gap_h = (now - last) / 3600.0
    opted = c.opted_out[idx]
    suppressed = (c.ignored[idx] >= policy.max_ignored) if policy.max_ignored else \
        np.zeros(len(idx), bool)
    capped = has_sent & (n_recent >= g_max)
    gapped = has_sent & (gap_h < policy.min_gap_hours)
    # per channel: messages in its cap window (only for channels with a cap)
    per_channel: dict[str, np.ndarray] = {}
    for ch, (_c_max, c_days) in policy.channel_caps.items():
        with np.errstate(invalid="ignore"):
            per_channel[ch] = ((sent_ch == ch) & (age < c_days * _DAY)).sum(axis=1)
    start, end = policy.quiet_hours
    default_tz = policy.default_timezone

    results: list[PolicyResult] = []
    n_recent_l, first_l, last_l, gap_l = (n_recent.tolist(), first.tolist(), last.tolist(),
                                          gap_h.tolist())
    now_l = now.tolist()
    for pos, i in enumerate(idx.tolist()):
        acts = actions[i]
        t = now_l[pos]

        def all_out(rule: str, reason: str, retry_at: float | None = None,
                    acts: Sequence[CatalogAction] = acts) -> PolicyResult:
            return PolicyResult((), tuple([Filtered(a.name, rule, reason, retry_at)
                                           for a in acts]))

        if opted[pos]:
            results.append(all_out("opt_out", "the customer opted out of all messages"))
            continue
        if suppressed[pos]:
            k = int(c.ignored[i])
            results.append(all_out("suppressed", f"suppressed: the last {k} messages were "
                                   f"ignored (limit {policy.max_ignored}) until the customer "
                                   "engages"))
            continue
        if capped[pos]:
            nr = n_recent_l[pos]
            results.append(all_out("global_cap", f"global frequency cap: "
                                   f"{_plural(nr, 'message')} in the last {g_days:g} days "
                                   f"(limit {g_max})", first_l[pos] + g_window))
            continue
        if gapped[pos]:
            results.append(all_out("min_gap", f"minimum gap: last message {gap_l[pos]:.1f} "
                                   f"hours ago (at least {policy.min_gap_hours:g} hours "
                                   "between messages)",
                                   last_l[pos] + policy.min_gap_hours * 3600.0))
            continue
        consent = c.consent[i]
        tz = c.timezone[i] or default_tz
        sent_here = bool(has_sent[pos])
        blocked: dict[str, tuple[str, str, float | None] | None] = {}
        quiet: list[Any] = []

        def channel_block(ch: str, pos: int = pos, t: float = t, consent: frozenset[str] =
                          consent, tz: str = tz, sent_here: bool = sent_here,
                          blocked: dict[str, Any] = blocked, quiet: list[Any] = quiet
                          ) -> tuple[str, str, float | None] | None:
            res: tuple[str, str, float | None] | None = None
            if ch not in consent:
                res = ("consent", f"no consent for {ch}", None)
            elif sent_here and ch in policy.channel_caps:
                c_max, c_days = policy.channel_caps[ch]
                k = int(per_channel[ch][pos])
                if k >= c_max:
                    res = ("channel_cap", f"{ch} frequency cap: {_plural(k, 'message')} in "
                           f"the last {c_days:g} days (limit {c_max})", None)
            if res is None and ch in policy.quiet_channels:
                if not quiet:
                    hour = local_hour(t, tz)
                    quiet.append((f"quiet hours {start:02d}:00-{end:02d}:00 for ",
                                  f" ({_hours(hour)} in {tz})", _quiet_end(t, hour, end))
                                 if _in_quiet(hour, start, end) else ())
                if quiet[0]:
                    res = ("quiet_hours", quiet[0][0] + ch + quiet[0][1], quiet[0][2])
            blocked[ch] = res
            return res

        ok: list[Eligible] = []
        gone: list[Filtered] = []
        verdicts: dict[tuple[tuple[str, str], ...], tuple[str, str, Any]] = {}
        stage = stages[i]
        preferred = c.preferred[i]
        clue = clue_channels[i]
        for a in acts:
            if stage is not None and a.stages and stage not in a.stages:
                gone.append(Filtered(a.name, "stage", f"not for stage {stage} (only "
                                     f"{', '.join(a.stages)})"))
                continue
            order = _channel_order(a.channels, clue, preferred)
            v = verdicts.get(order)
            if v is None:
                v = verdicts[order] = _verdict(order, blocked, channel_block)
            if v[0] == "open":
                ok.append(Eligible(a.name, v[1], v[2]))
            else:
                gone.append(Filtered(a.name, v[0], v[1], v[2]))
        results.append(PolicyResult(tuple(ok), tuple(gone)))
    return results


