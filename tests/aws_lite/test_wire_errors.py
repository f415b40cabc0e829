"""Both AWS clients fail alike: the same wire answer (a stub speaking DynamoDB's, API
Gateway's and Lambda's error formats) becomes the same core error with the same sentence,
with aioboto3 and with the lite client, and is retried the same number of times."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anyio
import pytest

from adapters.apigateway.transport import ApiGatewayOptions, ApiGatewayTransport, aioboto3_client
from adapters.apigateway.transport import lite_client as lite_management
from adapters.awslambda.launcher import LambdaInvokeLauncher
from adapters.backoff import RetryPolicy
from adapters.dynamodb.client import DynamoConfig, LazyDynamoClient
from adapters.dynamodb.errors import Caller, ConditionFailed, TransactionCancelled
from core.errors import (
    BackendUnavailable,
    ConnectionGone,
    PayloadTooLarge,
    TransportError,
    ValueNotStorable,
)
from testsupport.aws_credentials import DUMMY_CREDENTIALS
from testsupport.ports import free_port
from testsupport.stubs.aws_wire import Answer, WireStub, serving_wire

pytestmark = pytest.mark.anyio
KINDS = ("sdk", "lite")
DDB = "com.amazonaws.dynamodb.v20120810#"
JSON = {"Content-Type": "application/x-amz-json-1.0"}


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in DUMMY_CREDENTIALS.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(scope="module")
def wire() -> Iterator[WireStub]:
    with serving_wire() as stub:
        yield stub


def ddb_error(code: str, status: int = 400, **fields: Any) -> Answer:
    body = {"__type": DDB + code, "message": f"{code} happened", **fields}
    return Answer(status, json.dumps(body).encode(), JSON)


async def no_sleep(_: float) -> None:
    return None


async def dynamo_outcome(kind: str, url: str, operation: str, **params: Any) -> BaseException:
    config = DynamoConfig(endpoint=url, read_timeout_s=0.5, connect_timeout_s=0.5)
    client = LazyDynamoClient(config, kind=kind)
    caller = Caller(client, RetryPolicy(max_attempts=3), sleep=no_sleep)
    try:
        with pytest.raises(Exception) as caught:
            await caller(operation, **params)
    finally:
        await client.aclose()
    return caught.value


PUT = {"TableName": "t", "Item": {"pk": {"S": "a"}}}
ITEM = {"pk": {"S": "a"}, "blob": {"B": "AAEC/w=="}, "deep": {"M": {"bs": {"BS": ["aGk="]}}}}

DYNAMO_CASES = [
    # name, answers, operation, expected type, attempts
    ("throttled", [ddb_error("ProvisionedThroughputExceededException")], BackendUnavailable, 3),
    ("throttling", [ddb_error("ThrottlingException")], BackendUnavailable, 3),
    ("conditional", [ddb_error("ConditionalCheckFailedException", Item=ITEM)], ConditionFailed, 1),
    (
        "cancelled",
        [
            ddb_error(
                "TransactionCanceledException",
                CancellationReasons=[{"Code": "None"}, {"Code": "ConditionalCheckFailed"}],
            )
        ],
        TransactionCancelled,
        1,
    ),
    (
        "conflict",
        [
            ddb_error(
                "TransactionCanceledException",
                CancellationReasons=[{"Code": "TransactionConflict"}, {"Code": "None"}],
            )
        ],
        BackendUnavailable,
        3,
    ),
    ("5xx-generic", [Answer(503, b"")], BackendUnavailable, 3),
    ("5xx-json", [ddb_error("InternalServerError", 500)], BackendUnavailable, 3),
    ("validation", [ddb_error("ValidationException")], ValueNotStorable, 1),
    ("missing-table", [ddb_error("ResourceNotFoundException")], BackendUnavailable, 1),
    ("denied", [ddb_error("AccessDeniedException")], BackendUnavailable, 1),
    ("timeout", [Answer(200, b"{}", JSON, delay_s=1.5)], BackendUnavailable, 3),
]


@pytest.mark.parametrize(("name", "answers", "expected", "attempts"), DYNAMO_CASES)
async def test_dynamodb_errors_map_alike(wire, name, answers, expected, attempts) -> None:
    outcomes = {}
    for kind in KINDS:
        wire.script(*answers)
        operation = "transact_write_items" if "cancel" in name or name == "conflict" else "put_item"
        params = {"TransactItems": [{"Put": PUT}, {"Put": PUT}]} if operation != "put_item" else PUT
        error = await dynamo_outcome(kind, wire.url, operation, **params)
        assert isinstance(error, expected), (kind, error)
        assert len(wire.requests) == attempts, kind
        outcomes[kind] = error
    sdk, lite = outcomes["sdk"], outcomes["lite"]
    if name != "timeout":  # the timeout's sentence names each library's exception class
        assert str(lite) == str(sdk)
    if isinstance(sdk, TransactionCancelled):
        assert lite.reasons == sdk.reasons == ["None", "ConditionalCheckFailed"]
    if isinstance(sdk, ConditionFailed):
        assert lite.item == sdk.item  # blobs as bytes, nested ones too
        assert lite.item["blob"] == {"B": b"\x00\x01\x02\xff"}
        assert lite.item["deep"]["M"]["bs"] == {"BS": [b"hi"]}


async def test_connection_refused_maps_alike() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    errors = [await dynamo_outcome(kind, url, "put_item", **PUT) for kind in KINDS]
    assert all(isinstance(e, BackendUnavailable) for e in errors)
    assert all("after 3 attempts" in str(e) for e in errors)


async def test_the_lite_client_sends_and_reads_what_botocore_does(wire) -> None:
    """The request body and the parsed answer, blobs included, are the same."""
    params = {
        "TableName": "t",
        "Key": {"pk": {"S": "a"}},
        "ExpressionAttributeValues": {":b": {"B": b"\x00\xff"}, ":l": {"L": [{"BS": [b"x"]}]}},
        "UpdateExpression": "SET b = :b, l = :l",
        "ReturnValues": "ALL_NEW",
    }
    answer = json.dumps({"Attributes": ITEM, "ConsumedCapacity": {"CapacityUnits": 1.0}})
    seen = {}
    for kind in KINDS:
        wire.script(Answer(200, answer.encode(), JSON))
        client = LazyDynamoClient(DynamoConfig(endpoint=wire.url), kind=kind)
        result = await client.update_item(**params)
        await client.aclose()
        (request,) = wire.requests
        assert request.headers["x-amz-target"] == "DynamoDB_20120810.UpdateItem"
        result.pop("ResponseMetadata")
        seen[kind] = (json.loads(request.body), result)
    assert seen["lite"] == seen["sdk"]
    assert seen["lite"][1]["Attributes"]["blob"] == {"B": b"\x00\x01\x02\xff"}


async def test_the_lite_client_keeps_its_connection_alive(wire) -> None:
    wire.script(Answer(200, b"{}", JSON))
    before = wire.connections
    client = LazyDynamoClient(DynamoConfig(endpoint=wire.url), kind="lite")
    for _ in range(5):
        await client.get_item(TableName="t", Key={"pk": {"S": "a"}})
    await client.aclose()
    assert wire.connections - before == 1


async def test_a_connection_the_service_closed_while_idle_is_not_an_error(wire) -> None:
    """A warm Lambda's kept-alive connection may have been closed by the service in the
    meantime: the next call opens a new one instead of failing."""
    wire.script(Answer(200, b"{}", JSON, hang_up=True), Answer(200, b"{}", JSON))
    before = wire.connections
    client = LazyDynamoClient(DynamoConfig(endpoint=wire.url), kind="lite")
    await client.get_item(TableName="t", Key={"pk": {"S": "a"}})
    await anyio.sleep(0.1)  # the server's close reaches the idle socket
    assert (await client.get_item(TableName="t", Key={"pk": {"S": "a"}}))["ResponseMetadata"][
        "HTTPStatusCode"
    ] == 200
    await client.aclose()
    assert wire.connections - before == 2
    assert len(wire.requests) == 2  # nothing was sent twice


# --- API Gateway's management API ----------------------------------------------------------


def apigw_error(status: int, code: str, message: str | None = None) -> Answer:
    return Answer(
        status,
        json.dumps({"message": message}).encode(),
        {"x-amzn-ErrorType": code, "Content-Type": "application/json"},
    )


APIGW_CASES = [
    ("gone", [apigw_error(410, "GoneException")], ConnectionGone, 1),
    ("throttled", [apigw_error(429, "LimitExceededException", "Rate exceeded")], TransportError, 4),
    ("forbidden", [apigw_error(403, "ForbiddenException", "Forbidden")], TransportError, 1),
    ("too-large", [apigw_error(413, "PayloadTooLargeException", "big")], PayloadTooLarge, 1),
    ("5xx", [Answer(502, b"")], TransportError, 1),  # a post is never repeated on a 5xx
]


@pytest.mark.parametrize(("name", "answers", "expected", "attempts"), APIGW_CASES)
async def test_management_api_errors_map_alike(wire, name, answers, expected, attempts) -> None:
    outcomes = {}
    for kind in KINDS:
        wire.script(*answers)
        options = ApiGatewayOptions(endpoint=f"{wire.url}/prod")
        opener = lite_management(options) if kind == "lite" else aioboto3_client(options)
        transport = ApiGatewayTransport(options, open_client=opener, sleep=no_sleep)
        try:
            with pytest.raises(expected) as caught:
                await transport.send("Tqqg2cgqjoECFLQ=", '{"type":"delta","text":"é"}')
        finally:
            await transport.aclose()
        assert len(wire.requests) == attempts, kind
        assert wire.requests[0].path == "/prod/@connections/Tqqg2cgqjoECFLQ%3D"
        assert wire.requests[0].body == '{"type":"delta","text":"é"}'.encode()
        outcomes[kind] = caught.value
    assert type(outcomes["lite"]) is type(outcomes["sdk"])
    assert str(outcomes["lite"]) == str(outcomes["sdk"])


async def test_management_api_unreachable_maps_alike() -> None:
    errors = []
    for kind in KINDS:
        options = ApiGatewayOptions(endpoint=f"http://127.0.0.1:{free_port()}/prod")
        opener = lite_management(options) if kind == "lite" else aioboto3_client(options)
        transport = ApiGatewayTransport(options, open_client=opener, sleep=no_sleep)
        with pytest.raises(TransportError, match="did not answer") as caught:
            await transport.close("abc")
        await transport.aclose()
        errors.append(caught.value)
    assert len(errors) == 2


# --- Lambda Invoke -----------------------------------------------------------------------


LAMBDA_CASES = [
    ("queued", [Answer(202, b"")], None, 1),
    ("throttled", [apigw_error(429, "TooManyRequestsException", "Rate")], BackendUnavailable, 3),
    ("missing", [apigw_error(404, "ResourceNotFoundException", "no fn")], BackendUnavailable, 1),
    ("5xx", [apigw_error(500, "ServiceException", "oops")], BackendUnavailable, 3),
    ("not-202", [Answer(200, b"null")], BackendUnavailable, 1),
]


@pytest.mark.parametrize(("name", "answers", "expected", "attempts"), LAMBDA_CASES)
async def test_invoke_answers_map_alike(
    wire, name, answers, expected, attempts, monkeypatch
) -> None:
    import adapters.awslambda.launcher as launcher_module

    monkeypatch.setattr(launcher_module, "retrying", _no_sleep_retrying(launcher_module.retrying))
    outcomes: dict[str, Any] = {}
    for kind in KINDS:
        wire.script(*answers)
        launcher = LambdaInvokeLauncher(
            "arn:aws:lambda:us-east-1:1:function:w", endpoint_url=wire.url, client=kind
        )
        try:
            if expected is None:
                await launcher.launch("s-1")
                outcomes[kind] = None
            else:
                with pytest.raises(expected) as caught:
                    await launcher.launch("s-1")
                outcomes[kind] = str(caught.value)
        finally:
            await launcher.aclose()
        assert len(wire.requests) == attempts, kind
        (first, *_) = wire.requests
        assert (
            first.path
            == "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Aw/invocations"
        )
        assert first.headers["x-amz-invocation-type"] == "Event"
        assert json.loads(first.body) == {"sessionId": "s-1"}
    assert outcomes["lite"] == outcomes["sdk"]


def _no_sleep_retrying(real: Any) -> Any:
    async def retrying(attempt: Any, policy: Any, retryable: Any, sleep: Any = None) -> Any:
        return await real(attempt, policy, retryable, no_sleep)

    return retrying


async def test_get_connection_answers_alike(wire) -> None:
    body = {
        "connectedAt": "2026-12-04T01:02:03.456Z",
        "lastActiveAt": "2026-12-04T01:05:00Z",
        "identity": {"sourceIp": "203.0.113.9", "userAgent": "Mozilla/5.0"},
    }
    answers = {}
    for kind in KINDS:
        wire.script(Answer(200, json.dumps(body).encode(), {"Content-Type": "application/json"}))
        options = ApiGatewayOptions(endpoint=f"{wire.url}/prod")
        opener = lite_management(options) if kind == "lite" else aioboto3_client(options)
        async with opener(options.endpoint or "") as client:
            answer = await client.get_connection(ConnectionId="abc=")
        answer.pop("ResponseMetadata")
        (request,) = wire.requests
        assert (request.method, request.path) == ("GET", "/prod/@connections/abc%3D")
        answers[kind] = answer
    assert answers["lite"] == answers["sdk"]
    assert answers["lite"]["Identity"]["SourceIp"] == "203.0.113.9"
