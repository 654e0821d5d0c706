"""Anonymity: try to recover hidden groups by subtraction, across departments and roles.

The attacker knows, for every cell the engine shows, its respondent count and the sum of its
scores (count x mean), and may add and subtract them at will: anything in the row space of
the shown cells (over the finest cells, department x role) is known.  The tests check that
no hidden group below the minimum, no department x role intersection below the minimum, and
no union of hidden groups below the minimum lies in that space.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from outsidein.culture import (
    ALL,
    AnonymityRules,
    disclosed_comments,
    disclosed_scores,
    disclosure,
)


def random_org(rng: np.random.Generator, name: str) -> pd.DataFrame:
    n = int(rng.integers(4, 45))
    n_dept = int(rng.integers(2, 7))
    p = rng.dirichlet(np.full(n_dept, 0.6))
    roles = ["Staff", "Lead", "Manager", "Director"][: int(rng.integers(2, 5))]
    q = rng.dirichlet(np.full(len(roles), 0.8))
    dept = rng.choice([f"D{i}" for i in range(n_dept)], size=n, p=p).astype(object)
    dept[rng.random(n) < 0.05] = None  # some skip the question
    return pd.DataFrame({"org": name, "department": dept,
                         "role": rng.choice(roles, size=n, p=q),
                         "score": rng.normal(60, 15, n)})


def in_row_space(shown: np.ndarray, target: np.ndarray) -> bool:
    if not len(shown):
        return False
    coef, *_ = np.linalg.lstsq(shown.T, target, rcond=None)
    return bool(np.allclose(shown.T @ coef, target, atol=1e-8))


def attack(resp: pd.DataFrame, crossed: bool, k: int, flag: str = "show_score") -> list[str]:
    """Every way a group of fewer than *k* respondents can be worked out; [] when safe."""
    d = disclosure(resp, crossed=crossed, rules=AnonymityRules(k, max(k, 10)),
                   include_total=True)
    leaks = []
    r = resp.assign(department=resp["department"].fillna("(not given)"))
    atoms = r.groupby(["org", "department", "role"]).size()
    keys = list(atoms.index)

    def vec(org: str | None, dim: str, group: str) -> np.ndarray:
        v = np.zeros(len(keys))
        for i, (o, dep, rol) in enumerate(keys):
            if org is not None and o != org:
                continue
            if dim == "all" or (dim == "department" and dep == group) or \
                    (dim == "role" and rol == group) or \
                    (dim.startswith("department") and dim != "department"
                     and f"{dep} / {rol}" == group):
                v[i] = 1
        return v

    cells = []
    for row in d.to_dict(orient="records"):
        org = None if row["org"] == ALL else row["org"]
        cells.append((row, vec(org, row["dimension"], row["group"])))
    shown = np.array([v for row, v in cells if row[flag]])
    for row, v in cells:
        if row[flag] and row["n"] < k:
            leaks.append(f"shown below minimum: {row}")
        if not row[flag] and row["n"] < k and in_row_space(shown, v):
            leaks.append(f"recoverable: {row['org']} {row['dimension']} {row['group']}")
    sizes = atoms.to_numpy()
    for i, key in enumerate(keys):
        if sizes[i] < k:
            e = np.zeros(len(keys))
            e[i] = 1
            if in_row_space(shown, e):
                leaks.append(f"intersection recoverable: {key} (n={sizes[i]})")
    for (org, dim), part in d[d["dimension"] != "all"].groupby(["org", "dimension"]):
        hidden = part[~part[flag]]
        n_hidden = int(hidden["n"].sum())
        if 0 < n_hidden < k:
            v = sum(vec(org, dim, g) for g in hidden["group"])
            if in_row_space(shown, v):
                leaks.append(f"union of hidden {dim} in {org} recoverable (n={n_hidden})")
    return leaks


@pytest.mark.parametrize("crossed", [False, True])
def test_random_organisations_cannot_be_broken_by_subtraction(crossed):
    rng = np.random.default_rng(2026 + crossed)
    for case in range(60):
        resp = pd.concat([random_org(rng, f"o{j}") for j in range(int(rng.integers(1, 4)))],
                         ignore_index=True)
        assert attack(resp, crossed, 5) == [], f"case {case}"


def test_comments_follow_the_same_rules_at_ten():
    rng = np.random.default_rng(7)
    for case in range(40):
        resp = pd.concat([random_org(rng, f"o{j}") for j in range(2)], ignore_index=True)
        assert attack(resp, False, 10, flag="show_comments") == [], f"case {case}"


def test_classic_subtraction_is_blocked_by_hiding_the_next_smallest_group():
    # Sales 12, Service 7, Finance 3: Finance = total - Sales - Service unless one more hides
    resp = pd.DataFrame({"org": "acme", "department": ["Sales"] * 12 + ["Service"] * 7
                         + ["Finance"] * 3, "role": "Staff", "score": 50.0})
    d = disclosure(resp, dimensions=["department"], include_total=False).set_index("group")
    assert d.loc[ALL, "show_score"]
    assert not d.loc["Finance", "show_score"]
    assert d.loc["Finance", "reason"] == "fewer than 5 respondents"
    assert not d.loc["Service", "show_score"]
    assert "subtraction" in d.loc["Service", "reason"]
    assert d.loc["Sales", "show_score"]


def test_a_role_cannot_reveal_what_a_department_hides():
    # 9 managers of whom 2 in Finance; departments hide Finance; roles show managers: the
    # attacker cannot mix the two partitions to isolate Finance managers
    resp = pd.DataFrame({"org": "acme",
                         "department": ["Sales"] * 10 + ["Service"] * 8 + ["Finance"] * 2,
                         "role": ["Manager"] * 4 + ["Staff"] * 6 + ["Manager"] * 3
                         + ["Staff"] * 5 + ["Manager"] * 2})
    assert attack(resp.assign(score=1.0), crossed=False, k=5) == []
    assert attack(resp.assign(score=1.0), crossed=True, k=5) == []


def test_a_small_organisation_hides_the_overall_total():
    resp = pd.DataFrame({"org": ["big"] * 20 + ["tiny"] * 3, "department": "X",
                         "role": "Staff"})
    d = disclosure(resp)
    top = d[d["org"] == ALL].iloc[0]
    assert not top["show_score"]
    assert not d[(d["org"] == "tiny")]["show_score"].any()


def test_disclosed_scores_never_carry_a_hidden_number():
    rng = np.random.default_rng(3)
    resp = pd.concat([random_org(rng, f"o{j}") for j in range(5)], ignore_index=True)
    out = disclosed_scores(resp, ["score"])
    assert out.loc[~out["show_score"], "score"].isna().all()
    shown = out[out["show_score"] & (out["dimension"] == "role")].iloc[0]
    truth = resp[(resp["org"] == shown["org"]) & (resp["role"] == shown["group"])]["score"]
    assert shown["score"] == pytest.approx(truth.mean())


def test_comments_shown_by_one_dimension_only_and_shuffled():
    resp = pd.DataFrame({"org": "acme", "department": ["Sales"] * 12 + ["IT"] * 11,
                         "role": ["Staff"] * 23,
                         "comment": [f"c{i:02d}" for i in range(22, -1, -1)]})
    c = disclosed_comments(resp, by="department")
    assert set(c["dimension"]) == {"all", "department"}
    sales = c[(c["dimension"] == "department") & (c["group"] == "Sales")]["comment"]
    assert list(sales) == sorted(sales)
    assert len(sales) == 12
    few = disclosed_comments(resp.iloc[:9], by="department")
    assert few.empty
    # the 10 managers all work in Sales (12): Sales minus the managers would name 2 people's
    # comments, so the departments' comments are withheld, the organisation's are not
    mixed = resp.assign(role=["Manager"] * 10 + ["Staff"] * 13)
    c = disclosed_comments(mixed, by="department")
    assert set(c["dimension"]) == {"all"}
