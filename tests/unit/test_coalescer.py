"""The coalescing policy on a fake clock: exact frame boundaries, exact chunk sizes."""

from __future__ import annotations

import pytest

from core.protocol import delta_frame, encoded_size
from core.services.coalescer import Coalescer, char_cost, split_text

WINDOW = 0.25  # seconds, the default AZUCHI_COALESCE_MS


def replay(coalescer: Coalescer, pushes: list[tuple[float, str]]) -> list[tuple[float, str]]:
    """What the driver sends on a fake clock: it wakes at every deadline and after every
    push (a delta arriving at a deadline's very instant joins that flush)."""
    sent: list[tuple[float, str]] = []
    for at, text in pushes:
        while (deadline := coalescer.next_deadline) is not None and deadline < at:
            sent += [(deadline, chunk) for chunk in coalescer.due(deadline)]
        coalescer.push(text, at)
        sent += [(at, chunk) for chunk in coalescer.due(at)]
    while (deadline := coalescer.next_deadline) is not None:
        sent += [(deadline, chunk) for chunk in coalescer.due(deadline)]
    return sent


def test_the_first_delta_is_due_at_once() -> None:
    coalescer = Coalescer(window=10.0, text_budget=1000)
    coalescer.push("Hel", now=5.0)
    assert coalescer.next_deadline == 5.0
    assert coalescer.due(5.0) == ["Hel"]
    assert coalescer.next_deadline is None


def test_300_tokens_at_50_per_second_make_1_plus_24_frames() -> None:
    tokens = [f"t{i} " for i in range(300)]
    sent = replay(Coalescer(WINDOW, 32_000), [(i / 50, token) for i, token in enumerate(tokens)])

    assert len(sent) == 1 + 24
    assert sent[0] == (0.0, "t0 ")
    # Frame k goes out at k windows and carries every token that arrived since frame k-1.
    for k in range(1, 25):
        arrived = [t for i, t in enumerate(tokens) if (k - 1) * 12.5 < i <= k * 12.5]
        assert sent[k] == (k * WINDOW, "".join(arrived))
    assert "".join(text for _, text in sent) == "".join(tokens)


def test_windows_are_counted_from_the_start_of_each_flush() -> None:
    coalescer = Coalescer(WINDOW, 1000)
    coalescer.push("a", 0.0)
    assert coalescer.due(0.0) == ["a"]  # sending "a" then takes 0.2 s: it must not count
    coalescer.push("b", 0.1)
    coalescer.push("c", 0.2)
    assert coalescer.next_deadline == 0.25
    assert coalescer.due(0.2499) == []
    # The driver wakes late (a slow send): the next window starts at this flush, not at 0.25.
    assert coalescer.due(0.375) == ["bc"]
    coalescer.push("d", 0.4)
    assert coalescer.next_deadline == 0.625


def test_text_after_a_quiet_spell_goes_out_at_once() -> None:
    sent = replay(Coalescer(WINDOW, 1000), [(0.0, "a"), (0.1, "b"), (2.0, "c"), (2.1, "d")])
    assert sent == [(0.0, "a"), (0.25, "b"), (2.0, "c"), (2.25, "d")]


def test_empty_pushes_are_ignored() -> None:
    coalescer = Coalescer(WINDOW, 1000)
    coalescer.push("", 0.0)
    assert coalescer.next_deadline is None
    assert coalescer.due(1.0) == []
    assert coalescer.flush() == []


def test_closing_flushes_everything_before_its_deadline() -> None:
    coalescer = Coalescer(window=10.0, text_budget=10)
    coalescer.push("a", 0.0)
    assert coalescer.due(0.0) == ["a"]
    coalescer.push("bcdefghijkl", 0.1)
    coalescer.push("mnop", 0.2)
    assert coalescer.due(0.3) == []  # the window is still open
    assert coalescer.flush() == ["bcdefghi", "jklmnop"]
    assert coalescer.next_deadline is None


# --- cutting under the frame budget ------------------------------------------------------

MIXED = ('say "hi"\\\n' + "日本語の城🏯" + "\x01\tascii text " * 3) * 40


def _cost(text: str) -> int:
    return encoded_size({"t": text}) - len('{"t":""}')


def test_char_cost_is_what_the_wire_encoding_spends() -> None:
    for char in set(MIXED) | {"\x7f", "é", "\u2028"}:
        assert char_cost(char) == _cost(char), repr(char)


@pytest.mark.parametrize("max_frame_bytes", [160, 257, 1024, 32 * 1024])
def test_mixed_text_is_cut_into_frames_under_the_budget_that_join_back(
    max_frame_bytes: int,
) -> None:
    text = MIXED * 20  # about 70 KB once encoded: more than two billing units
    envelope = encoded_size(delta_frame("s1", "r1", 10**9, "CONVERSATION", ""))
    chunks = split_text(text, max_frame_bytes - envelope)
    frames = [delta_frame("s1", "r1", seq, "CONVERSATION", c) for seq, c in enumerate(chunks)]

    assert "".join(chunks) == text
    assert all(encoded_size(frame) <= max_frame_bytes for frame in frames)
    assert len(chunks) == _fewest(text, max_frame_bytes - envelope)
    assert min(len(chunk) for chunk in chunks) > 1


def _fewest(text: str, budget: int) -> int:
    """Chunk count of the plainest cut: fill each chunk until the next character won't fit."""
    count, used = 1, 0
    for char in text:
        if used + char_cost(char) > budget:
            count, used = count + 1, 0
        used += char_cost(char)
    return count


def test_one_byte_over_the_budget_is_two_even_chunks_not_a_crumb() -> None:
    assert split_text("a" * 101, 100) == ["a" * 51, "a" * 50]
    assert split_text("日" * 34, 100) == ["日" * 17, "日" * 17]


def test_a_chunk_is_one_character_only_when_the_budget_holds_no_more() -> None:
    assert split_text("\x01\x01\x01", 6) == ["\x01", "\x01", "\x01"]  # 6 bytes each
    assert split_text("\x01\x01\x01", 12) == ["\x01\x01", "\x01"]


def test_a_budget_that_cannot_hold_a_character_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot hold every character"):
        Coalescer(WINDOW, text_budget=5)
