"""Who may use a session: an anonymous one is anyone's, a signed-in user's only theirs,
matched by the user id's value (ids come from tokens and stores, never the same object)."""

from __future__ import annotations

from core.domain import Session


def test_a_signed_in_users_session_is_theirs_by_value_and_no_one_elses() -> None:
    owned = Session("s1", 0, owner="".join(["user-", "alice"]))
    assert owned.usable_by("".join(["user-ali", "ce"]))  # equal, not the same object
    assert not owned.usable_by("user-bob")
    assert not owned.usable_by(None)
    anonymous = Session("s2", 0)
    assert anonymous.usable_by(None) and anonymous.usable_by("user-bob")
