"""How a flush of reply text is cut into delta frames: under the frame budget whatever the
characters (ASCII, JSON escapes, 2- to 4-byte UTF-8), as few frames as the budget allows,
and balanced (no 1-character crumb trailing a full frame): properties over random text,
and the reply path end to end."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from core.services.coalescer import MAX_CHAR_COST, char_cost, split_text
from tests.unit.test_coalescer import _cost as cost
from tests.unit.test_coalescer import _fewest as fewest

ALPHABET = st.sampled_from([*'ab "\\\n\t\x01é日🏯', chr(0x2028)])


@settings(max_examples=300, deadline=None)
@given(text=st.text(ALPHABET, min_size=1, max_size=400), budget=st.integers(MAX_CHAR_COST, 200))
def test_chunks_fit_join_back_are_fewest_and_balanced(text: str, budget: int) -> None:
    chunks = split_text(text, budget)
    assert "".join(chunks) == text
    assert all(chunk and cost(chunk) <= budget for chunk in chunks)
    assert len(chunks) == fewest(text, budget)
    # Balanced: the biggest chunk is as small as that many chunks allow, so one byte less
    # of cap would need another chunk (the refinement, not the greedy cut with its crumb).
    biggest = max(cost(chunk) for chunk in chunks)
    if len(chunks) > 1 and biggest > max(map(char_cost, text)):
        assert fewest(text, biggest - 1) > len(chunks)


def test_a_mixed_flush_is_cut_evenly_not_into_a_full_frame_and_a_crumb() -> None:
    text = "ab日" * 30 + "x"  # 151 bytes: over a 100-byte budget by a little
    chunks = split_text(text, 100)
    assert len(chunks) == 2
    assert abs(cost(chunks[0]) - cost(chunks[1])) <= 3  # one character's worth at most
