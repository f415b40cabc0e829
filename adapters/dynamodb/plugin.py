"""Registers the DynamoDB adapters (storage; lock and agent memory of the lean profile).

Importing this module imports no AWS SDK: the client does when it opens, so a missing
aioboto3 is an error only when a setting picks ``dynamodb`` with ``AZUCHI_AWS_CLIENT=sdk``
(the lite client needs none).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adapters.registry import AdapterSpec, BuildContext, hookimpl
from adapters.settings import EnvReader

if TYPE_CHECKING:
    from adapters.dynamodb.client import DynamoConfig


def _client(ctx: BuildContext) -> tuple[Any, DynamoConfig]:
    """The one client every DynamoDB port of this app uses (opened on first use, closed
    with the app); with ``AZUCHI_DYNAMODB_METER`` on, wrapped in a meter that asks for and
    sums consumed capacity (the load test's cost figures), registered as the app's
    ``dynamodb`` meter."""
    return ctx.resources.shared("dynamodb", lambda: _open_client(ctx))


def _open_client(ctx: BuildContext) -> tuple[Any, DynamoConfig]:
    from adapters.aws.clients import require_sdk
    from adapters.dynamodb.client import DynamoConfig, LazyDynamoClient, MeteredClient

    require_sdk(ctx.settings.aws_client, "the dynamodb adapters")
    config = DynamoConfig.from_env(ctx.settings.env)
    client = LazyDynamoClient(config, kind=ctx.settings.aws_client)
    ctx.resources.on_close(client.aclose)
    ctx.resources.on_warm("storage", client.client)
    if EnvReader(ctx.settings.env).bool("AZUCHI_DYNAMODB_METER", False):
        meter = MeteredClient(client)
        ctx.resources.meters["dynamodb"] = meter
        return meter, config
    return client, config


def _store(ctx: BuildContext) -> Any:
    from adapters.dynamodb.store import DynamoChatStore

    client, config = _client(ctx)
    return DynamoChatStore(
        client,
        config.tables,
        clock=ctx.clock,
        message_ttl_s=ctx.settings.message_ttl_s,
        connection_ttl_s=ctx.settings.connection_ttl_s,
        retry=config.retry,
    )


def _lock(ctx: BuildContext) -> Any:
    from adapters.dynamodb.lock import DynamoSessionLock

    client, config = _client(ctx)
    return DynamoSessionLock(client, config.tables.locks, retry=config.retry)


def _agent_memory(ctx: BuildContext) -> Any:
    """The lean profile's memory: a view of the messages table (message_memory.py), so it
    needs the DynamoDB store; ``dynamodb-items`` keeps a copy of the history instead."""
    from adapters.dynamodb.message_memory import DynamoMessageMemory

    if ctx.settings.storage != "dynamodb":
        raise ValueError(
            "AZUCHI_AGENT_MEMORY=dynamodb reads the history from DynamoDB's messages table, "
            f"so it needs AZUCHI_STORAGE=dynamodb (it is {ctx.settings.storage!r}); "
            "use AZUCHI_AGENT_MEMORY=dynamodb-items to keep a copy of it instead"
        )
    client, config = _client(ctx)
    return DynamoMessageMemory(
        client,
        config.tables,
        max_items=ctx.settings.history_items,
        response_id_ttl_s=ctx.settings.response_id_ttl_s,
        retry=config.retry,
    )


def _agent_memory_items(ctx: BuildContext) -> Any:
    from adapters.dynamodb.agent_memory import DynamoAgentMemory

    client, config = _client(ctx)
    return DynamoAgentMemory(
        client,
        config.tables.agent_memory,
        max_items=ctx.settings.history_items,
        response_id_ttl_s=ctx.settings.response_id_ttl_s,
        retry=config.retry,
    )


def _limits(ctx: BuildContext) -> Any:
    from adapters.dynamodb.limits import DynamoLimitCounters

    client, config = _client(ctx)
    return DynamoLimitCounters(client, config.tables.limits, retry=config.retry)


@hookimpl
def azuchi_adapters() -> list[AdapterSpec]:
    return [
        AdapterSpec("storage", "dynamodb", _store, "DynamoDB tables (AZUCHI_DYNAMODB_ENDPOINT)"),
        AdapterSpec("lock", "dynamodb", _lock, "DynamoDB conditional-write leases (lean)"),
        AdapterSpec(
            "agent_memory", "dynamodb", _agent_memory, "DynamoDB, read from the messages (lean)"
        ),
        AdapterSpec(
            "agent_memory", "dynamodb-items", _agent_memory_items, "DynamoDB, one item per turn"
        ),
        AdapterSpec("limits", "dynamodb", _limits, "DynamoDB limit counters (TTL)"),
    ]
