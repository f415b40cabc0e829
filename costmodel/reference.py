"""The operations record ``azuchi cost`` prices when it is given no run (no ``--from``).

It is one real run's record, kept so that the command, docs/cost.md's figures and the tests
all start from the same numbers; the command labels its output as this reference run so it
is never mistaken for a measurement of the user's own deployment.
"""

from __future__ import annotations

from typing import Any

REFERENCE_SOURCE = "the built-in reference run"

# The operations record of one reference run (2026-12-03),
#   azuchi load --sessions 20 --duration 60
# against azuchi serve on the lean profile's adapters (storage, lock and agent memory on
# DynamoDB Local 3.3 with AZUCHI_DYNAMODB_METER=true: transactions counted at AWS's rate,
# 2 units per item per KB), the scripted model at 50 tokens/s with 300-token replies,
# 250 ms coalescing, on a shared 2-core machine at load average 11.4 (so handler times run
# above a warm Lambda's); 29 of the 136 turns were a chat-and-drop resumed with getMessages.
REFERENCE_RUN: dict[str, Any] = {
    "operations": {
        "source": "server",
        "duration_s": 71.516,
        "turns": 136,
        "apigw": {
            "inbound_messages": 268,
            "outbound_messages": 3112,
            "connection_minutes": 23.4233,
        },
        "lambda": {
            "connect": {"invocations": 49, "duration_ms": 33369.678, "memory_mb": 128},
            "disconnect": {"invocations": 49, "duration_ms": 4474.176, "memory_mb": 128},
            "get_messages": {"invocations": 132, "duration_ms": 24400.893, "memory_mb": 256},
            "put_message": {"invocations": 136, "duration_ms": 85704.797, "memory_mb": 256},
            "reply_worker": {"invocations": 251, "duration_ms": 1116156.068, "memory_mb": 512},
        },
        "dynamodb": {
            "read_units": 2847.0,
            "write_units": 3506.0,
            "measured": True,
            "transactions_at_aws_rate": True,
        },
        "redis": {"commands": 0, "measured": False},
        "model": {
            "model_id": "azuchi-scripted",
            "input_tokens": 127408,
            "output_tokens": 40800,
            "cache_read_tokens": 0,
            "cache_write_tokens": 0,
        },
        # made before the memory read the messages table: it kept a copy (dynamodb-items)
        "adapters": {"storage": "dynamodb", "lock": "dynamodb", "memory": "dynamodb-items"},
    }
}
