"""The DynamoDB adapters join the registry without importing the AWS SDK."""

from __future__ import annotations

import subprocess
import sys

from adapters.bootstrap import plugin_manager
from adapters.registry import adapters_for


def test_dynamodb_is_registered_for_storage_lock_and_memory() -> None:
    manager = plugin_manager(load_entry_points=False)
    for port in ("storage", "lock", "agent_memory"):
        assert "dynamodb" in adapters_for(manager, port)


def test_registering_the_plugin_imports_no_aws_sdk() -> None:
    code = (
        "import sys\n"
        "from adapters.dynamodb import plugin\n"
        "plugin.azuchi_adapters()\n"
        "sdk = ('aioboto3', 'aiobotocore', 'botocore', 'boto3')\n"
        "loaded = [m for m in sdk if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_the_lean_memory_needs_the_dynamodb_store() -> None:
    """AZUCHI_AGENT_MEMORY=dynamodb reads the history from DynamoDB's messages table: with
    another store it would read an empty table, so it is refused at once, saying why."""
    import pytest

    from adapters.inprocess.transport import ConnectionHub
    from adapters.registry import BuildContext
    from adapters.settings import Settings
    from core.clock import SystemClock

    spec = adapters_for(plugin_manager(load_entry_points=False), "agent_memory")["dynamodb"]
    settings = Settings.from_env({"AZUCHI_STORAGE": "sqlite", "AZUCHI_AGENT_MEMORY": "dynamodb"})
    ctx = BuildContext(settings=settings, clock=SystemClock(), hub=ConnectionHub())
    with pytest.raises(ValueError, match=r"needs AZUCHI_STORAGE=dynamodb.*dynamodb-items"):
        spec.factory(ctx)
