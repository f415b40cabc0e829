"""The coalescing policy for a reply's text deltas, with no clock and no I/O of its own.

A model emits a token every ~20 ms; API Gateway bills every frame (in 32 KB units), so one
frame per token is the costliest way to stream. ``Coalescer`` decides when buffered text goes
out and how it is cut; ``core.services.coalesce.DeltaStream`` drives it with anyio's clock
(sans-I/O, as python-websockets splits its protocol from its event loops):

- the first delta of a reply is due at once (time to first text matters most);
- after that, at most one flush per ``window`` seconds, counted from the start of each flush,
  so time spent sending does not stretch the windows (a 300-token reply at 50 tokens/s with a
  250 ms window is 1 + 24 frames, not 300);
- what a flush sends is cut into the fewest chunks whose JSON-escaped UTF-8 size fits
  ``text_budget`` bytes, as even as they can be (so no 1-character crumb trails a full chunk);
- empty pushes are ignored; ``flush`` hands out everything when the reply ends.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from itertools import accumulate, pairwise

# Bytes each ASCII character takes inside a JSON string (core.protocol.encode uses
# ensure_ascii=False: only quotes, backslashes and control characters are escaped).
_ASCII_COST = tuple(len(json.dumps(chr(code), ensure_ascii=False)) - 2 for code in range(128))
MAX_CHAR_COST = max(_ASCII_COST)  # "\u0001": no chunk budget may be smaller than this


def char_cost(char: str) -> int:
    """Bytes ``char`` adds to a frame: its JSON escape, else its UTF-8 encoding."""
    code = ord(char)
    if code < 0x80:
        return _ASCII_COST[code]
    if code < 0x800:
        return 2
    return 3 if code < 0x10000 else 4


def _cuts(ends: list[int], cap: int) -> list[int] | None:
    """Greedy cut points (end indices) of chunks of at most ``cap`` bytes, given the running
    byte totals ``ends``; None when one character alone is over ``cap``."""
    cuts: list[int] = []
    start, base = 0, 0
    while start < len(ends):
        stop = bisect_right(ends, base + cap, lo=start)
        if stop == start:
            return None
        cuts.append(stop)
        start, base = stop, ends[stop - 1]
    return cuts


def split_text(text: str, budget: int) -> list[str]:
    """``text`` cut into the fewest chunks of at most ``budget`` bytes each (JSON-escaped
    UTF-8), balanced: the largest chunk is as small as that fewest number allows."""
    if budget < MAX_CHAR_COST:
        raise ValueError(f"a chunk budget of {budget} bytes cannot hold every character")
    if not text:
        return []
    if len(text) * MAX_CHAR_COST <= budget:
        return [text]  # fits whatever its characters are: the usual flush, counted no further
    ends = list(accumulate(map(char_cost, text)))
    greedy = _cuts(ends, budget)
    assert greedy is not None  # budget >= MAX_CHAR_COST holds any one character
    fewest = len(greedy)
    # Greedy cutting gives the fewest chunks but may leave a crumb at the end; the smallest
    # cap that still needs no more chunks spreads the text evenly over them.
    low, high = -(-ends[-1] // fewest), budget
    while low < high:
        middle = (low + high) // 2
        cuts = _cuts(ends, middle)
        if cuts is not None and len(cuts) <= fewest:
            high = middle
        else:
            low = middle + 1
    best = _cuts(ends, low)
    assert best is not None
    return [text[start:stop] for start, stop in pairwise([0, *best])]


class Coalescer:
    """When a reply's buffered text is due and in which chunks; the caller owns the clock.

    ``push(text, now)`` buffers text, ``next_deadline`` says when it is due (None when there
    is nothing to send), ``due(now)`` hands out the chunks to send now (none before the
    deadline) and ``flush()`` everything that is left, for closing. ``now`` is any monotonic
    clock in seconds; the caller's sends take no time as far as the windows are concerned.
    """

    def __init__(self, window: float, text_budget: int) -> None:
        if window < 0:
            raise ValueError(f"the coalescing window cannot be negative ({window} s)")
        if text_budget < MAX_CHAR_COST:
            raise ValueError(
                f"a delta frame's text budget of {text_budget} bytes cannot hold every "
                f"character (at least {MAX_CHAR_COST} bytes are needed)"
            )
        self._window = window
        self._budget = text_budget
        self._buffer: list[str] = []
        self._pending_since: float | None = None  # when the buffer last became non-empty
        self._last_flush: float | None = None  # when the last flush started

    @property
    def next_deadline(self) -> float | None:
        """The moment the buffered text is due; None while nothing is buffered."""
        if self._pending_since is None:
            return None
        if self._last_flush is None:
            return self._pending_since
        return max(self._pending_since, self._last_flush + self._window)

    @property
    def window_opens(self) -> float | None:
        """When the next flush may start (None before the first): text pushed before then
        waits for it."""
        return None if self._last_flush is None else self._last_flush + self._window

    def push(self, text: str, now: float) -> None:
        if not text:
            return
        if self._pending_since is None:
            self._pending_since = now
        self._buffer.append(text)

    def due(self, now: float) -> list[str]:
        """The chunks to send at ``now``: all that is buffered once its deadline has come,
        else nothing. A flush that returns chunks starts the next window at ``now``."""
        deadline = self.next_deadline
        if deadline is None or now < deadline:
            return []
        self._last_flush = now
        return self.flush()

    def flush(self) -> list[str]:
        """Everything buffered, whatever the window (the reply is ending)."""
        text = "".join(self._buffer)
        self._buffer.clear()
        self._pending_since = None
        return split_text(text, self._budget)
