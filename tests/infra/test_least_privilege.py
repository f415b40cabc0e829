"""Least privilege, measured: every handler runs on DynamoDB Local through a client that
records each call's table and action, and each function's policy in infra/template.yaml
must grant exactly the tables its code path touched, with every action it used."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from adapters.dynamodb.tables import CfnTag
from tests.dynamodb.conftest import dynamo_env, dynamodb_endpoint  # noqa: F401  (fixtures)
from tests.infra.template_support import FUNCTION_RESOURCES, LEAN, TABLE_OF, refs

ACTIONS = {
    "get_item": "GetItem",
    "put_item": "PutItem",
    "update_item": "UpdateItem",
    "delete_item": "DeleteItem",
    "query": "Query",
    "batch_write_item": "BatchWriteItem",
}


def granted(function: str, conditions: dict[str, bool]) -> set[tuple[str, str]]:
    """(table[/index/name], DynamoDB action) pairs the function's policy allows."""
    pairs = set()
    for policy in FUNCTION_RESOURCES[function].get("Policies", []):
        for statement in policy["Statement"]:
            if isinstance(statement, CfnTag) and statement.name == "If":
                condition, when_true, _ = statement.value
                if not conditions[condition]:
                    continue
                statement = when_true
            actions = [a for a in statement["Action"] if a.startswith("dynamodb:")]
            resources = statement["Resource"]
            for resource in resources if isinstance(resources, list) else [resources]:
                tables = [TABLE_OF[r] for r in refs(resource) if r in TABLE_OF]
                if not tables:
                    continue
                (table,) = tables
                text = str(resource.value) if resource.name == "Sub" else ""
                index = text.split("/index/", 1)[1] if "/index/" in text else None
                target = f"{table}/index/{index}" if index else table
                pairs |= {(target, a.removeprefix("dynamodb:")) for a in actions}
    return pairs


class RecordingClient:
    """A DynamoDB client that notes (table, action) of each call, refused ones included."""

    def __init__(self, inner: Any, prefix: str) -> None:
        self.inner = inner
        self.prefix = prefix
        self.calls: set[tuple[str, str]] = set()

    def __getattr__(self, operation: str) -> Any:
        if operation.startswith("_"):
            raise AttributeError(operation)
        target = getattr(self.inner, operation)

        async def call(**params: Any) -> Any:
            if operation == "transact_write_items":  # authorised item by item
                for item in params["TransactItems"]:
                    ((kind, body),) = item.items()
                    self._note(body["TableName"], None, f"{kind}Item")
            elif operation == "batch_write_item":
                for table in params["RequestItems"]:
                    self._note(table, None, ACTIONS[operation])
            else:
                self._note(params["TableName"], params.get("IndexName"), ACTIONS[operation])
            return await target(**params)

        return call

    def _note(self, table: str, index: str | None, action: str) -> None:
        base = table.removeprefix(self.prefix)
        self.calls.add((f"{base}/index/{index}" if index else base, action))


class Sink:
    def __init__(self) -> None:
        self.frames: list[str] = []

    async def send(self, data: str) -> None:
        self.frames.append(data)

    async def close(self) -> None:
        pass


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def recorder(dynamo_env: dict[str, str]) -> Iterator[RecordingClient]:  # noqa: F811
    from adapters.dynamodb.client import DynamoConfig, LazyDynamoClient

    config = DynamoConfig.from_env(dynamo_env)
    yield RecordingClient(LazyDynamoClient(config), config.tables.prefix)


@pytest.mark.anyio
async def test_each_policy_grants_exactly_the_tables_its_code_path_uses(
    recorder: RecordingClient,
    dynamo_env: dict[str, str],  # noqa: F811
) -> None:
    from adapters.bootstrap import build_app
    from adapters.dynamodb.client import DynamoConfig
    from adapters.dynamodb.limits import DynamoLimitCounters
    from adapters.dynamodb.lock import DynamoSessionLock
    from adapters.dynamodb.message_memory import DynamoMessageMemory
    from adapters.dynamodb.store import DynamoChatStore
    from adapters.inprocess.launcher import InlineReplyLauncher
    from adapters.settings import Settings
    from core.domain import Connection
    from handlers import (
        connect,
        default,
        delete_session,
        disconnect,
        generate_reply,
        get_messages,
        list_sessions,
        put_message,
        regenerate,
        rename_session,
        reply_failures,
        reply_worker,
        stop_generation,
    )
    from tests import conftest
    from tests.handlers import samples

    # A reply (1.2 s) long enough for the worker to check its lease (every 50 ms) by reading
    # it while more than half of it is left, and to extend it by writing once less is.
    slow = {"AZUCHI_SCRIPTED_TOKENS_PER_SECOND": "100", "AZUCHI_LOCK_LEASE_MS": "2000"}
    # The limits at their defaults (FAST_ENV turns them off), so that their calls are seen.
    unlimited = {k: v for k, v in conftest.FAST_ENV.items() if not k.startswith("AZUCHI_LIMIT_")}
    # ...with bursts room for this walk's seven messages, regenerates and edits on one
    # connection (at the default burst of 5 the sixth waits for a refill, 6 s at 10/min).
    bursts = {"AZUCHI_LIMIT_CONNECTION_BURST": "20", "AZUCHI_LIMIT_SESSION_BURST": "20"}
    settings = Settings.from_env({**dynamo_env, **unlimited, **bursts, **slow})
    tables = DynamoConfig.from_env(dynamo_env).tables
    launches: list[str] = []

    async def note_launch(session_id: str) -> None:
        launches.append(session_id)  # AZUCHI_REPLY_LAUNCHER=lambda: the worker runs it

    app = build_app(
        settings,
        overrides={
            "launcher": InlineReplyLauncher(note_launch),
            "storage": DynamoChatStore(recorder, tables),
            "lock": DynamoSessionLock(recorder, tables.locks),
            "limits": DynamoLimitCounters(recorder, tables.limits),
            "agent_memory": DynamoMessageMemory(
                recorder, tables, max_items=20, response_id_ttl_s=86_400
            ),
        },
    )
    c1 = Sink()
    app.hub.attach("c1", c1)
    app.hub.attach("c2", Sink())
    used: dict[str, set[tuple[str, str]]] = {}

    async def gone_connection(session_id: str) -> None:
        # a connection API Gateway has dropped: the fan-out deletes it when a send fails
        await app.store.put_connection(Connection("gone", session_id, connected_at=1))

    async def step(function: str, *events: Any) -> None:
        recorder.calls = set()
        for module, event in events:
            await module.handle(event, app)
        used.setdefault(function, set()).update(recorder.calls)
        recorder.calls = set()

    await connect.handle(samples.connect("c1"), app)
    sid = (await app.store.get_connection("c1")).session_id  # type: ignore[union-attr]
    new_session, join_session = samples.connect("c3"), samples.connect("c2", sid)
    signed_in = samples.connect("c4", user_id="alice")  # the authorizer let alice in
    await step(
        "ConnectFunction", (connect, new_session), (connect, join_session), (connect, signed_in)
    )
    alices = (await app.store.get_connection("c4")).session_id  # type: ignore[union-attr]
    app.hub.attach("c4", Sink())
    listing = samples.message("c4", "listSessions", {"limit": 5}, user_id="alice")
    await step("ListSessionsFunction", (list_sessions, listing))
    # no DynamoDB at all: it verifies tokens against the issuer's keys (none here: anonymous)
    await step("AuthorizeFunction")
    await step("DefaultFunction", (default, samples.message("c1", "$default", {"action": "x"})))
    await gone_connection(sid)
    put = {"action": "putMessage", "message": "hi", "clientMessageId": "m1"}
    elsewhere = {**put, "sessionId": alices}  # another's session: read to be refused
    await step(
        "PutMessageFunction",
        (put_message, samples.message("c1", "putMessage", put)),
        (put_message, samples.message("c1", "putMessage", put)),  # a retry: same message
        (put_message, samples.message("c1", "putMessage", elsewhere)),
    )
    await step("GetMessagesFunction", (get_messages, samples.message("c1", "getMessages", {})))
    stop = samples.message("c1", "stopGeneration", {})
    stop_elsewhere = samples.message("c1", "stopGeneration", {"sessionId": alices})
    await step("StopGenerationFunction", (stop_generation, stop), (stop_generation, stop_elsewhere))
    await gone_connection(sid)
    rest = {"message": "and again", "clientMessageId": "m2"}
    await step(
        "GenerateReplyApiFunction",
        (generate_reply, samples.generate(sid, rest)),
        (generate_reply, samples.generate(sid, rest)),
    )
    await gone_connection(sid)
    await step("ReplyWorkerFunction", (reply_worker, {"sessionId": sid}))
    # a failed invocation whose message is still pending: the consumer notes it
    await step(
        "PutMessageFunction",
        (put_message, samples.message("c1", "putMessage", put | {"clientMessageId": "m3"})),
    )
    await gone_connection(sid)
    await step("ReplyFailuresFunction", (reply_failures, samples.failed_invocation(sid)))
    await gone_connection(sid)
    rename = samples.message("c1", "renameSession", {"title": "Picnic"})
    await step("RenameSessionFunction", (rename_session, rename))
    await gone_connection(sid)
    await reply_worker.handle({"sessionId": sid}, app)  # m3 answered: its turn can be redone
    await gone_connection(sid)
    last = (await app.store.get_session(sid)).last_user_at  # type: ignore[union-attr]
    edit = {"message": "hello, edited", "clientMessageId": "m4", "replaces": last}
    await step(
        "RegenerateFunction",
        (regenerate, samples.message("c1", "regenerate", {"replyTo": last})),
        (regenerate, samples.message("c1", "regenerate", {})),  # pending: refused, relaunched
    )
    await reply_worker.handle({"sessionId": sid}, app)
    await gone_connection(sid)
    await step("RegenerateFunction", (regenerate, samples.message("c1", "editMessage", edit)))
    await gone_connection(sid)
    delete = samples.message("c1", "deleteSession", {"sessionId": sid})
    await step("DeleteSessionFunction", (delete_session, delete))
    await step("DisconnectFunction", (disconnect, samples.disconnect("c2")))
    await app.aclose()
    await recorder.inner.aclose()

    # putMessage (m1 twice, m3), the REST API, regenerate (and its refusal) and the edit
    # started the worker
    assert launches == [sid] * 7
    told = [json.loads(f) for f in c1.frames]
    assert [f["type"] for f in told].count("removed") == 2  # the regenerate and the edit
    assert [f.get("code") for f in told if f["type"] == "error"][-1:] == ["REPLY_RUNNING"]
    assert set(used) == set(FUNCTION_RESOURCES)
    for function, calls in used.items():
        allowed = granted(function, LEAN)
        assert calls <= allowed, f"{function} is denied {sorted(calls - allowed)}"
        assert {t for t, _ in allowed} == {t for t, _ in calls}, f"{function} tables"
        assert allowed == calls, f"{function} may do more than it does: {sorted(allowed - calls)}"
