"""People for the demo workspace: departments, a customer advocate, members and an admin.

Only ``outsidein demo`` calls this. Every demo account shares the password
:data:`DEMO_PASSWORD`, printed by ``make demo``: the demo workspace is a local
showcase and must never hold real data (real workspaces get their people with
``outsidein user add``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from outsidein.services.accounts import create_department, create_user
from outsidein.store.db import session_scope
from outsidein.store.models.auth import Department, User

if TYPE_CHECKING:
    from outsidein.workspace import Workspace

DEMO_PASSWORD = "outsidein-demo"
DEPARTMENTS = ("product", "marketing", "sales", "service", "operations", "finance")


def seed_demo_people(ws: Workspace) -> list[str]:
    """Create the demo departments and accounts that do not exist yet; return the e-mails."""
    people: list[tuple[str, str, str, tuple[str, ...]]] = [
        ("admin@demo.outsidein", "Ada Admin", "admin", ()),
        ("advocate@demo.outsidein", "Cora Advocate", "advocate", ()),
    ]
    people += [(f"{d}@demo.outsidein", f"{d.title()} Member", "member", (d,)) for d in DEPARTMENTS]
    with session_scope(ws.store_url) as session:
        have = set(session.scalars(select(Department.name)))
        for dep in DEPARTMENTS:
            if dep not in have:
                create_department(session, dep, actor="demo")
        emails = set(session.scalars(select(User.email)))
        for email, name, role, deps in people:
            if email not in emails:
                create_user(session, email=email, name=name, password=DEMO_PASSWORD, role=role,
                            departments=deps, actor="demo")
    return [p[0] for p in people]
