"""getMessages paging as a client walks it: every message once and in order, pages of the
size asked, ``next`` set exactly while more remain, and each history frame inside the
128 KB WebSocket limit however the message sizes mix (DESIGN §4)."""

from __future__ import annotations

from typing import Any

import pytest

from core.config import MAX_FRAME_BYTES
from core.domain import MessageDraft, MessageType, Role
from core.protocol import encoded_size
from tests.support import Client, running_app

pytestmark = pytest.mark.anyio


async def walk(client: Client, limit: int) -> list[dict[str, Any]]:
    """Every history frame a client gets paging from the start with ``limit``."""
    pages: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        frame: dict[str, Any] = (
            {"limit": limit} if cursor is None else {"after": cursor, "limit": limit}
        )
        await client.app.chat.get_messages(client.connection_id, frame)
        pages.append(client.of_type("history")[-1])
        cursor = pages[-1]["next"]
        if cursor is None:
            return pages
    raise AssertionError("paging never ended")


async def store(client: Client, texts: list[str]) -> None:
    for text in texts:
        draft = MessageDraft(client.session_id, Role.AGENT, MessageType.CONVERSATION, text)
        await client.app.store.append_message(draft)


async def test_pages_hold_the_size_asked_and_next_is_set_only_while_more_remain() -> None:
    async with running_app() as app:
        client = await Client.connect(app, "c1")
        await store(client, [f"message {i}" for i in range(7)])
        pages = await walk(client, limit=3)
    assert [len(p["messages"]) for p in pages] == [3, 3, 1]
    assert [p["next"] for p in pages[:-1]] == [p["messages"][-1]["createdAt"] for p in pages[:-1]]
    assert pages[-1]["next"] is None
    assert [m["message"] for p in pages for m in p["messages"]] == [
        f"message {i}" for i in range(7)
    ]


async def test_a_page_exactly_full_says_there_is_no_more() -> None:
    async with running_app() as app:
        client = await Client.connect(app, "c1")
        await store(client, [f"message {i}" for i in range(4)])
        pages = await walk(client, limit=4)
    assert [len(p["messages"]) for p in pages] == [4] and pages[0]["next"] is None


@pytest.mark.parametrize("kb", [[50, 50, 60, 1, 1, 50, 2, 70, 1, 100, 3, 30, 30, 30, 30]])
async def test_mixed_sizes_page_under_the_frame_limit_and_none_is_skipped(kb: list[int]) -> None:
    # A message that does not fit the rest of a page must start the next page, not be
    # stepped over while smaller ones after it fill the page (the cursor would pass it).
    texts = [
        f"{i:02d}" + ("x" if i % 2 else "語") * (k * 1024 // (1 if i % 2 else 3))
        for i, k in enumerate(kb)
    ]
    async with running_app() as app:
        client = await Client.connect(app, "c1")
        await store(client, texts)
        pages = await walk(client, limit=200)
    for page in pages:
        assert encoded_size(page) <= MAX_FRAME_BYTES
        assert page["messages"], "a page must carry at least one message"
    assert [m["message"] for p in pages for m in p["messages"]] == texts
    assert len(pages) > 3


async def test_two_messages_a_few_bytes_over_the_frame_limit_take_two_pages() -> None:
    from core.protocol import history_frame, message_frame

    async with running_app() as app:
        probe = await Client.connect(app, "probe")
        await store(probe, ["a" * 60_000, "b" * 60_000])
        fa, fb = (
            message_frame(m) for m in await app.store.messages_after(probe.session_id, None, 9)
        )
        whole = encoded_size(history_frame(probe.session_id, [fa, fb], None))
        over = MAX_FRAME_BYTES + 5 - whole  # B grown by this: the page would be 5 bytes over
        client = await Client.connect(app, "c1")
        await store(client, ["a" * 60_000, "b" * (60_000 + over)])
        pages = await walk(client, limit=200)
    assert [len(p["messages"]) for p in pages] == [1, 1]
    assert all(encoded_size(p) <= MAX_FRAME_BYTES for p in pages)
