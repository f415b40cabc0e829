"""Two edges the sampled mutation run found unpinned: how deep a client frame may nest, and
which messages taking a turn back removes (regenerate keeps the prompt, an edit drops it,
nothing before the prompt ever goes)."""

from __future__ import annotations

import json

import pytest

from core.domain import Rewind, Role
from core.errors import FrameRejected
from core.protocol import MAX_FRAME_DEPTH, read_client_frame


def nested(levels: int) -> str:
    """A frame whose containers nest ``levels`` deep (the frame object itself is level 1)."""
    inner: object = "x"
    for _ in range(levels - 1):
        inner = [inner]
    return json.dumps({"action": "putMessage", "deep": inner})


def test_a_frame_nested_to_the_limit_is_read_one_level_more_is_refused() -> None:
    assert read_client_frame(nested(MAX_FRAME_DEPTH))["action"] == "putMessage"
    with pytest.raises(FrameRejected) as refused:
        read_client_frame(nested(MAX_FRAME_DEPTH + 1))
    assert refused.value.code == "FRAME_TOO_DEEP"


@pytest.mark.parametrize("drop_prompt", [False, True])
def test_a_rewind_takes_back_the_reply_never_what_came_before(drop_prompt: bool) -> None:
    rewind = Rewind("s1", prompt_at=100, fence=1, drop_prompt=drop_prompt)
    assert rewind.removes(100, Role.USER) is drop_prompt  # the prompt: only an edit drops it
    assert rewind.removes(150, Role.AGENT) and rewind.removes(160, Role.SYSTEM)
    assert not rewind.removes(170, Role.USER)  # a message another tab sent meanwhile
    assert not rewind.removes(50, Role.AGENT) and not rewind.removes(40, Role.USER)
