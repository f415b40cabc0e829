"""Who may use a session (docs/auth.md): an anonymous session is anyone's who holds its
id; a signed-in user's is only theirs. One rule, checked by every route."""

from __future__ import annotations

from dataclasses import dataclass

from core.domain import Session
from core.errors import SessionForbidden


@dataclass(frozen=True, slots=True)
class Caller:
    """Who calls the agent REST API, as its authorizer said (``user_id`` None: anonymous)."""

    user_id: str | None


def require_usable(session: Session, user_id: str | None) -> None:
    """Raises ``SessionForbidden`` unless ``user_id`` may use ``session``."""
    if not session.usable_by(user_id):
        raise SessionForbidden(
            "This chat belongs to another signed-in user; sign in as that user to open it."
        )
