"""The Redis adapters on a real Redis Cluster (three ``redis-server --cluster-enabled yes``
joined by ``redis-cli --cluster create``), as ElastiCache Serverless always is: one URL
reaches every shard, a slot that moves (ASK, then MOVED) is followed, a restarted node
costs only its own sessions, and TLS works end to end. The contract suites run on a cluster
too (``redis-cluster`` in contract_tests/backends.py)."""

from __future__ import annotations

import itertools
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

from adapters.redis.agent_memory import RedisAgentMemory
from adapters.redis.client import Client, RedisOptions, connect
from adapters.redis.lock import RedisSessionLock
from adapters.settings import SettingsError
from core.domain import HistoryItem
from core.errors import BackendUnavailable
from core.ports import LeaseState
from tests.redis.test_client import make_certs
from testsupport.backend import backend_missing
from testsupport.redis_cluster import ClusterTls, RedisClusterNodes
from testsupport.redis_server import RedisUnavailable, run_prefix

pytestmark = pytest.mark.anyio


def start_cluster(tls: ClusterTls | None = None) -> RedisClusterNodes:
    try:
        return RedisClusterNodes(tls=tls).start()
    except RedisUnavailable as exc:
        backend_missing(f"no Redis Cluster: {exc}")


@pytest.fixture(scope="module")
def cluster() -> Iterator[RedisClusterNodes]:
    nodes = start_cluster()
    yield nodes
    nodes.stop()


@pytest.fixture
def options(cluster: RedisClusterNodes) -> RedisOptions:
    return RedisOptions.from_env(
        {
            "AZUCHI_REDIS_URL": cluster.url,
            "AZUCHI_REDIS_CLUSTER": "true",
            "AZUCHI_REDIS_PREFIX": run_prefix(),
        }
    )


@pytest.fixture
async def client(options: RedisOptions) -> AsyncIterator[Client]:
    redis = connect(options)
    yield redis
    await redis.aclose()


def adapters(client: Client, options: RedisOptions) -> tuple[RedisSessionLock, RedisAgentMemory]:
    return (
        RedisSessionLock(client, options.keys, deadline_s=options.deadline_s),
        RedisAgentMemory(client, options.keys, max_items=3, deadline_s=options.deadline_s),
    )


def sessions_by_node(cluster: RedisClusterNodes, options: RedisOptions) -> dict[int, str]:
    """One session id per node, each one's keys served by that node."""
    found: dict[int, str] = {}
    for _ in itertools.count():
        sid = str(uuid.uuid4())
        found.setdefault(cluster.owner_of(options.keys.lock(sid)), sid)
        if len(found) == len(cluster.ports):
            return found
    raise AssertionError("unreachable")


async def node_get(port: int, key: str) -> str | None:
    """``key`` read from one node directly (a plain client: no redirects followed)."""
    node = aioredis.Redis(port=port, decode_responses=True)
    try:
        return await node.get(key)
    finally:
        await node.aclose()


def test_the_keys_of_a_session_share_one_slot_and_so_one_node(
    cluster: RedisClusterNodes, options: RedisOptions
) -> None:
    sid = str(uuid.uuid4())
    keys = options.keys
    names = [keys.lock(sid), keys.stop(sid), keys.lock_fence(sid)]
    names += [keys.history(sid), keys.response_id(sid), keys.memory_fence(sid)]
    assert {cluster.owner_of(name) for name in names} == {cluster.owner_of(sid)}


async def test_one_url_reaches_the_sessions_of_every_node(
    cluster: RedisClusterNodes, options: RedisOptions, client: Client
) -> None:
    lock, memory = adapters(client, options)
    for port, sid in sessions_by_node(cluster, options).items():
        lease = await lock.acquire(sid, 30_000)
        assert lease is not None
        await memory.append_history(sid, [HistoryItem("user", f"hi {port}")], fence=lease.fence)
        await memory.set_previous_response_id(sid, f"resp-{port}", fence=lease.fence)
        # the lease lives on the node that owns the session's slot, and on no other
        assert await node_get(port, options.keys.lock(sid)) == lease
        assert await memory.recent_history(sid) == [HistoryItem("user", f"hi {port}")]
        assert await memory.get_previous_response_id(sid) == f"resp-{port}"
        assert await lock.release(sid, lease) is True


def _node_id(cluster: RedisClusterNodes, port: int) -> str:
    return cluster.cli(port, "cluster", "myid").strip()


async def test_a_session_whose_slot_moves_keeps_its_lock_and_memory(
    cluster: RedisClusterNodes, options: RedisOptions, client: Client
) -> None:
    """The client learned the slot map before the slot moved: mid-migration the old node
    answers ASK, afterwards MOVED; the adapters follow both."""
    lock, memory = adapters(client, options)
    sid = str(uuid.uuid4())
    lease = await lock.acquire(sid, 30_000)
    assert lease is not None
    await memory.append_history(sid, [HistoryItem("user", "before the move")], fence=lease.fence)

    source = cluster.owner_of(sid)
    target = next(port for port in cluster.ports if port != source)
    slot = cluster.cli(source, "cluster", "keyslot", sid).strip()
    source_id, target_id = _node_id(cluster, source), _node_id(cluster, target)
    assert cluster.cli(target, "cluster", "setslot", slot, "importing", source_id).strip() == "OK"
    assert cluster.cli(source, "cluster", "setslot", slot, "migrating", target_id).strip() == "OK"
    names = cluster.cli(source, "cluster", "getkeysinslot", slot, "100").split()
    assert options.keys.lock(sid) in names
    moved = cluster.cli(
        source, "migrate", "127.0.0.1", str(target), "", "0", "5000", "keys", *names
    )
    assert moved.strip() == "OK"

    # mid-migration: every key is on the target, the client still asks the source (ASK)
    assert await memory.recent_history(sid) == [HistoryItem("user", "before the move")]
    assert await lock.is_held(sid) is True
    # a script over keys of which some moved and some do not exist (the stop flag) is
    # TRYAGAIN until the move ends: redis-py retries it, then the caller hears of it
    with pytest.raises(BackendUnavailable):
        await lock.extend(sid, lease, 30_000)

    for port in cluster.ports:
        cluster.cli(port, "cluster", "setslot", slot, "node", target_id)
    cluster.wait_ok()
    # the slot is the target's now (MOVED from the source)
    assert await lock.extend(sid, lease, 30_000) is LeaseState.HELD
    await memory.append_history(sid, [HistoryItem("assistant", "after")], fence=lease.fence)
    assert [item.content for item in await memory.recent_history(sid)] == [
        "before the move",
        "after",
    ]
    assert await lock.release(sid, lease) is True
    assert await lock.is_held(sid) is False
    assert cluster.owner_of(sid) == target


async def test_a_restarted_node_costs_only_its_own_sessions(options: RedisOptions) -> None:
    """One of three nodes stops: its sessions get BackendUnavailable at once and the others
    go on; back (empty, no persistence), a holder learns it lost its lease and the session
    can be locked again, from the same client."""
    own = start_cluster()
    try:
        options = RedisOptions.from_env(
            {"AZUCHI_REDIS_URL": own.url, "AZUCHI_REDIS_CLUSTER": "true"}
        )
        client = connect(options)
        lock, memory = adapters(client, options)
        by_node = sessions_by_node(own, options)
        leases = {}
        for sid in by_node.values():
            lease = await lock.acquire(sid, 30_000)
            assert lease is not None
            leases[sid] = lease
        down = own.ports[1]  # not the node the URL names
        victim = by_node[down]
        own.server(down).stop()

        with pytest.raises(BackendUnavailable):
            await lock.extend(victim, leases[victim], 30_000)
        with pytest.raises(BackendUnavailable):
            await memory.append_history(victim, [HistoryItem("user", "lost?")])
        for port, sid in by_node.items():
            if port != down:
                assert await lock.extend(sid, leases[sid], 30_000) is LeaseState.HELD

        own.server(down).start()
        own.wait_ok()
        assert await lock.extend(victim, leases[victim], 30_000) is LeaseState.LOST
        again = await lock.acquire(victim, 30_000)
        assert again is not None and again.fence > leases[victim].fence  # fences still grow
        await memory.append_history(victim, [HistoryItem("user", "back")], fence=again.fence)
        assert await memory.recent_history(victim) == [HistoryItem("user", "back")]
        await client.aclose()
    finally:
        own.stop()


async def test_a_tls_cluster(tmp_path: Path) -> None:
    certs = make_certs(tmp_path)
    tls = start_cluster(ClusterTls(cert=certs["srv"], key=certs["srv-key"], ca=certs["ca"]))
    try:
        options = RedisOptions.from_env(
            {"AZUCHI_REDIS_URL": tls.url, "AZUCHI_REDIS_CLUSTER": "true"}
        )
        assert tls.url.startswith("rediss://")
        client = connect(options)
        lock, memory = adapters(client, options)
        for sid in sessions_by_node(tls, options).values():
            lease = await lock.acquire(sid, 30_000)
            assert lease is not None
            await memory.append_history(sid, [HistoryItem("user", "over TLS")], fence=lease.fence)
            assert await memory.recent_history(sid) == [HistoryItem("user", "over TLS")]
        await client.aclose()
        plain = RedisOptions.from_env(
            {"AZUCHI_REDIS_URL": tls.url.replace("rediss://", "redis://").split("?")[0],
             "AZUCHI_REDIS_CLUSTER": "true"}
        )  # fmt: skip
        client = connect(plain)
        with pytest.raises(BackendUnavailable):  # a TLS node does not speak plain text
            await RedisSessionLock(client, plain.keys, deadline_s=plain.deadline_s).acquire(
                "x", 1_000
            )
        await client.aclose()
    finally:
        tls.stop()


# --- choosing the cluster client (no server needed: nothing connects before first use) ----


@pytest.mark.parametrize(
    ("url", "setting", "cluster"),
    [
        ("rediss://azuchi-x1y2z3.serverless.use1.cache.amazonaws.com:6379", None, True),
        ("rediss://azuchi-x1y2z3.serverless.use1.cache.amazonaws.com:6379", "false", False),
        ("rediss://master.azuchi.x1y2z3.use1.cache.amazonaws.com:6379", None, False),
        ("redis://127.0.0.1:7000", "true", True),
        ("redis://127.0.0.1:6379/0", None, False),
    ],
)
async def test_the_cluster_client_is_chosen_by_the_setting_or_the_serverless_host(
    url: str, setting: str | None, cluster: bool
) -> None:
    env = {"AZUCHI_REDIS_URL": url} | ({"AZUCHI_REDIS_CLUSTER": setting} if setting else {})
    options = RedisOptions.from_env(env)
    client = connect(options)
    try:
        assert options.is_cluster is cluster
        assert isinstance(client, RedisCluster) is cluster
    finally:
        await client.aclose()


def test_a_cluster_url_naming_a_database_is_refused() -> None:
    options = RedisOptions.from_env(
        {"AZUCHI_REDIS_URL": "redis://127.0.0.1:7000/2", "AZUCHI_REDIS_CLUSTER": "true"}
    )
    with pytest.raises(SettingsError, match=r"127\.0\.0\.1:7000/2.*db"):
        connect(options)


def test_an_unknown_cluster_setting_is_refused() -> None:
    with pytest.raises(SettingsError, match=r"AZUCHI_REDIS_CLUSTER='yes'.*auto, true, false"):
        RedisOptions.from_env({"AZUCHI_REDIS_CLUSTER": "yes"})


def test_under_ci_a_cluster_that_cannot_start_fails_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AZUCHI_REDIS_SERVER", shutil.which("redis-server") or "redis-server")
    monkeypatch.setenv("PATH", "/nonexistent")  # no redis-cli to join the nodes
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"no Redis Cluster: .*redis-cli"):
        start_cluster()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="redis-cli"):
        start_cluster()
