"""The lock port on Redis: a lease key with an owner token, and a stop flag beside it.

Why every write checks the owner token, in one script (timeline, lease 30 s):

    t=0   A: SET lock tokenA NX PX 30000   → A holds the session, starts streaming
    t=5   A stalls (GC pause, a partition, a slow model call starving the heartbeat)
    t=30  the lease expires; Redis deletes the key
    t=31  B: SET lock tokenB NX PX 30000   → B holds the session, starts its reply
    t=33  A wakes and heartbeats, later releases.
          A plain PEXPIRE would lengthen B's lease on A's behalf, and A, told all is well,
          would keep streaming next to B. A plain DEL would delete B's lease, and a third
          replier C could start next to B. With "GET == tokenA" in the same script, A's
          extend answers LOST (A stops writing at once) and A's release deletes nothing.

The check and the write must be one Lua script: a GET then a DEL sent by the client
leaves a gap in which the lease can expire and change hands. Both keys of a session share
the hash tag ``{<sessionId>}``, so the scripts run on a cluster (ElastiCache Serverless).

Ghost leases (a slow Redis, lease 30 s):

    t=0   acquire sends SET tokenG NX; Redis is paused; the client times out at 1 s and
          the caller gets BackendUnavailable (the user: "agent unavailable, try again")
    t=2   Redis resumes and runs the queued SET: the session is locked by tokenG,
          which no caller ever received, so nobody extends or releases it
    t=5   the user tries again: SET NX fails, and nobody would answer until t=30.

So a token whose acquire or release failed is remembered (in this process) as a ghost:
no caller holds it. The next acquire for the session passes its ghosts, and the script
takes the lock over from a ghost as if the key were free.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict

from adapters.redis.client import Guard
from adapters.redis.keys import RedisKeys
from adapters.redis.scripts import KeyedScript, ScriptingClient
from core.domain import Lease
from core.ports import LeaseState

# KEYS[1] lock, KEYS[2] stop, KEYS[3] fence; ARGV[1] token, ARGV[2] lease ms, ARGV[3] the
# caller's wall clock in ms, ARGV[4] fence TTL s, ARGV[5..] ghost tokens → the new lease's
# fence (max(previous + 1, now): core.domain.next_fence), or 0 when taken. A new holder
# starts without the stop flag its predecessor left.
ACQUIRE = """
local won = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
if not won and #ARGV > 4 then
  local holder = redis.call('GET', KEYS[1])
  for i = 5, #ARGV do
    if holder == ARGV[i] then
      won = redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
      break
    end
  end
end
if won then
  redis.call('DEL', KEYS[2])
  local fence = math.max(tonumber(redis.call('GET', KEYS[3]) or '0') + 1, tonumber(ARGV[3]))
  redis.call('SET', KEYS[3], string.format('%d', fence), 'EX', ARGV[4])
  return fence
end
return 0
"""

# KEYS[1] lock, KEYS[2] stop; ARGV[1] token, ARGV[2] lease ms → 0 lost, 1 held, 2 stop.
# The stop flag's lease follows the lock's, so it never outlives the reply it stops.
EXTEND = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if redis.call('PEXPIRE', KEYS[2], ARGV[2]) == 1 then
  return 2
end
return 1
"""

# KEYS[1] lock, KEYS[2] stop; ARGV[1] token → 1 released, 0 not ours (or gone).
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1], KEYS[2])
  return 1
end
return 0
"""

# KEYS[1] lock, KEYS[2] stop → 1 flagged, 0 no holder. The flag expires with the lease.
REQUEST_STOP = """
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -2 then
  return 0
end
if ttl > 0 then
  redis.call('SET', KEYS[2], '1', 'PX', ttl)
else
  redis.call('SET', KEYS[2], '1')
end
return 1
"""

FENCE_TTL_S = 30 * 86_400  # past this idle time the wall clock alone keeps fences growing
# KEYS[1] lock → 1 held, 0 free (a script, so the lock needs no other client method).
IS_HELD = "return redis.call('EXISTS', KEYS[1])"

_STATES = {0: LeaseState.LOST, 1: LeaseState.HELD, 2: LeaseState.STOP_REQUESTED}
_GHOST_SESSIONS = 1024  # sessions whose ghosts this process remembers (oldest forgotten)
_GHOSTS_PER_SESSION = 4


class RedisSessionLock:
    """``SessionLock`` on Redis/Valkey: ``SET NX PX`` leases with owner-checked Lua
    extend and release, and a stop flag in the same hash slot. Raises
    ``BackendUnavailable`` when Redis cannot be reached within the deadline."""

    def __init__(
        self,
        client: ScriptingClient,
        keys: RedisKeys | None = None,
        *,
        deadline_s: float = 3.0,
    ) -> None:
        self._keys = keys or RedisKeys()
        self._guard = Guard(deadline_s)
        self._ghosts: OrderedDict[str, list[str]] = OrderedDict()
        # EVALSHA, and EVAL on the node that answers NOSCRIPT (scripts.py)
        self._acquire = KeyedScript(client, ACQUIRE)
        self._extend = KeyedScript(client, EXTEND)
        self._release = KeyedScript(client, RELEASE)
        self._request_stop = KeyedScript(client, REQUEST_STOP)
        self._is_held = KeyedScript(client, IS_HELD)

    def _now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def _pair(self, session_id: str) -> list[str]:
        return [self._keys.lock(session_id), self._keys.stop(session_id)]

    def _haunt(self, session_id: str, token: str) -> None:
        ghosts = self._ghosts.pop(session_id, [])
        self._ghosts[session_id] = [*ghosts, token][-_GHOSTS_PER_SESSION:]
        while len(self._ghosts) > _GHOST_SESSIONS:
            self._ghosts.popitem(last=False)

    async def acquire(self, session_id: str, lease_ms: int) -> Lease | None:
        token = secrets.token_hex(16)
        keys = [*self._pair(session_id), self._keys.lock_fence(session_id)]
        ghosts = self._ghosts.get(session_id, [])
        args: list[str | int] = [token, lease_ms, self._now_ms(), FENCE_TTL_S, *ghosts]
        try:
            fence = int(await self._guard("take the session lock", self._acquire(keys, args)))
        except BaseException:
            self._haunt(session_id, token)  # Redis may have run it: a lease nobody holds
            raise
        if fence == 0:
            return None
        self._ghosts.pop(session_id, None)  # the lease is ours now: no ghost can hold it
        return Lease(token, fence)

    async def is_held(self, session_id: str) -> bool:
        held = await self._guard(
            "read the session lock", self._is_held([self._keys.lock(session_id)], [])
        )
        return int(held) == 1

    async def extend(self, session_id: str, token: str, lease_ms: int) -> LeaseState:
        keys = self._pair(session_id)
        state = await self._guard("extend the session lock", self._extend(keys, [token, lease_ms]))
        return _STATES[int(state)]

    async def release(self, session_id: str, token: str) -> bool:
        keys = self._pair(session_id)
        try:
            done = await self._guard("release the session lock", self._release(keys, [token]))
        except BaseException:
            self._haunt(session_id, token)  # given up by its holder, maybe still in Redis
            raise
        return int(done) == 1

    async def request_stop(self, session_id: str) -> bool:
        keys = self._pair(session_id)
        flagged = await self._guard("flag the reply to stop", self._request_stop(keys, []))
        return int(flagged) == 1
