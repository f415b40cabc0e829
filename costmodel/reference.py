"""The operations record ``azuchi cost`` prices when it is given no run (no ``--from``).

It is one real run's record, kept so that the command, docs/cost.md's figures and the tests
all start from the same numbers; the command labels its output as this reference run so it
is never mistaken for a measurement of the user's own deployment.
"""

from __future__ import annotations

from typing import Any

REFERENCE_SOURCE = "the built-in reference run"

# The operations record of one reference run,
#   azuchi load --sessions 20 --duration 60
# against azuchi serve on the lean profile's adapters (storage, lock and agent memory on
# DynamoDB Local 3.3 with AZUCHI_DYNAMODB_METER=true), the scripted model at 50 tokens/s with
# 300-token replies, 200 ms coalescing, on a shared 2-core machine (so handler times run
# above a warm Lambda's); one turn in five was a chat-and-drop that resumed with getMessages.
REFERENCE_RUN: dict[str, Any] = {
    "operations": {
        "source": "server",
        "duration_s": 64.659,
        "turns": 160,
        "apigw": {
            "inbound_messages": 307,
            "outbound_messages": 5048,
            "connection_minutes": 21.142767,
        },
        "lambda": {
            "connect": {"invocations": 51, "duration_ms": 11585.111, "memory_mb": 128},
            "disconnect": {"invocations": 51, "duration_ms": 763.631, "memory_mb": 128},
            "get_messages": {"invocations": 147, "duration_ms": 3032.616, "memory_mb": 256},
            "put_message": {"invocations": 160, "duration_ms": 30713.96, "memory_mb": 256},
            "reply_worker": {"invocations": 160, "duration_ms": 1082965.952, "memory_mb": 512},
        },
        "dynamodb": {"read_units": 2509.0, "write_units": 4255.0, "measured": True},
        "redis": {"commands": 0, "measured": False},
        "adapters": {"storage": "dynamodb", "lock": "dynamodb", "memory": "dynamodb"},
        "model": {
            "model_id": "azuchi-scripted",
            "input_tokens": 178880,
            "output_tokens": 48000,
            "cache_read_tokens": 0,
            "cache_write_tokens": 0,
        },
    }
}
