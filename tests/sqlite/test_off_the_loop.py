"""Every call of the sqlite adapters runs in a worker thread: while SQLite is in the middle
of a query, the event loop keeps serving everything else (other sessions' deltas, pings).

Each call is held inside SQLite (a progress handler, which SQLite calls in the thread that
runs the query) until a ticker task on the loop has run. If the query ran on the loop, the
ticker could not run and the hold would give up: an ordering proof, not a timing margin."""

from __future__ import annotations

import inspect
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest

from adapters.sqlite.agent_memory import SqliteAgentMemory
from adapters.sqlite.database import SqliteDatabase
from adapters.sqlite.lock import SqliteSessionLock
from adapters.sqlite.store import SqliteChatStore
from core.domain import (
    Connection,
    HistoryItem,
    MessageDraft,
    ReplyCheckpoint,
    Rewind,
    Role,
    Session,
)

pytestmark = pytest.mark.anyio
GIVE_UP_S = 30.0  # only a failing run waits this long

SID, CID = "0b9a5e8e-6a43-4c1e-9d8e-3f0c1b2a4d5e", "conn-1"


def _calls(
    store: SqliteChatStore, lock: SqliteSessionLock, memory: SqliteAgentMemory
) -> dict[str, Callable[[], Awaitable[object]]]:
    draft = MessageDraft(SID, Role.USER, "CONVERSATION", "hello", client_message_id="m1")
    token: list[str] = []
    fence: list[int] = []

    async def acquire() -> object:
        lease = await lock.acquire(SID, 30_000)
        assert lease is not None
        token.append(str(lease))
        fence.append(lease.fence)
        return lease

    def reply(text: str) -> MessageDraft:
        return MessageDraft(
            SID, Role.AGENT, "CONVERSATION", text, reply_id="r1", reply_to=5, fence=fence[-1]
        )

    return {
        "SqliteChatStore.create_session": lambda: store.create_session(Session(SID, 1)),
        "SqliteChatStore.get_session": lambda: store.get_session(SID),
        "SqliteChatStore.user_sessions": lambda: store.user_sessions("alice", 10),
        "SqliteChatStore.set_session_title": lambda: store.set_session_title(SID, "t"),
        "SqliteChatStore.record_user_message": lambda: store.record_user_message(SID, 5),
        "SqliteChatStore.record_answered": lambda: store.record_answered(SID, 5),
        "SqliteChatStore.put_connection": lambda: store.put_connection(Connection(CID, SID, 1_000)),
        "SqliteChatStore.get_connection": lambda: store.get_connection(CID),
        "SqliteChatStore.session_connections": lambda: store.session_connections(SID),
        "SqliteChatStore.append_message": lambda: store.append_message(draft),
        "SqliteChatStore.last_messages": lambda: store.last_messages(SID, 10),
        "SqliteChatStore.messages_after": lambda: store.messages_after(SID, None, 10),
        "SqliteChatStore.delete_connection": lambda: store.delete_connection(CID),
        "SqliteSessionLock.acquire": acquire,
        "SqliteSessionLock.extend": lambda: lock.extend(SID, token[-1], 30_000),
        "SqliteSessionLock.is_held": lambda: lock.is_held(SID),
        "SqliteChatStore.start_reply": lambda: store.start_reply(SID, "r1", 5, fence[-1]),
        "SqliteChatStore.checkpoint_reply": lambda: store.checkpoint_reply(
            ReplyCheckpoint(SID, "r1", 5, fence[-1], "so far")
        ),
        "SqliteChatStore.take_checkpoint": lambda: store.take_checkpoint(SID, fence[-1]),
        "SqliteChatStore.finish_reply": lambda: store.finish_reply(reply("done")),
        "SqliteChatStore.pending_sessions": lambda: store.pending_sessions(10),
        "SqliteSessionLock.request_stop": lambda: lock.request_stop(SID),
        "SqliteSessionLock.release": lambda: lock.release(SID, token[-1]),
        "SqliteAgentMemory.append_history": lambda: memory.append_history(
            SID, [HistoryItem("user", "hello")]
        ),
        "SqliteAgentMemory.recent_history": lambda: memory.recent_history(SID),
        "SqliteAgentMemory.set_previous_response_id": lambda: memory.set_previous_response_id(
            SID, "resp-1"
        ),
        "SqliteAgentMemory.get_previous_response_id": lambda: memory.get_previous_response_id(SID),
        "SqliteAgentMemory.forget": lambda: memory.forget(SID, fence[-1]),
        "SqliteChatStore.rewind": lambda: store.rewind(Rewind(SID, 5, fence[-1])),
        "SqliteChatStore.delete_session": lambda: store.delete_session(SID),
    }


def _public_coroutines(*classes: type) -> set[str]:
    return {
        f"{cls.__name__}.{name}"
        for cls in classes
        for name, member in vars(cls).items()
        if not name.startswith("_") and inspect.iscoroutinefunction(member)
    }


async def _held_while_the_loop_ticks(db: SqliteDatabase, call: Callable[[], Awaitable[object]]):
    in_query = threading.Event()
    ticked = threading.Event()
    threads: list[int] = []
    waits: list[bool] = []

    def hold() -> int:
        if not in_query.is_set():
            threads.append(threading.get_ident())
            in_query.set()
            waits.append(ticked.wait(GIVE_UP_S))
        return 0  # go on with the query

    async def ticker() -> None:
        while not in_query.is_set():
            await anyio.lowlevel.checkpoint()  # the loop turns; the query has not begun yet
        ticked.set()  # the loop ran while the query was held inside SQLite

    db._conn.set_progress_handler(hold, 1)
    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(ticker)
            await call()
    finally:
        db._conn.set_progress_handler(None, 1)
    return threads, waits


async def test_every_sqlite_call_leaves_the_event_loop_free(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "azuchi.db")
    store, lock, memory = SqliteChatStore(db), SqliteSessionLock(db), SqliteAgentMemory(db)
    calls = _calls(store, lock, memory)
    missing = _public_coroutines(SqliteChatStore, SqliteSessionLock, SqliteAgentMemory) - set(calls)
    assert not missing, f"add these to the calls proven off the loop: {sorted(missing)}"
    loop_thread = threading.get_ident()
    try:
        for name, call in calls.items():
            threads, waits = await _held_while_the_loop_ticks(db, call)
            assert threads, f"{name} never reached SQLite"
            assert loop_thread not in threads, f"{name} ran SQLite on the event loop"
            assert waits == [True], f"{name} blocked the event loop while SQLite ran"
    finally:
        await db.aclose()
