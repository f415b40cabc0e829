"""infra/template.yaml agrees with the code: the deployment facts (handlers/functions.py:
each function's handler, folder, memory, timeout and the ports behind its grants), routes,
settings and IAM.

The IAM check is measured, not restated: every handler runs on DynamoDB Local through a
client that records each call's table and action, and each function's policy must grant
exactly the tables its code path touched, with every action it used.
"""

from __future__ import annotations

import copy
import importlib
import re
from collections.abc import Iterator
from typing import Any

import pytest

from adapters.dynamodb.tables import TEMPLATE, CfnTag, load_template, table_specs
from handlers.functions import BY_NAME
from handlers.routes import REST_ROUTES, WEBSOCKET_ROUTES
from tests.dynamodb.conftest import dynamo_env, dynamodb_endpoint  # noqa: F401  (fixtures)

ROOT = TEMPLATE.parents[1]
TEMPLATE_DOC = load_template()
RESOURCES: dict[str, Any] = TEMPLATE_DOC["Resources"]
FUNCTION_RESOURCES = {
    name: r["Properties"]
    for name, r in RESOURCES.items()
    if r["Type"] == "AWS::Serverless::Function"
}
LEAN = {"LeanProfile": True, "RedisProfile": False, "BedrockModel": True}
REDIS = {"LeanProfile": False, "RedisProfile": True, "BedrockModel": True}


def _refs(value: Any) -> list[str]:
    """Logical ids a !GetAtt / !Sub / !Ref names."""
    if isinstance(value, CfnTag):
        if value.name == "GetAtt":
            return [str(value.value).split(".")[0]]
        if value.name == "Ref":
            return [str(value.value)]
        if value.name == "Sub":
            return [m.split(".")[0] for m in re.findall(r"\$\{([^}]+)\}", str(value.value))]
    if isinstance(value, list):
        return [ref for item in value for ref in _refs(item)]
    return []


def _handler_module(props: dict[str, Any]) -> str:
    module, attribute = str(props["Handler"]).rsplit(".", 1)
    assert attribute == "handler"
    return module


def _when(value: Any, conditions: dict[str, bool]) -> Any:
    """``value`` with a top-level ``!If`` resolved (None for ``AWS::NoValue``)."""
    if isinstance(value, CfnTag) and value.name == "If":
        condition, when_true, when_false = value.value
        value = when_true if conditions[condition] else when_false
    if isinstance(value, CfnTag) and value.name == "Ref" and value.value == "AWS::NoValue":
        return None
    return value


def _statements(props: dict[str, Any], conditions: dict[str, bool]) -> Iterator[dict[str, Any]]:
    for policy in props["Policies"]:
        for statement in policy["Statement"]:
            if (resolved := _when(statement, conditions)) is not None:
                yield resolved


def ports_granted(props: dict[str, Any]) -> set[str]:
    """The ports a function's template entry gives it the means to use: tables of the lean
    profile, the VPC of the redis profile (lock and memory live in ElastiCache there),
    @connections, invoking the worker, and the model (Bedrock, its variable)."""
    ports = set()
    tables: set[str] = set()
    actions: set[str] = set()
    for statement in _statements(props, LEAN):
        actions |= set(statement["Action"])
        resources = statement["Resource"]
        for resource in resources if isinstance(resources, list) else [resources]:
            tables |= {TABLE_OF[r] for r in _refs(resource) if r in TABLE_OF}
    if tables & {"sessions", "connections", "messages"}:
        ports.add("storage")
    if "locks" in tables:
        ports.add("lock")
    if "agent_memory" in tables:
        ports.add("memory")
    if "execute-api:ManageConnections" in actions:
        ports.add("transport")
    if "lambda:InvokeFunction" in actions:
        ports.add("launcher")
    variables = (props.get("Environment") or {}).get("Variables", {})
    if any(a.startswith("bedrock:") for a in actions) or "AZUCHI_MODEL" in variables:
        ports.add("model")
    in_vpc = _when(props.get("VpcConfig"), REDIS) is not None
    assert in_vpc == bool(ports & {"lock", "memory"}), "only lock and memory need the VPC"
    assert ("AZUCHI_REPLY_LAUNCHER" in variables) == ("launcher" in ports)
    return ports


def drift(template: dict[str, Any]) -> list[str]:
    """Every way ``template``'s functions differ from handlers/functions.py, one line each."""
    defaults = template["Globals"]["Function"]
    deployed: dict[str, dict[str, Any]] = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        name = _handler_module(props).removeprefix("handlers.")
        deployed[name] = {
            "handler": props["Handler"],
            "code_uri": props["CodeUri"],
            "memory_mb": props.get("MemorySize", defaults["MemorySize"]),
            "timeout_s": props.get("Timeout", defaults["Timeout"]),
            "ports": ports_granted(props),
            "resource": logical_id,
        }
    found = []
    if set(deployed) != set(BY_NAME):
        found.append(f"the template deploys {sorted(deployed)}, the facts list {sorted(BY_NAME)}")
    for name, fact in BY_NAME.items():
        if name not in deployed:
            continue
        expected = {
            "handler": fact.handler,
            "code_uri": f"../build/lambda/{fact.name}/",
            "memory_mb": fact.memory_mb,
            "timeout_s": fact.timeout_s,
            "ports": set(fact.ports),
        }
        got = deployed[name]
        found += [
            f"{got['resource']} ({name}): the template's {key} is {got[key]!r}, "
            f"handlers/functions.py says {want!r}"
            for key, want in expected.items()
            if got[key] != want
        ]
    return found


def test_the_template_deploys_each_function_as_the_deployment_facts_say() -> None:
    assert drift(TEMPLATE_DOC) == []
    for fact in BY_NAME.values():
        assert callable(importlib.import_module(fact.module).handler), fact.name


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda r: r["DefaultFunction"]["Properties"].update(MemorySize=256), "memory_mb is 256"),
        (lambda r: r["ConnectFunction"]["Properties"].pop("Timeout"), "timeout_s is 10"),
        (lambda r: r["ReplyWorkerFunction"]["Properties"].update(Timeout=900), "timeout_s is 900"),
        (lambda r: r["GetMessagesFunction"]["Properties"].pop("MemorySize"), "memory_mb is 128"),
        (
            lambda r: r["PutMessageFunction"]["Properties"].update(CodeUri="../build/lambda/x/"),
            "code_uri",
        ),
        (lambda r: r.pop("StopGenerationFunction"), "the template deploys"),
    ],
)
def test_a_template_that_drifts_from_the_facts_is_named(change: Any, named: str) -> None:
    template = copy.deepcopy(TEMPLATE_DOC)
    change(template["Resources"])
    (problem,) = drift(template)
    assert named in problem


def test_a_function_granted_a_port_it_does_not_declare_is_named() -> None:
    template = copy.deepcopy(TEMPLATE_DOC)
    statements = template["Resources"]["GetMessagesFunction"]["Properties"]["Policies"][0]
    statements["Statement"].append(
        {"Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": "*"}
    )
    variables = {"AZUCHI_REPLY_LAUNCHER": "lambda"}
    template["Resources"]["GetMessagesFunction"]["Properties"]["Environment"] = {
        "Variables": variables
    }
    (problem,) = drift(template)
    assert "GetMessagesFunction (get_messages): the template's ports" in problem
    assert "launcher" in problem


def test_websocket_routes_are_the_codes_routes_each_on_its_handler() -> None:
    served: dict[str, Any] = {}
    for route in (
        r["Properties"] for r in RESOURCES.values() if r["Type"] == "AWS::ApiGatewayV2::Route"
    ):
        (integration,) = _refs(route["Target"])
        function = next(
            ref
            for ref in _refs(RESOURCES[integration]["Properties"]["IntegrationUri"])
            if ref in FUNCTION_RESOURCES
        )
        module = importlib.import_module(_handler_module(FUNCTION_RESOURCES[function]))
        served[route["RouteKey"]] = module.handle
    assert served == WEBSOCKET_ROUTES
    api = RESOURCES["WebSocketApi"]["Properties"]
    assert api["RouteSelectionExpression"] == "$request.body.action"
    permitted = {
        str(r["Properties"]["SourceArn"].value).rsplit("/", 1)[1]
        for r in RESOURCES.values()
        if r["Type"] == "AWS::Lambda::Permission"
    }
    assert permitted == set(WEBSOCKET_ROUTES)  # each route may invoke its function, no more


def test_the_rest_route_is_the_codes_and_signed() -> None:
    routes = {}
    for props in FUNCTION_RESOURCES.values():
        for event in (props.get("Events") or {}).values():
            key = f"{event['Properties']['Method'].upper()} {event['Properties']['Path']}"
            routes[key] = importlib.import_module(_handler_module(props)).handle
    assert routes == REST_ROUTES
    auth = RESOURCES["AgentApi"]["Properties"]["Auth"]
    assert auth["DefaultAuthorizer"] == "AWS_IAM"


def test_every_azuchi_variable_the_template_sets_is_read_by_the_code() -> None:
    names = set(TEMPLATE_DOC["Globals"]["Function"]["Environment"]["Variables"])
    for props in FUNCTION_RESOURCES.values():
        names |= set((props.get("Environment") or {}).get("Variables", {}))
    code = "\n".join(
        p.read_text(encoding="utf-8")
        for package in ("core", "adapters", "handlers")
        for p in (ROOT / package).rglob("*.py")
    )
    unread = sorted(n for n in names if n.startswith("AZUCHI_") and f'"{n}"' not in code)
    assert unread == []
    assert {"AZUCHI_STORAGE", "AZUCHI_TRANSPORT", "AZUCHI_MODEL"} <= names


def test_the_lean_tables_exist_only_in_the_lean_profile() -> None:
    conditions = {s.base: RESOURCES[s.logical_id].get("Condition") for s in table_specs()}
    assert conditions == {
        "sessions": None,
        "connections": None,
        "messages": None,
        "locks": "LeanProfile",
        "agent_memory": "LeanProfile",
    }


# --- IAM, measured ---------------------------------------------------------------------------

ACTIONS = {
    "get_item": "GetItem",
    "put_item": "PutItem",
    "update_item": "UpdateItem",
    "delete_item": "DeleteItem",
    "query": "Query",
}
TABLE_OF = {s.logical_id: s.base for s in table_specs()}


def granted(function: str, conditions: dict[str, bool]) -> set[tuple[str, str]]:
    """(table[/index/name], DynamoDB action) pairs the function's policy allows."""
    pairs = set()
    for policy in FUNCTION_RESOURCES[function]["Policies"]:
        for statement in policy["Statement"]:
            if isinstance(statement, CfnTag) and statement.name == "If":
                condition, when_true, _ = statement.value
                if not conditions[condition]:
                    continue
                statement = when_true
            actions = [a for a in statement["Action"] if a.startswith("dynamodb:")]
            resources = statement["Resource"]
            for resource in resources if isinstance(resources, list) else [resources]:
                tables = [TABLE_OF[r] for r in _refs(resource) if r in TABLE_OF]
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
    from adapters.dynamodb.agent_memory import DynamoAgentMemory
    from adapters.dynamodb.client import DynamoConfig
    from adapters.dynamodb.lock import DynamoSessionLock
    from adapters.dynamodb.store import DynamoChatStore
    from adapters.inprocess.launcher import InlineReplyLauncher
    from adapters.settings import Settings
    from core.domain import Connection
    from handlers import (
        connect,
        default,
        disconnect,
        generate_reply,
        get_messages,
        put_message,
        reply_worker,
        stop_generation,
    )
    from tests import conftest
    from tests.handlers import samples

    # A reply long enough (0.3 s) for the worker to extend its lease (every 50 ms).
    slow = {"AZUCHI_SCRIPTED_TOKENS_PER_SECOND": "400"}
    settings = Settings.from_env({**dynamo_env, **conftest.FAST_ENV, **slow})
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
            "agent_memory": DynamoAgentMemory(
                recorder, tables.agent_memory, max_items=20, response_id_ttl_s=86_400
            ),
        },
    )
    app.hub.attach("c1", Sink())
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
    await step("ConnectFunction", (connect, new_session), (connect, join_session))
    await step("DefaultFunction", (default, samples.message("c1", "$default", {"action": "x"})))
    await gone_connection(sid)
    put = {"action": "putMessage", "message": "hi", "clientMessageId": "m1"}
    await step(
        "PutMessageFunction",
        (put_message, samples.message("c1", "putMessage", put)),
        (put_message, samples.message("c1", "putMessage", put)),  # a retry: same message
    )
    await step("GetMessagesFunction", (get_messages, samples.message("c1", "getMessages", {})))
    stop = samples.message("c1", "stopGeneration", {})
    await step("StopGenerationFunction", (stop_generation, stop))
    await gone_connection(sid)
    rest = {"message": "and again", "clientMessageId": "m2"}
    await step(
        "GenerateReplyApiFunction",
        (generate_reply, samples.generate(sid, rest)),
        (generate_reply, samples.generate(sid, rest)),
    )
    await gone_connection(sid)
    await step("ReplyWorkerFunction", (reply_worker, {"sessionId": sid}))
    await step("DisconnectFunction", (disconnect, samples.disconnect("c2")))
    await app.aclose()
    await recorder.inner.aclose()

    assert launches == [sid, sid]  # putMessage and the REST API each started the worker
    assert set(used) == set(FUNCTION_RESOURCES)
    for function, calls in used.items():
        allowed = granted(function, LEAN)
        assert calls <= allowed, f"{function} is denied {sorted(calls - allowed)}"
        assert {t for t, _ in allowed} == {t for t, _ in calls}, f"{function} tables"
        assert allowed == calls, f"{function} may do more than it does: {sorted(allowed - calls)}"
