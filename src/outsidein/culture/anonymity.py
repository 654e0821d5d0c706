"""Anonymity: which group scores and comments may be shown. One rule set for every view.

Every page, API answer, export and report asks :func:`disclosure` (or its wrappers
:func:`disclosed_scores` and :func:`disclosed_comments`) before showing a group:

* **primary suppression**: no score for a group of fewer than ``min_scores`` (5)
  respondents, no comments for fewer than ``min_comments`` (10);
* **complementary suppression**: a parent (an organisation) is the sum of its groups along
  each dimension (departments; roles; department x role cells when ``crossed``).  Whenever
  the shown cells of such a sum would let someone work out a hidden group, or a set of hidden
  groups totalling fewer than the minimum, by subtraction, the next-smallest shown group of
  that sum is hidden too, until the hidden part is at least the minimum.  Cells that can be
  worked out from other sums count as known, so the rule holds across departments *and*
  roles.  Then an exact audit: a set of respondents can be worked out from the shown cells
  exactly when its indicator over the finest cells (department x role) lies in the span of the
  shown cells; every set of fewer than the minimum is searched, and while one is found the
  smallest shown cell whose hiding protects it is hidden too.  Across organisations, the
  overall total is hidden instead when an organisation is.
* respondents who did not give a department or role form their own group ``(not given)``,
  which the same rules cover (otherwise it could be recovered by subtraction).

Comments are listed for the organisation and for at most ONE dimension
(:func:`disclosed_comments`): the same comment under a department and under a role would
name the person at their intersection.

>>> r = pd.DataFrame({"org": ["a"] * 13, "department": ["x"] * 10 + ["y"] * 3,
...                   "role": ["m"] * 6 + ["s"] * 7})
>>> d = disclosure(r, include_total=False)
>>> print(d[["dimension", "group", "n", "show_score"]].to_string(index=False))
 dimension group  n  show_score
       all (all) 13        True
department     x 10       False
department     y  3       False
      role     m  6        True
      role     s  7        True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["ALL", "NOT_GIVEN", "AnonymityRules", "disclosed_comments", "disclosed_scores",
           "disclosure"]

ALL = "(all)"
NOT_GIVEN = "(not given)"
_CROSS = "\u00d7"  # the multiplication sign in "department×role"
_SEP = "\x1f"  # joins labels into one key (a control character no label contains)


@dataclass(frozen=True)
class AnonymityRules:
    """The minimum group sizes: scores need ``min_scores``, comments ``min_comments``."""

    min_scores: int = 5
    min_comments: int = 10


def _labels(frame: pd.DataFrame, col: str) -> np.ndarray:
    s = frame[col].astype("string").str.strip()
    return s.mask(s.isna() | (s == ""), NOT_GIVEN).astype(str).to_numpy()


def _cells_of_unit(labels: dict[str, np.ndarray], n_total: int, dims: Sequence[str],
                   crossed: bool
                   ) -> tuple[list[tuple[str, str, int]], list[tuple[int, list[int]]]]:
    """Cells (dimension, group, n) of one unit and the sums relating them (parent, children)."""
    cells: list[tuple[str, str, int]] = [("all", ALL, n_total)]
    index: dict[tuple[str, str], int] = {("all", ALL): 0}
    rels: list[tuple[int, list[int]]] = []
    for d in dims:
        vals, counts = np.unique(labels[d], return_counts=True)
        kids = []
        for v, c in zip(vals, counts, strict=True):
            index[(d, str(v))] = len(cells)
            kids.append(len(cells))
            cells.append((d, str(v), int(c)))
        rels.append((0, kids))
    if crossed and len(dims) >= 2:
        d1, d2 = dims[0], dims[1]
        name = f"{d1}{_CROSS}{d2}"
        joined, counts = np.unique(np.char.add(np.char.add(labels[d1].astype(str), _SEP),
                                               labels[d2].astype(str)), return_counts=True)
        by_a: dict[str, list[int]] = {}
        by_b: dict[str, list[int]] = {}
        for key, c in zip(joined, counts, strict=True):
            a, b = str(key).split(_SEP)
            i = len(cells)
            cells.append((name, f"{a} / {b}", int(c)))
            by_a.setdefault(str(a), []).append(i)
            by_b.setdefault(str(b), []).append(i)
        rels += [(index[(d1, a)], kids) for a, kids in by_a.items()]
        rels += [(index[(d2, b)], kids) for b, kids in by_b.items()]
        rels.append((0, [k for kids in by_a.values() for k in kids]))
    return cells, rels


def _membership(labels: dict[str, np.ndarray], n_total: int, dims: Sequence[str],
                cells: list[tuple[str, str, int]], crossed: bool) -> tuple[np.ndarray, np.ndarray]:
    """(cells x atoms) 0/1 matrix and the atoms' sizes; atoms are the finest combinations."""
    if dims:
        joined = labels[dims[0]].astype(str)
        for d in dims[1:]:
            joined = np.char.add(np.char.add(joined, _SEP), labels[d].astype(str))
        uniq, sizes = np.unique(joined, return_counts=True)
        keys = [tuple(str(k).split(_SEP)) for k in uniq]
    else:
        keys, sizes = [()], np.array([n_total])
    m = np.zeros((len(cells), len(keys)))
    for i, (dim, grp, _) in enumerate(cells):
        for a, key in enumerate(keys):
            if dim == "all":
                hit = True
            elif dim in dims:
                hit = key[list(dims).index(dim)] == grp
            else:  # the crossed cell "a / b" of the first two dimensions
                hit = crossed and f"{key[0]} / {key[1]}" == grp
            m[i, a] = float(hit)
    return m, sizes


def _null_space(a: np.ndarray, n_atoms: int) -> np.ndarray:
    if not len(a):
        return np.eye(n_atoms)
    _, sv, vt = np.linalg.svd(a, full_matrices=True)
    rank = int(np.sum(sv > 1e-9 * max(sv.max(), 1.0)))
    return vt[rank:].T


_MAX_SUBSETS = 200_000


def _leak(null: np.ndarray, sizes: np.ndarray, k: int) -> list[int] | None:
    """A set of atoms totalling 1..k-1 respondents that the shown cells determine, or None.

    A 0/1 combination of atoms is determined by the shown cells exactly when it is orthogonal
    to their null space; every set totalling fewer than *k* is made of atoms smaller than *k*,
    so the search over those (depth-first, pruned by the running total) is exhaustive.  If it
    would exceed ``_MAX_SUBSETS`` the unit is treated as leaking (all its small atoms).
    """
    small = [int(a) for a in np.argsort(sizes) if sizes[a] < k]
    if not small:
        return None
    rows = null[small]
    tol = 1e-7
    count = 0
    found: list[int] | None = None

    def dfs(start: int, total: int, acc: np.ndarray, chosen: list[int]) -> bool:
        nonlocal count, found
        for j in range(start, len(small)):
            t = total + int(sizes[small[j]])
            if t >= k:
                break  # sorted by size: the rest are no smaller
            count += 1
            if count > _MAX_SUBSETS:
                found = small
                return True
            v = acc + rows[j]
            if float(np.abs(v).max(initial=0.0)) < tol:
                found = [*chosen, small[j]]
                return True
            if dfs(j + 1, t, v, [*chosen, small[j]]):
                return True
        return False

    dfs(0, 0, np.zeros(null.shape[1]), [])
    return found


def _audit(m: np.ndarray, sizes: np.ndarray, hidden: np.ndarray, extra: np.ndarray,
           k: int) -> None:
    """Hide further cells (in place) until no set of fewer than *k* can be worked out."""
    while True:
        shown = np.flatnonzero(~hidden)
        leak = _leak(_null_space(m[shown], m.shape[1]), sizes, k)
        if leak is None:
            return
        v = np.zeros(m.shape[1])
        v[leak] = 1.0
        order = sorted((int(c) for c in shown if c != 0), key=lambda c: sizes @ m[c])
        target = None
        for c in order:
            rest = shown[shown != c]
            null = _null_space(m[rest], m.shape[1])
            if float(np.abs(v @ null).max(initial=0.0)) > 1e-7:
                target = c
                break
        if target is None:  # no single cell protects it: hide the smallest one touching it
            touching = [c for c in order if float(m[c] @ v) > 0]
            target = (touching or order or [int(shown[0])])[0]
        hidden[target] = True
        extra[target] = True


def _suppress(n: np.ndarray, rels: list[tuple[int, list[int]]], k: int) -> tuple[
        np.ndarray, np.ndarray]:
    """(hidden, complementary) flags so that no sum reveals hidden cells totalling < k."""
    hidden = n < k
    extra = np.zeros(len(n), dtype=bool)
    while True:
        known = ~hidden
        violation = None
        changed = True
        while changed and violation is None:
            changed = False
            for parent, kids in rels:
                unknown = [c for c in kids if not known[c]]
                if known[parent] and unknown:
                    total = int(n[unknown].sum())
                    if 0 < total < k:
                        violation = (parent, kids)
                        break
                    if len(unknown) == 1:
                        known[unknown[0]] = True
                        changed = True
                elif not known[parent] and not unknown:
                    known[parent] = True
                    changed = True
        if violation is None:
            return hidden, extra
        parent, kids = violation
        shown = sorted((c for c in kids if not hidden[c] and n[c] > 0), key=lambda c: n[c])
        target = shown[0] if shown else parent
        if hidden[target]:  # the parent is only derived: the exact audit takes over
            return hidden, extra
        hidden[target] = True
        extra[target] = True


def disclosure(respondents: pd.DataFrame, *, unit: str = "org",
               dimensions: Sequence[str] = ("department", "role"), crossed: bool = False,
               include_total: bool = True, rules: AnonymityRules | None = None
               ) -> pd.DataFrame:
    """Which cells may show a score and which may show comments.

    Parameters
    ----------
    respondents : DataFrame
        One row per respondent with the *unit* column and the *dimensions* columns.
    unit : str
        The parent of each set of groups (``"org"``).
    dimensions : sequence of str
        The groupings shown inside a unit (missing columns are skipped).
    crossed : bool
        Whether department x role cells are shown too (first two dimensions).
    include_total : bool
        Whether an overall total across units is shown (unit ``(all)``).

    Returns
    -------
    DataFrame ``[unit, dimension, group, n, show_score, show_comments, reason]``
    """
    rules = rules or AnonymityRules()
    dims = [d for d in dimensions if d in respondents.columns]
    units = _labels(respondents, unit)
    all_labels = {d: _labels(respondents, d) for d in dims}
    codes, uniques = pd.factorize(units)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    rows: list[dict[str, object]] = []
    unit_rows: list[int] = []
    for j, u in enumerate(uniques):
        idx = order[bounds[j]:bounds[j + 1]]
        labels = {d: all_labels[d][idx] for d in dims}
        cells, rels = _cells_of_unit(labels, len(idx), dims, crossed)
        n = np.array([c[2] for c in cells])
        m, sizes = _membership(labels, len(idx), dims, cells, crossed)
        h5, x5 = _suppress(n, rels, rules.min_scores)
        _audit(m, sizes, h5, x5, rules.min_scores)
        h10, x10 = _suppress(n, rels, rules.min_comments)
        _audit(m, sizes, h10, x10, rules.min_comments)
        for i, (dim, grp, cnt) in enumerate(cells):
            if i == 0:
                unit_rows.append(len(rows))
            reason = "" if not h5[i] else (
                "hidden so that a smaller group cannot be worked out by subtraction"
                if x5[i] else f"fewer than {rules.min_scores} respondents")
            rows.append({unit: str(u), "dimension": dim, "group": grp, "n": cnt,
                         "show_score": not h5[i], "show_comments": not h10[i],
                         "reason": reason})
    out = pd.DataFrame(rows, columns=[unit, "dimension", "group", "n", "show_score",
                                      "show_comments", "reason"])
    if include_total and len(out):
        totals = out.loc[unit_rows]
        n_all = int(totals["n"].sum())
        top: dict[str, object] = {unit: ALL, "dimension": "all", "group": ALL, "n": n_all}
        for flag, k in (("show_score", rules.min_scores), ("show_comments", rules.min_comments)):
            hidden_n = int(totals.loc[~totals[flag], "n"].sum())
            top[flag] = n_all >= k and not (0 < hidden_n < k)
        top["reason"] = "" if top["show_score"] else (
            f"fewer than {rules.min_scores} respondents" if n_all < rules.min_scores
            else "hidden so that a small organisation cannot be worked out by subtraction")
        out = pd.concat([pd.DataFrame([top]), out], ignore_index=True)
    return out


def disclosed_scores(scores: pd.DataFrame, columns: Sequence[str], *, unit: str = "org",
                     dimensions: Sequence[str] = ("department", "role"),
                     crossed: bool = False, include_total: bool = True,
                     rules: AnonymityRules | None = None) -> pd.DataFrame:
    """:func:`disclosure` plus the mean of each of *columns* per cell, NaN where hidden.

    >>> s = pd.DataFrame({"org": ["a"] * 7, "department": ["x"] * 5 + ["y"] * 2,
    ...                   "engagement": [60.0] * 5 + [0.0] * 2})
    >>> disclosed_scores(s, ["engagement"], dimensions=["department"],
    ...                  include_total=False)[["group", "n", "engagement"]]
       group  n  engagement
    0  (all)  7   42.857143
    1      x  5         NaN
    2      y  2         NaN
    """
    dims = [d for d in dimensions if d in scores.columns]
    out = disclosure(scores, unit=unit, dimensions=dims, crossed=crossed,
                     include_total=include_total, rules=rules)
    cols = list(columns)
    units = _labels(scores, unit)
    frame = scores[cols].copy()
    frame["_u"] = units
    means: dict[tuple[str, str, str], np.ndarray] = {}
    overall = frame[cols].mean().to_numpy()
    means[(ALL, "all", ALL)] = overall
    for u, m in frame.groupby("_u")[cols].mean().iterrows():
        means[(str(u), "all", ALL)] = m.to_numpy()
    for d in dims:
        frame["_d"] = _labels(scores, d)
        for (u, g), m in frame.groupby(["_u", "_d"])[cols].mean().iterrows():
            means[(str(u), d, str(g))] = m.to_numpy()
    if crossed and len(dims) >= 2:
        frame["_d"] = [f"{a} / {b}" for a, b in zip(_labels(scores, dims[0]),
                                                    _labels(scores, dims[1]), strict=True)]
        name = f"{dims[0]}{_CROSS}{dims[1]}"
        for (u, g), m in frame.groupby(["_u", "_d"])[cols].mean().iterrows():
            means[(str(u), name, str(g))] = m.to_numpy()
    nan = np.full(len(cols), np.nan)
    vals = np.array([means.get((r[unit], r["dimension"], r["group"]), nan)
                     if r["show_score"] else nan for r in out.to_dict(orient="records")])
    vals = vals.reshape(len(out), len(cols))
    for j, c in enumerate(cols):
        out[c] = vals[:, j]
    return out


def disclosed_comments(respondents: pd.DataFrame, *, unit: str = "org", by: str | None = None,
                       dimensions: Sequence[str] = ("department", "role"),
                       comment: str = "comment", rules: AnonymityRules | None = None
                       ) -> pd.DataFrame:
    """The comments that may be shown: per unit, and per group of the ONE dimension *by*.

    Returns ``[unit, dimension, group, comment]``; empty comments are dropped.  The
    suppression takes every dimension in *dimensions* into account.

    >>> r = pd.DataFrame({"org": ["a"] * 12, "department": ["x"] * 12,
    ...                   "comment": ["ok"] * 11 + [""]})
    >>> disclosed_comments(r, by="department").shape
    (22, 4)
    """
    d = disclosure(respondents, unit=unit, dimensions=dimensions, include_total=False,
                   rules=rules)
    if by is not None and by not in d["dimension"].to_numpy():
        by = None
    ok = d[d["show_comments"] & ((d["dimension"] == "all") | (d["dimension"] == by))]
    text = respondents[comment].astype("string").str.strip() if comment in respondents \
        else pd.Series(pd.NA, index=respondents.index, dtype="string")
    has = text.notna() & (text != "")
    units = _labels(respondents, unit)
    groups = _labels(respondents, by) if by is not None else None
    parts = []
    for r in ok.to_dict(orient="records"):
        sel = has.to_numpy() & (units == r[unit])
        if r["dimension"] != "all" and groups is not None:
            sel &= groups == r["group"]
        c = text[sel].to_numpy()
        parts.append(pd.DataFrame({unit: r[unit], "dimension": r["dimension"],
                                   "group": r["group"], "comment": sorted(str(x) for x in c)}))
    cols = [unit, "dimension", "group", "comment"]
    return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)
