"""Latency figures of a run and the relay comparison (the ``operations`` record the cost
model reads is ``load_tests.operations``).

Times are taken on the client when a frame is read, so they include the client's own
event-loop delay; the harness measures that delay too (``loop_lag_ms``) so a reader can
tell a slow server from a busy load generator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

USAGE_KEYS = {
    "inputTokens": "input_tokens",
    "outputTokens": "output_tokens",
    "cacheReadTokens": "cache_read_tokens",
    "cacheWriteTokens": "cache_write_tokens",
}


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0–100), linear between closest ranks; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: list[float]) -> dict[str, Any]:
    def r(x: float | None) -> float | None:
        return None if x is None else round(x, 2)

    return {
        "count": len(values),
        "mean": r(sum(values) / len(values)) if values else None,
        "p50": r(percentile(values, 50)),
        "p95": r(percentile(values, 95)),
        "p99": r(percentile(values, 99)),
        "max": r(max(values)) if values else None,
    }


@dataclass(slots=True)
class Metrics:
    """Shared by every user of a run; appended to as frames arrive."""

    started: float = 0.0  # perf_counter at the start of the run
    ttfd_ms: list[float] = field(default_factory=list)
    ttfd_at_s: list[float] = field(default_factory=list)  # when each ttfd sample was taken
    gap_ms: list[float] = field(default_factory=list)
    reply_ms: list[float] = field(default_factory=list)
    frames_per_reply: list[float] = field(default_factory=list)
    tokens_per_reply: list[float] = field(default_factory=list)
    loop_lag_ms: list[float] = field(default_factory=list)
    replies: int = 0  # done frames, any status
    dropped: int = 0
    connected: int = 0  # sockets open now
    errors: int = 0
    put_ms: list[float] = field(default_factory=list)  # putMessage → its echo
    history_ms: list[float] = field(default_factory=list)  # getMessages → its history frame
    usage: dict[str, int] = field(default_factory=lambda: dict.fromkeys(USAGE_KEYS.values(), 0))
    model_id: str | None = None

    def add_usage(self, usage: dict[str, Any] | None) -> None:
        for wire, key in USAGE_KEYS.items():
            value = (usage or {}).get(wire)
            if isinstance(value, int):
                self.usage[key] += value


def coalescing(metrics: Metrics) -> dict[str, Any]:
    """Delta frames against one frame per output token, over replies watched to the end."""
    frames, tokens = sum(metrics.frames_per_reply), sum(metrics.tokens_per_reply)
    return {
        "delta_frames": int(frames),
        "output_tokens": int(tokens),
        "frames_per_token": round(frames / tokens, 4) if tokens else None,
    }


def compare(azuchi: dict[str, Any], relay: dict[str, Any]) -> dict[str, Any]:
    """azuchi against the bare relay under the same load. ``added_ms`` is azuchi's
    percentile minus the relay's: the latency azuchi's own work (store, lock, fan-out,
    gateway) adds to a delta the same model schedule would deliver anyway."""
    out: dict[str, Any] = {}
    for metric in ("ttfd_ms", "gap_ms", "reply_ms"):
        for q in ("p50", "p95", "p99"):
            a, b = azuchi[metric][q], relay[metric][q]
            if a is None or b is None:
                continue
            out[f"{metric}.{q}"] = {
                "azuchi": a,
                "relay": b,
                "ratio": round(a / b, 3) if b else None,
                "added_ms": round(a - b, 2),
            }
    return out
