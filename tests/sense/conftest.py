"""Fixtures shared by the sense tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from oi_testkit import Webhook


@pytest.fixture
def receiver() -> Iterator[Webhook]:
    """A webhook receiver on 127.0.0.1 (:class:`oi_testkit.Webhook`)."""
    r = Webhook()
    yield r
    r.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest) -> str:
    """The store's URL: SQLite, and PostgreSQL when ``OUTSIDEIN_TEST_POSTGRES_URL`` is set."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
