"""Store models. Each capability's models live in their own module and are imported here
so that ``Base.metadata`` (used by Alembic) knows every table."""

from outsidein.store.models import (
    culture,  # noqa: F401,E402  (culture survey: waves, invitations, responses)
    lists,  # noqa: F401,E402  (who owns working a list)
    sense,  # noqa: F401,E402  (events, customer state, decisions)
    share,  # noqa: F401,E402  (insights, needs, alignment, outbox)
)
from outsidein.store.models.auth import ApiKey, AuditEvent, Department, Membership, User
from outsidein.store.models.base import Base

__all__ = ["ApiKey", "AuditEvent", "Base", "Department", "Membership", "User"]
