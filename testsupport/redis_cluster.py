"""A throw-away Redis Cluster: three or more ``redis-server --cluster-enabled yes`` on free
ports, joined by ``redis-cli --cluster create`` (masters only, the 16384 slots split between
them), as ElastiCache Serverless always is.

Each node keeps its ``nodes.conf`` in the cluster's own directory, so ``restart`` brings a
node back with its slots (and, without persistence, none of its keys), the way a replaced
cache node comes back. Nothing here imports pytest; ``RedisUnavailable`` says why a cluster
cannot start, and fixtures turn it into ``backend_missing`` (a failure under CI=true).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from testsupport.ports import free_port
from testsupport.redis_server import RedisServer, RedisUnavailable, redis_server_binary

NODES = 3
JOIN_TIMEOUT_S = 30.0
NODE_TIMEOUT_MS = 1000  # how soon the others call a stopped node failed


def redis_cli_binary() -> str:
    path = shutil.which("redis-cli")
    if path is None:
        raise RedisUnavailable(
            "there is no redis-cli on PATH to join a cluster (apt-get install redis-tools)"
        )
    return path


@dataclass(frozen=True)
class ClusterTls:
    """TLS between clients and nodes and between the nodes (``tls-cluster``), as
    ElastiCache Serverless serves only TLS: the server certificate and key, and the CA."""

    cert: Path
    key: Path
    ca: Path


@dataclass
class RedisClusterNodes:
    """``nodes`` masters on free ports of 127.0.0.1; ``url`` names the first (a cluster
    client learns the others from it). With ``tls`` the nodes listen for TLS only."""

    nodes: int = NODES
    tls: ClusterTls | None = None
    servers: list[RedisServer] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)
    directory: Path | None = None

    @property
    def url(self) -> str:
        if self.tls is None:
            return f"redis://127.0.0.1:{self.ports[0]}"
        return f"rediss://127.0.0.1:{self.ports[0]}?ssl_ca_certs={self.tls.ca}"

    def start(self) -> RedisClusterNodes:
        if self.nodes < 3:
            raise ValueError("redis-cli --cluster create needs three masters or more")
        binary = redis_server_binary()
        cli = redis_cli_binary()
        self.directory = Path(tempfile.mkdtemp(prefix="azuchi-redis-cluster-"))
        try:
            for _ in range(self.nodes):
                port = free_port()
                server = RedisServer(port=0 if self.tls else port, binary=binary)
                server.extra_args = self._node_args(port)
                self.ports.append(port)
                self.servers.append(server.start())
            joined = subprocess.run(
                [cli, *self._cli_tls(), "--cluster", "create"]
                + [f"127.0.0.1:{p}" for p in self.ports]
                + ["--cluster-replicas", "0", "--cluster-yes"],
                capture_output=True,
                text=True,
                timeout=JOIN_TIMEOUT_S,
            )
            if joined.returncode != 0:
                raise RedisUnavailable(
                    f"redis-cli --cluster create failed: {(joined.stdout + joined.stderr)[-800:]}"
                )
            self.wait_ok()
        except BaseException:
            self.stop()
            raise
        return self

    def _node_args(self, port: int) -> tuple[str, ...]:
        assert self.directory is not None
        args = (
            "--cluster-enabled", "yes",
            "--cluster-config-file", str(self.directory / f"nodes-{port}.conf"),
            "--cluster-node-timeout", str(NODE_TIMEOUT_MS),
            # the other shards go on serving while one node is down (a restart test)
            "--cluster-require-full-coverage", "no",
            "--dir", str(self.directory),
            # the bus port would be port + 10000, past 65535 for half the ephemeral range
            "--cluster-port", str(free_port()),
        )  # fmt: skip
        if self.tls is None:
            return args
        return (*args, "--tls-port", str(port), "--tls-cluster", "yes",
                "--tls-cert-file", str(self.tls.cert), "--tls-key-file", str(self.tls.key),
                "--tls-ca-cert-file", str(self.tls.ca), "--tls-auth-clients", "no")  # fmt: skip

    def _cli_tls(self) -> list[str]:
        return [] if self.tls is None else ["--tls", "--cacert", str(self.tls.ca)]

    def cli(self, port: int, *args: str) -> str:
        result = subprocess.run(
            [redis_cli_binary(), *self._cli_tls(), "-p", str(port), *args],
            capture_output=True,
            text=True,
            timeout=10,
        )
        return result.stdout

    def wait_ok(self, timeout: float = JOIN_TIMEOUT_S) -> None:
        """Until every running node says ``cluster_state:ok`` and knows all the others."""
        deadline = time.monotonic() + timeout
        while True:
            running = [p for p, s in zip(self.ports, self.servers, strict=True) if s.process]
            states = [self._state(port) for port in running]
            if states and all(states):
                return
            if time.monotonic() > deadline:
                raise RedisUnavailable(f"the cluster on ports {self.ports} did not become ok")
            time.sleep(0.1)

    def _state(self, port: int) -> bool:
        info = self.cli(port, "cluster", "info")
        known = f"cluster_known_nodes:{self.nodes}" in info
        return "cluster_state:ok" in info and known

    def owner_of(self, key: str) -> int:
        """The port of the node that serves ``key``'s slot."""
        slot = int(self.cli(self.ports[0], "cluster", "keyslot", key).strip())
        for line in self.cli(self.ports[0], "cluster", "nodes").splitlines():
            parts = line.split()
            port = int(parts[1].split("@")[0].rsplit(":", 1)[1])
            for span in parts[8:]:
                if span.startswith("["):
                    continue  # a slot being migrated
                low, _, high = span.partition("-")
                if int(low) <= slot <= int(high or low):
                    return port
        raise LookupError(f"no node serves slot {slot}")

    def server(self, port: int) -> RedisServer:
        return self.servers[self.ports.index(port)]

    def restart(self, port: int) -> None:
        """Stops the node and starts it again on the same port and ``nodes.conf``; returns
        once the cluster is ok again. Its keys are gone (no persistence)."""
        server = self.server(port)
        server.stop()
        server.start()
        self.wait_ok()

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
        self.servers.clear()
        self.ports.clear()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None
