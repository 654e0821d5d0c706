"""Who may do what: the roles people have and the scopes API keys carry.

The vocabulary of access, shared by the store (a user's role), the account
services, the web app's checks and the CLI's help; no I/O, nothing to import
but the standard library, so ``outsidein --help`` can list the scopes.

>>> "advocate" in ROLES, "insights:write" in ROLE_SCOPES["advocate"]
(True, True)
>>> ROLE_SCOPES["admin"] == frozenset(SCOPES)
True
"""

from __future__ import annotations

__all__ = ["ROLES", "ROLE_SCOPES", "SCOPES"]

#: Roles, most powerful first.
ROLES: tuple[str, ...] = ("admin", "advocate", "member", "viewer")

#: Every scope an API key can carry.  ``admin`` implies all others.
SCOPES: tuple[str, ...] = (
    "insights:read", "insights:write", "acks:write", "needs:read", "needs:write",
    "answers:read", "value:read", "events:write", "admin",
)

#: The scopes a logged-in person has through their role (used when a browser calls the API).
ROLE_SCOPES: dict[str, frozenset[str]] = {
    "admin": frozenset(SCOPES),
    "advocate": frozenset({"insights:read", "insights:write", "acks:write", "needs:read",
                           "needs:write", "answers:read", "value:read"}),
    "member": frozenset({"insights:read", "acks:write", "needs:read", "answers:read",
                         "value:read"}),
    "viewer": frozenset({"insights:read", "needs:read", "answers:read", "value:read"}),
}
