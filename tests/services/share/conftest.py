"""Stores for the share tests: a fresh SQLite file, or a fresh PostgreSQL schema (dropped after)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from outsidein.store.db import session_scope
from outsidein.store.models.auth import Department, Membership, User


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str:
    """The same test on SQLite and on PostgreSQL."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@dataclass(frozen=True)
class Org:
    """A company: advocate ada, sales (alice, bob, viewer vic), service (carol), finance (dave)."""

    url: str
    advocate: int
    alice: int
    bob: int
    carol: int
    dave: int
    vic: int


def make_user(session, email: str, role: str, departments: list[str]) -> int:
    user = User(email=email, name=email.split("@")[0].title(), password_hash="x", role=role)
    session.add(user)
    session.flush()
    for name in departments:
        dept = session.query(Department).filter_by(name=name).one_or_none()
        if dept is None:
            dept = Department(name=name)
            session.add(dept)
            session.flush()
        session.add(Membership(user_id=user.id, department_id=dept.id))
    session.flush()
    return user.id


def build_org(url: str) -> Org:
    with session_scope(url) as s:
        for name in ("sales", "service", "finance", "product", "marketing"):
            s.add(Department(name=name))
        s.flush()
        ids = {
            "advocate": make_user(s, "ada@acme.example", "advocate", []),
            "alice": make_user(s, "alice@acme.example", "member", ["sales"]),
            "bob": make_user(s, "bob@acme.example", "member", ["sales"]),
            "carol": make_user(s, "carol@acme.example", "member", ["service"]),
            "dave": make_user(s, "dave@acme.example", "member", ["finance"]),
            "vic": make_user(s, "vic@acme.example", "viewer", ["sales"]),
        }
    return Org(url=url, **ids)


@pytest.fixture
def org(store_url: str) -> Org:
    return build_org(store_url)


@pytest.fixture
def sqlite_org(sqlite_url: str) -> Org:
    return build_org(sqlite_url)


@pytest.fixture
def ws_org(workspace):
    """A real workspace (``outsidein init``) with the small company in its store."""
    return workspace, build_org(workspace.store_url)


@pytest.fixture
def pg_org(pg_url: str) -> Org:
    return build_org(pg_url)
