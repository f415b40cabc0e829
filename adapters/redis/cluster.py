"""The Redis Cluster client azuchi uses (imported only by a process that chose a cluster).

redis-py's cluster client learns the slot map on its first command. When many commands
are the first at once (a reply's lock, memory and heartbeat calls, or forty sessions at a
cold start), redis-py 8.1 lets them race that first discovery and some fail with
"Connection closed by server" or a closed socket, without any fault in Redis
(tests/redis/test_cluster.py and the contract suites' concurrent appends show it). So the
first discovery runs once, under a lock, before any command; a later one (after a node
failed) is redis-py's own.
"""

from __future__ import annotations

from typing import Any

import anyio
from redis.asyncio.cluster import RedisCluster


class DiscoveringCluster(RedisCluster):
    """``RedisCluster`` whose first slot-map discovery is not raced by concurrent commands."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._discovered = False
        self._discovering = anyio.Lock()

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        if not self._discovered:
            async with self._discovering:
                if not self._discovered:
                    await self.initialize()
                    self._discovered = True
        return await super().execute_command(*args, **kwargs)
