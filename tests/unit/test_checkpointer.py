"""A streaming reply's checkpoints when the store says no: a newer fence stops the reply at
once (it must write nothing more), a store that is down is shrugged off (the reply goes on;
its final message is stored as usual) and the text is tried again next time."""

from __future__ import annotations

import anyio
import pytest

from core.domain import ReplyCheckpoint
from core.errors import BackendUnavailable, FenceRejected
from core.services.checkpoint import Checkpointer

pytestmark = pytest.mark.anyio

TEMPLATE = ReplyCheckpoint("s1", "r1", reply_to=10, fence=3)


class Store:
    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.saved: list[ReplyCheckpoint] = []

    async def checkpoint_reply(self, checkpoint: ReplyCheckpoint) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.saved.append(checkpoint)


async def test_a_newer_fence_cancels_the_reply_and_marks_it_fenced() -> None:
    store = Store(FenceRejected("a newer holder wrote"))
    text = "Hello"
    with anyio.CancelScope() as generation:
        checkpointer = Checkpointer(store, TEMPLATE, lambda: text, 5.0, 1024, generation)  # type: ignore[arg-type]
        await checkpointer.save()
    assert generation.cancel_called and checkpointer.fenced
    assert store.saved == [] and checkpointer.writes == 0


async def test_a_store_down_is_shrugged_off_and_the_text_saved_next_time() -> None:
    store = Store(BackendUnavailable("store down"))
    text = "Hello"
    with anyio.CancelScope() as generation:
        checkpointer = Checkpointer(store, TEMPLATE, lambda: text, 5.0, 1024, generation)  # type: ignore[arg-type]
        await checkpointer.save()
        assert not generation.cancel_called and not checkpointer.fenced
        await checkpointer.save()  # the same text: not stored yet, so tried again
        await checkpointer.save()  # stored now: nothing to write
    assert [c.text for c in store.saved] == ["Hello"] and checkpointer.writes == 1
    assert (store.saved[0].reply_id, store.saved[0].fence) == ("r1", 3)


async def test_enough_new_text_wakes_a_checkpoint_before_its_interval() -> None:
    store = Store()
    parts: list[str] = []
    with anyio.CancelScope() as generation:
        checkpointer = Checkpointer(store, TEMPLATE, lambda: "".join(parts), 3600.0, 8, generation)  # type: ignore[arg-type]
        async with anyio.create_task_group() as tg:
            tg.start_soon(checkpointer.run)
            for part in ("日本", "語!"):  # 6 + 4 bytes: past 8 on the second
                parts.append(part)
                checkpointer.on_text(part)
            with anyio.fail_after(5):  # an hour's interval: only the bytes can wake it
                while not store.saved:
                    await anyio.sleep(0.005)
            tg.cancel_scope.cancel()
    assert [c.text for c in store.saved] == ["日本語!"]
