"""Reaching Redis: the client built from settings, and the edge where its errors stop.

``AZUCHI_REDIS_URL`` takes every form redis-py knows: ``redis://host:6379/0``,
``rediss://host:6379`` (TLS, as ElastiCache in-transit encryption needs; the system CA
bundle verifies the server, ``?ssl_ca_certs=/path/ca.pem`` names another), and
``redis[s]://user:password@host`` for AUTH / ACL users. Query parameters win over settings.

``AZUCHI_REDIS_CLUSTER`` picks the Redis Cluster client (``true``), the plain one
(``false``), or by the host (``auto``, the default): an ElastiCache Serverless endpoint
(``*.serverless.*.cache.amazonaws.com``) always runs in cluster mode. The cluster client
learns the slot map from the node it is given, follows MOVED and ASK redirects, and sends
every script to the node of its keys' slot; the keys' hash tags (``keys.py``) keep each
script's keys in one slot. A cluster has one database: a URL naming another is refused.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias, TypeVar
from urllib.parse import urlsplit, urlunsplit

import anyio
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import AuthenticationError, RedisClusterException, RedisError

from adapters.redis.keys import RedisKeys
from adapters.settings import EnvReader, SettingsError
from core.errors import BackendUnavailable

if TYPE_CHECKING:
    from redis.asyncio.cluster import RedisCluster

T = TypeVar("T")

DEFAULT_URL = "redis://127.0.0.1:6379/0"
CLUSTER_MODES = ("auto", "true", "false")

Client: TypeAlias = "aioredis.Redis | RedisCluster"


@dataclass(frozen=True, slots=True)
class RedisOptions:
    url: str = DEFAULT_URL  # AZUCHI_REDIS_URL
    keys: RedisKeys = field(default_factory=RedisKeys)  # AZUCHI_REDIS_PREFIX, AZUCHI_REDIS_APP
    timeout_s: float = 1.0  # AZUCHI_REDIS_TIMEOUT_MS: connect, each read, a pool wait
    max_connections: int = 256  # AZUCHI_REDIS_MAX_CONNECTIONS (per process)
    health_check_s: int = 30  # idle pooled connections are PINGed before reuse
    cluster: str = "auto"  # AZUCHI_REDIS_CLUSTER: auto | true | false

    @property
    def is_cluster(self) -> bool:
        if self.cluster != "auto":
            return self.cluster == "true"
        host = (urlsplit(self.url).hostname or "").lower()
        return host.endswith(".cache.amazonaws.com") and ".serverless." in host

    @property
    def deadline_s(self) -> float:
        """The most one adapter call may take, whatever redis-py does inside it
        (pool wait, connect and handshake, a NOSCRIPT reload each bounded by ``timeout_s``)."""
        return 3 * self.timeout_s

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RedisOptions:
        try:
            keys = RedisKeys(
                env.get("AZUCHI_REDIS_PREFIX") or "azuchi",
                env.get("AZUCHI_REDIS_APP") or "ai-agent",
            )
        except ValueError as exc:
            raise SettingsError(str(exc)) from None
        url = (env.get("AZUCHI_REDIS_URL") or DEFAULT_URL).strip()
        if urlsplit(url).scheme not in ("redis", "rediss", "unix"):
            raise SettingsError(
                f"AZUCHI_REDIS_URL={redact(url)!r} must start with redis://, rediss:// or unix://"
            )
        cluster = (env.get("AZUCHI_REDIS_CLUSTER") or "auto").strip().lower()
        if cluster not in CLUSTER_MODES:
            raise SettingsError(
                f"AZUCHI_REDIS_CLUSTER={cluster!r} must be one of {', '.join(CLUSTER_MODES)}"
            )
        return cls(
            url=url,
            keys=keys,
            cluster=cluster,
            timeout_s=EnvReader(env).int("AZUCHI_REDIS_TIMEOUT_MS", 1000, low=1) / 1000,
            max_connections=EnvReader(env).int("AZUCHI_REDIS_MAX_CONNECTIONS", 256, low=1),
        )


def connect(options: RedisOptions) -> Client:
    """A client with a bounded connection pool; no connection is opened until first use,
    so azuchi starts (and reports the agent unavailable) while Redis is down."""
    if options.is_cluster:
        return _connect_cluster(options)
    try:
        pool = aioredis.BlockingConnectionPool.from_url(
            options.url,
            max_connections=options.max_connections,
            timeout=options.timeout_s,  # waiting for a free pooled connection
            socket_timeout=options.timeout_s,
            socket_connect_timeout=options.timeout_s,
            health_check_interval=options.health_check_s,
            retry_on_timeout=False,
            # No retries: a lock command must not run twice, and a caller that gets
            # BackendUnavailable quickly can tell the user; dead pooled sockets are
            # replaced by the pool's own check before reuse.
            retry=Retry(NoBackoff(), 0),
            decode_responses=True,
        )
    except ValueError as exc:
        raise SettingsError(f"AZUCHI_REDIS_URL={redact(options.url)!r}: {exc}") from None
    return aioredis.Redis.from_pool(pool)


def _connect_cluster(options: RedisOptions) -> RedisCluster:
    """The cluster client: ``max_connections`` per node (over it a call fails at once,
    there is no pool wait), no retries (as above: a failed call reaches the caller as
    BackendUnavailable, and the next call relearns the slot map from a node that answers)."""
    if urlsplit(options.url).scheme == "unix":
        raise SettingsError(
            "AZUCHI_REDIS_CLUSTER: a Redis Cluster is reached over TCP, not unix://"
        )
    from adapters.redis.cluster import DiscoveringCluster  # only a cluster process imports it

    try:
        return DiscoveringCluster.from_url(
            options.url,
            max_connections=options.max_connections,
            socket_timeout=options.timeout_s,
            socket_connect_timeout=options.timeout_s,
            health_check_interval=options.health_check_s,
            retry=Retry(NoBackoff(), 0),
            decode_responses=True,
        )
    except (ValueError, RedisClusterException) as exc:
        raise SettingsError(
            f"AZUCHI_REDIS_URL={redact(options.url)!r} with AZUCHI_REDIS_CLUSTER: {exc}"
        ) from None


class Guard:
    """Bounds each call by a deadline and turns every redis failure into
    ``BackendUnavailable``: nothing above the adapters sees a redis exception."""

    def __init__(self, deadline_s: float) -> None:
        self._deadline_s = deadline_s

    async def __call__(self, what: str, call: Awaitable[T]) -> T:
        try:
            with anyio.fail_after(self._deadline_s):
                return await call
        except AuthenticationError as exc:
            raise BackendUnavailable(
                f"Redis refused our credentials while trying to {what}: {exc}"
            ) from exc
        except (RedisError, RedisClusterException) as exc:
            raise BackendUnavailable(
                f"Redis could not {what}: {exc or type(exc).__name__}"
            ) from exc
        except TimeoutError as exc:
            raise BackendUnavailable(
                f"Redis did not answer within {self._deadline_s:g} s while trying to {what}"
            ) from exc
        except OSError as exc:  # TLS and socket errors redis-py lets through
            raise BackendUnavailable(f"Redis could not {what}: {exc}") from exc


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))
