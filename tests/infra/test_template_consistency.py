"""infra/template.yaml agrees with the code: the deployment facts (handlers/functions.py:
each function's handler, folder, memory, timeout and the ports behind its grants), routes
and settings. The measured IAM check is in test_least_privilege.py.
"""

from __future__ import annotations

import copy
import importlib
from typing import Any

import pytest

from adapters.dynamodb.tables import table_specs
from handlers.functions import BY_NAME
from handlers.routes import REST_ROUTES, WEBSOCKET_ROUTES
from tests.infra.template_support import (
    FUNCTION_RESOURCES,
    LEAN,
    REDIS,
    RESOURCES,
    ROOT,
    TABLE_OF,
    TEMPLATE_DOC,
    handler_module,
    refs,
    statements,
    when,
)


def ports_granted(props: dict[str, Any]) -> set[str]:
    """The ports a function's template entry gives it the means to use: tables of the lean
    profile, the limits table (both profiles), the VPC of the redis profile (lock and
    memory live in ElastiCache there), @connections, invoking the worker, and the model
    (Bedrock, its variable)."""
    ports = set()
    tables: set[str] = set()
    actions: set[str] = set()
    for statement in statements(props, LEAN):
        actions |= set(statement["Action"])
        resources = statement["Resource"]
        for resource in resources if isinstance(resources, list) else [resources]:
            tables |= {TABLE_OF[r] for r in refs(resource) if r in TABLE_OF}
    if tables & {"sessions", "connections", "messages"}:
        ports.add("storage")
    if "locks" in tables:
        ports.add("lock")
    if "agent_memory" in tables:
        ports.add("memory")
    if "limits" in tables:
        ports.add("limits")
    if "execute-api:ManageConnections" in actions:
        ports.add("transport")
    if "lambda:InvokeFunction" in actions:
        ports.add("launcher")
    variables = (props.get("Environment") or {}).get("Variables", {})
    if any(a.startswith("bedrock:") for a in actions) or "AZUCHI_MODEL" in variables:
        ports.add("model")
    in_vpc = when(props.get("VpcConfig"), REDIS) is not None
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
        name = handler_module(props).removeprefix("handlers.")
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
        (integration,) = refs(route["Target"])
        function = next(
            ref
            for ref in refs(RESOURCES[integration]["Properties"]["IntegrationUri"])
            if ref in FUNCTION_RESOURCES
        )
        module = importlib.import_module(handler_module(FUNCTION_RESOURCES[function]))
        served[route["RouteKey"]] = module.handle
    assert served == WEBSOCKET_ROUTES
    api = RESOURCES["WebSocketApi"]["Properties"]
    assert api["RouteSelectionExpression"] == "$request.body.action"
    arns = [
        str(r["Properties"]["SourceArn"].value)
        for r in RESOURCES.values()
        if r["Type"] == "AWS::Lambda::Permission"
    ]
    permitted = {arn.rsplit("/", 1)[1] for arn in arns if "/authorizers/" not in arn}
    assert permitted == set(WEBSOCKET_ROUTES)  # each route may invoke its function, no more
    authorizers = [arn for arn in arns if "/authorizers/" in arn]
    assert authorizers == [
        "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${WebSocketApi}"
        "/authorizers/${ConnectAuthorizer}"
    ]


def test_sign_in_puts_the_authorizer_on_connect_only() -> None:
    """SignIn on: $connect runs the REQUEST authorizer (handlers/authorize.py), which has no
    identity source (so a caller without a token still reaches it and may be let in
    anonymously) and no grant but its logs; every other route stays NONE (a connection's
    user is the one $connect stored)."""
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in RESOURCES.values()
        if r["Type"] == "AWS::ApiGatewayV2::Route"
    }
    connect = routes.pop("$connect")
    assert when(connect["AuthorizationType"], {"SignInOn": True}) == "CUSTOM"
    assert when(connect["AuthorizationType"], {"SignInOn": False}) == "NONE"
    assert {r["AuthorizationType"] for r in routes.values()} == {"NONE"}
    authorizer = RESOURCES["ConnectAuthorizer"]
    assert authorizer["Condition"] == "SignInOn"
    assert authorizer["Properties"]["AuthorizerType"] == "REQUEST"
    assert "IdentitySource" not in authorizer["Properties"]
    (function,) = [f for f in BY_NAME.values() if f.trigger == "authorizer"]
    (logical,) = [k for k, p in FUNCTION_RESOURCES.items() if p["Handler"] == function.handler]
    assert "Policies" not in FUNCTION_RESOURCES[logical]
    assert RESOURCES[logical]["Condition"] == "SignInOn"
    variables = FUNCTION_RESOURCES[logical]["Environment"]["Variables"]
    assert set(variables) == {"AZUCHI_AUTH_ISSUER", "AZUCHI_AUTH_AUDIENCE", "AZUCHI_AUTH_REQUIRED"}
    for name in ("UserPool", "UserPoolClient"):
        assert RESOURCES[name]["Condition"] == "CognitoSignIn"
    assert RESOURCES["UserPoolClient"]["Properties"]["GenerateSecret"] is False


def test_the_rest_route_is_the_codes_and_signed() -> None:
    routes = {}
    for props in FUNCTION_RESOURCES.values():
        for event in (props.get("Events") or {}).values():
            if event["Type"] != "Api":
                continue
            key = f"{event['Properties']['Method'].upper()} {event['Properties']['Path']}"
            routes[key] = importlib.import_module(handler_module(props)).handle
    assert routes == REST_ROUTES
    auth = RESOURCES["AgentApi"]["Properties"]["Auth"]
    assert auth["DefaultAuthorizer"] == "AWS_IAM"


def test_the_workers_failed_invocations_reach_the_function_that_reports_them() -> None:
    """EventInvokeConfig sends a failed asynchronous invoke to an SQS queue; the one function
    the facts say a failure queue triggers reads that queue and reports failed items."""
    worker = FUNCTION_RESOURCES["ReplyWorkerFunction"]["EventInvokeConfig"]
    on_failure = worker["DestinationConfig"]["OnFailure"]
    assert on_failure["Type"] == "SQS"
    (queue,) = refs(on_failure["Destination"])
    assert RESOURCES[queue]["Type"] == "AWS::SQS::Queue"
    (consumer,) = [f for f in BY_NAME.values() if f.trigger == "failure-queue"]
    readers = {
        handler_module(props): event["Properties"]
        for props in FUNCTION_RESOURCES.values()
        for event in (props.get("Events") or {}).values()
        if event["Type"] == "SQS"
    }
    assert set(readers) == {consumer.module}
    assert refs(readers[consumer.module]["Queue"]) == [queue]
    assert readers[consumer.module]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    (dead_letter,) = refs(RESOURCES[queue]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
    alarmed = {
        ref
        for r in RESOURCES.values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
        for d in r["Properties"]["Dimensions"]
        for ref in refs(d["Value"])
    }
    assert {queue, dead_letter, "ReplyWorkerFunction"} <= alarmed


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
        "limits": None,  # both profiles: the chat routes reach no VPC
    }


# --- IAM, measured ---------------------------------------------------------------------------


def test_functions_are_arm64_and_the_site_bucket_cleans_up_after_itself() -> None:
    """What moto drops when it creates the stack (test_moto_stack.py), checked here: arm64
    (the folders are built from arm64 wheels), and a versioned site bucket whose lifecycle
    rule expires replaced files and then their delete markers (teardown, README)."""
    globals_ = TEMPLATE_DOC["Globals"]["Function"]
    assert globals_["Architectures"] == ["arm64"]
    for logical_id, props in FUNCTION_RESOURCES.items():
        assert props.get("Architectures", ["arm64"]) == ["arm64"], logical_id
    bucket = TEMPLATE_DOC["Resources"]["SiteBucket"]["Properties"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] > 0
    assert rule["ExpiredObjectDeleteMarker"] is True
