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
