"""Latency figures of a run, the ``operations`` record, and the relay comparison.

Times are taken on the client when a frame is read, so they include the client's own
event-loop delay; the harness measures that delay too (``loop_lag_ms``) so a reader can
tell a slow server from a busy load generator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from load_tests.client import Traffic

MEMORY_MB = {"connect": 128, "disconnect": 128, "reply_worker": 512}
DEFAULT_MEMORY_MB = 256
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


def client_operations(metrics: Metrics, traffic: Traffic, duration_s: float) -> dict[str, Any]:
    """Estimates from what the clients saw (a deployed target has no stats endpoint).
    Handler durations are client round trips, so upper bounds; a disconnect is billed the
    1 ms minimum since the client cannot see it run."""
    gets = len(metrics.history_ms)

    def fn(name: str, invocations: int, duration_ms: float) -> dict[str, Any]:
        memory = MEMORY_MB.get(name, DEFAULT_MEMORY_MB)
        return {
            "invocations": invocations,
            "duration_ms": round(duration_ms, 3),
            "memory_mb": memory,
        }

    return {
        "source": "client",
        "duration_s": round(duration_s, 3),
        "turns": metrics.replies,
        "apigw": {
            "inbound_messages": traffic.units_out,
            "outbound_messages": traffic.units_in,
            "connection_minutes": round(traffic.connected_ms / 60_000, 6),
        },
        "lambda": {
            "connect": fn("connect", traffic.connects, traffic.connect_ms),
            "disconnect": fn("disconnect", traffic.connects, float(traffic.connects)),
            "put_message": fn("put_message", len(metrics.put_ms), sum(metrics.put_ms)),
            "get_messages": fn("get_messages", gets, sum(metrics.history_ms)),
            "reply_worker": fn("reply_worker", len(metrics.put_ms), sum(metrics.reply_ms)),
        },
        "dynamodb": {"read_units": 0.0, "write_units": 0.0, "measured": False},
        "redis": {"commands": 0, "measured": False},
        "model": model_usage(metrics),
    }


def server_operations(
    before: dict[str, Any], after: dict[str, Any], metrics: Metrics
) -> dict[str, Any]:
    """The difference of two ``/_azuchi/stats`` snapshots, plus model usage from done frames."""
    apigw_b, apigw_a = before["apigw"], after["apigw"]
    functions: dict[str, Any] = {}
    for name, entry in after["lambda"].items():
        old = before["lambda"].get(name, {"invocations": 0, "duration_ms": 0.0})
        invocations = entry["invocations"] - old["invocations"]
        if invocations:
            functions[name] = {
                "invocations": invocations,
                "duration_ms": round(entry["duration_ms"] - old["duration_ms"], 3),
                "memory_mb": entry.get("memory_mb", MEMORY_MB.get(name, DEFAULT_MEMORY_MB)),
            }
    dyn_b, dyn_a = before["dynamodb"], after["dynamodb"]
    return {
        "source": "server",
        "duration_s": round((after["at_ms"] - before["at_ms"]) / 1000, 3),
        "turns": metrics.replies,
        "apigw": {
            key: round(apigw_a[key] - apigw_b[key], 6)
            for key in ("inbound_messages", "outbound_messages", "connection_minutes")
        },
        "lambda": functions,
        "dynamodb": {
            "read_units": round(dyn_a["read_units"] - dyn_b["read_units"], 3),
            "write_units": round(dyn_a["write_units"] - dyn_b["write_units"], 3),
            "measured": bool(dyn_a.get("measured")),
        },
        "redis": after.get("redis", {"commands": 0, "measured": False}),
        "model": model_usage(metrics),
    }


def model_usage(metrics: Metrics) -> dict[str, Any]:
    return {"model_id": metrics.model_id, **metrics.usage}


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
