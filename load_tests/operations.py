"""The ``operations`` record of a run: what AWS would bill for, counted during it.

From the server when the target has ``/_azuchi/stats`` (the difference of two snapshots),
else estimated from what the clients saw. ``azuchi cost`` (``costmodel.inputs``) reads this
record; the function names and memory sizes in it are the deployment facts'
(``handlers.functions``), so the load generator and the cost model share those and nothing
of each other.
"""

from __future__ import annotations

from typing import Any

from handlers.functions import BY_NAME, BY_ROUTE, REPLY_WORKER
from load_tests.client import Traffic
from load_tests.stats import Metrics


def _counted(name: str, invocations: int, duration_ms: float) -> dict[str, Any]:
    row: dict[str, Any] = {"invocations": invocations, "duration_ms": round(duration_ms, 3)}
    if name in BY_NAME:
        row["memory_mb"] = BY_NAME[name].memory_mb
    return row


def client_operations(metrics: Metrics, traffic: Traffic, duration_s: float) -> dict[str, Any]:
    """Estimates from what the clients saw (a deployed target has no stats endpoint).
    Handler durations are client round trips, so upper bounds; a disconnect is billed the
    1 ms minimum since the client cannot see it run."""
    connect, disconnect = BY_ROUTE["$connect"].name, BY_ROUTE["$disconnect"].name
    put, get = BY_ROUTE["putMessage"].name, BY_ROUTE["getMessages"].name
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
            connect: _counted(connect, traffic.connects, traffic.connect_ms),
            disconnect: _counted(disconnect, traffic.connects, float(traffic.connects)),
            put: _counted(put, len(metrics.put_ms), sum(metrics.put_ms)),
            get: _counted(get, len(metrics.history_ms), sum(metrics.history_ms)),
            REPLY_WORKER.name: _counted(
                REPLY_WORKER.name, len(metrics.put_ms), sum(metrics.reply_ms)
            ),
        },
        "dynamodb": {"read_units": 0.0, "write_units": 0.0, "measured": False},
        "redis": {"commands": 0, "measured": False},
        "model": model_usage(metrics),
    }


def server_operations(
    before: dict[str, Any], after: dict[str, Any], metrics: Metrics
) -> dict[str, Any]:
    """The difference of two ``/_azuchi/stats`` snapshots, plus model usage from done frames.
    A function's memory size is the gateway's, else the deployment facts'."""
    apigw_b, apigw_a = before["apigw"], after["apigw"]
    functions: dict[str, Any] = {}
    for name, entry in after["lambda"].items():
        old = before["lambda"].get(name, {"invocations": 0, "duration_ms": 0.0})
        invocations = entry["invocations"] - old["invocations"]
        if invocations:
            row = _counted(name, invocations, entry["duration_ms"] - old["duration_ms"])
            if "memory_mb" in entry:
                row["memory_mb"] = entry["memory_mb"]
            functions[name] = row
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
            # the server's meter counts transactions at AWS's rate; say so, or the cost
            # model adds what DynamoDB Local's own figures would have left out
            "transactions_at_aws_rate": bool(dyn_a.get("transactions_at_aws_rate")),
        },
        "redis": after.get("redis", {"commands": 0, "measured": False}),
        "model": model_usage(metrics),
    }


def model_usage(metrics: Metrics) -> dict[str, Any]:
    return {"model_id": metrics.model_id, **metrics.usage}
