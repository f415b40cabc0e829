"""The storage port's list of a signed-in user's sessions (``ChatStore.user_sessions``,
listSessions), for every registered adapter: owner round-trips, newest first, paged by a
cursor without a loss or a repeat, only the user's own, gone once deleted."""

from __future__ import annotations

import time
from contextlib import AsyncExitStack

import pytest

from contract_tests.backends import AdapterUnderTest
from contract_tests.providers import new_id
from core.domain import Session, SessionCursor
from core.ports import ChatStore

pytestmark = pytest.mark.anyio


@pytest.fixture
async def store(storage_adapter: AdapterUnderTest, exit_stack: AsyncExitStack) -> ChatStore:
    return await exit_stack.enter_async_context(storage_adapter.open())


def now_ms() -> int:
    return time.time_ns() // 1_000_000


async def make(
    store: ChatStore, owner: str | None, created_at: int, title: str | None = None
) -> Session:
    session = Session(new_id(), created_at=created_at, title=title, owner=owner)
    await store.create_session(session)
    return session


async def pages(store: ChatStore, user: str, limit: int) -> list[list[str]]:
    """Every page of ``user``'s list, as the service reads it."""
    found: list[list[str]] = []
    cursor: SessionCursor | None = None
    while True:
        page = await store.user_sessions(user, limit, cursor)
        if not page:
            return found
        found.append([s.session_id for s in page])
        cursor = SessionCursor(page[-1].created_at, page[-1].session_id)


async def test_the_owner_is_stored_and_read_back(store: ChatStore) -> None:
    mine = await make(store, "user-" + new_id(), now_ms(), "Kyoto 京都")
    anonymous = await make(store, None, now_ms())
    assert await store.get_session(mine.session_id) == mine
    stored = await store.get_session(anonymous.session_id)
    assert stored is not None and stored.owner is None


async def test_a_users_sessions_come_newest_first_with_titles(store: ChatStore) -> None:
    user, other = "user-" + new_id(), "user-" + new_id()
    base = now_ms()
    made = [await make(store, user, base + i * 10, f"chat {i}") for i in range(5)]
    await make(store, other, base + 5, "not mine")
    await make(store, None, base + 7, "anonymous")
    listed = await store.user_sessions(user, 10)
    assert [s.session_id for s in listed] == [s.session_id for s in reversed(made)]
    assert [s.title for s in listed] == [f"chat {i}" for i in range(4, -1, -1)]
    assert all(s.owner == user for s in listed)
    assert await store.user_sessions("user-" + new_id(), 10) == []


async def test_paging_visits_every_session_once_in_order(store: ChatStore) -> None:
    """Seven sessions, three of them in one millisecond, read three at a time: every one
    exactly once, and the pages in descending creation time."""
    user = "user-" + new_id()
    base = now_ms()
    times = [base, base + 1, base + 2, base + 2, base + 2, base + 3, base + 4]
    made = {(await make(store, user, t)).session_id: t for t in times}
    found = await pages(store, user, 3)
    assert [len(p) for p in found] == [3, 3, 1]
    flat = [sid for page in found for sid in page]
    assert sorted(flat) == sorted(made)
    assert [made[sid] for sid in flat] == sorted(times, reverse=True)


async def test_a_title_set_later_is_listed(store: ChatStore) -> None:
    user = "user-" + new_id()
    session = await make(store, user, now_ms())
    await store.set_session_title(session.session_id, "Picnic plans")
    (listed,) = await store.user_sessions(user, 5)
    assert listed.title == "Picnic plans"


async def test_a_deleted_session_leaves_the_list(store: ChatStore) -> None:
    user = "user-" + new_id()
    kept, gone = await make(store, user, now_ms()), await make(store, user, now_ms() + 1)
    await store.delete_session(gone.session_id)
    assert [s.session_id for s in await store.user_sessions(user, 5)] == [kept.session_id]
