"""Helpers shared by the routers: the store session dependency and JSON-safe values."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from outsidein.store.db import session_scope


def store(request: Request) -> Iterator[Session]:
    """FastAPI dependency: a store session that commits when the route succeeds."""
    with session_scope(request.app.state.store_url) as session:
        yield session


#: Route parameter type: a store session committed before the response is sent.
Store = Annotated[Session, Depends(store, scope="function")]


def plain(value: Any) -> Any:
    """A JSON-safe copy of *value* (dataclasses via .to_dict, dates ISO, NaN -> None).

    >>> plain({"when": date(2026, 5, 31), "share": float("nan"), "ids": (1, 2)})
    {'when': '2026-05-31', 'share': None, 'ids': [1, 2]}
    """
    if hasattr(value, "to_dict"):
        value = value.to_dict()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        return value.item()
    return value
