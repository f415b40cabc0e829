"""The Redis key layout of DESIGN §3.

The braces are Redis Cluster hash tags: only ``<sessionId>`` is hashed, so every key of one
session lands in one slot and the multi-key Lua scripts work on ElastiCache Serverless,
which always runs in cluster mode.

    {prefix}:{app}:lock:session:{<sessionId>}                      the lease (SET NX PX)
    {prefix}:{app}:lock:session:{<sessionId>}:stop                 stop flag, TTL ≤ the lease
    {prefix}:{app}:lock:session:{<sessionId>}:fence                newest lease fence (30 d)
    {prefix}:{app}:session:{<sessionId>}:history                   capped list of JSON items
    {prefix}:{app}:session:{<sessionId>}:previous_response_id      string, EX 1728000
    {prefix}:{app}:session:{<sessionId>}:fence                     newest fence that wrote
    {prefix}:{app}:limit:{<counter key>}                           a limit's bucket or total
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RedisKeys:
    prefix: str = "azuchi"  # AZUCHI_REDIS_PREFIX
    app: str = "ai-agent"  # AZUCHI_REDIS_APP

    def __post_init__(self) -> None:
        for name, part in (("AZUCHI_REDIS_PREFIX", self.prefix), ("AZUCHI_REDIS_APP", self.app)):
            # A brace here would become the hash tag and scatter a session over slots.
            if not part or any(c in part for c in "{}") or part != part.strip():
                raise ValueError(f"{name}={part!r} must be non-empty, without braces or spaces")

    @property
    def namespace(self) -> str:
        return f"{self.prefix}:{self.app}"

    def lock(self, session_id: str) -> str:
        return f"{self.namespace}:lock:session:{{{session_id}}}"

    def stop(self, session_id: str) -> str:
        return f"{self.lock(session_id)}:stop"

    def lock_fence(self, session_id: str) -> str:
        return f"{self.lock(session_id)}:fence"

    def memory_fence(self, session_id: str) -> str:
        return f"{self.namespace}:session:{{{session_id}}}:fence"

    def history(self, session_id: str) -> str:
        return f"{self.namespace}:session:{{{session_id}}}:history"

    def response_id(self, session_id: str) -> str:
        return f"{self.namespace}:session:{{{session_id}}}:previous_response_id"

    def limit(self, key: str) -> str:
        """A limits counter (adapters/redis/limits.py); one key per script, so any slot."""
        return f"{self.namespace}:limit:{{{key}}}"

    def pattern(self) -> str:
        """A SCAN MATCH pattern for every key of this namespace."""
        escaped = "".join(f"\\{c}" if c in "*?[]\\" else c for c in self.namespace)
        return f"{escaped}:*"
