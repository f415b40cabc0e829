"""The lite client's SigV4 signature is botocore's, byte for byte, for the same request,
credentials and time: a wrong signature is a 403 from every AWS service."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from unittest import mock

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from adapters.aws.lite.errors import NoCredentials
from adapters.aws.lite.sigv4 import Credentials, sign

NOW = datetime(2026, 12, 4, 1, 23, 45, tzinfo=UTC)
WITH_TOKEN = Credentials(
    "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "FQoGZXIvYXdz//tok="
)
NO_TOKEN = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")

CASES = [
    pytest.param(
        "POST",
        "https://dynamodb.eu-west-1.amazonaws.com/",
        {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.PutItem",
            "User-Agent": "azuchi-lite/1",
        },
        json.dumps({"TableName": "t", "Item": {"text": {"S": "日本語 ✓ émoji 🎌"}}}).encode(),
        "eu-west-1",
        "dynamodb",
        id="dynamodb-non-ascii-body",
    ),
    pytest.param(
        "POST",
        "https://abc123.execute-api.us-east-1.amazonaws.com/prod/@connections/Tqqg2cgqjoECFLQ%3D",
        {"Content-Type": "application/json"},
        '{"type":"delta","text":"ça va"}'.encode(),
        "us-east-1",
        "execute-api",
        id="post-to-connection-encoded-path",
    ),
    pytest.param(
        "POST",
        "https://lambda.ap-northeast-1.amazonaws.com/2015-03-31/functions/"
        "arn%3Aaws%3Alambda%3Aap-northeast-1%3A123%3Afunction%3Aworker/invocations"
        "?Qualifier=live&A=b%20c&A=a",
        {"X-Amz-Invocation-Type": "Event", "X-Amzn-Trace-Id": "Root=1-abc"},
        b'{"sessionId":"s"}',
        "ap-northeast-1",
        "lambda",
        id="invoke-query-string-and-arn",
    ),
    pytest.param(
        "GET",
        "http://127.0.0.1:8000/a/./b/../c//d/?z=1&y=%E2%9C%93",
        {"X-Custom": "  spaced    value  "},
        b"",
        "us-east-1",
        "execute-api",
        id="http-port-dot-segments-empty-body",
    ),
]


def botocore_headers(method, url, headers, body, region, service, credentials):  # type: ignore[no-untyped-def]
    request = AWSRequest(method=method, url=url, headers=dict(headers), data=body)
    creds = BotoCredentials(credentials.access_key, credentials.secret_key, credentials.token)
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)):
        SigV4Auth(creds, service, region).add_auth(request)
    return dict(request.headers.items())


@pytest.mark.parametrize("credentials", [WITH_TOKEN, NO_TOKEN], ids=["session-token", "no-token"])
@pytest.mark.parametrize(("method", "url", "headers", "body", "region", "service"), CASES)
def test_signature_equals_botocore_sigv4auth(  # type: ignore[no-untyped-def]
    method, url, headers, body, region, service, credentials
) -> None:
    ours = sign(
        method, url, headers, body, credentials=credentials, region=region, service=service, now=NOW
    )
    theirs = botocore_headers(method, url, headers, body, region, service, credentials)
    assert ours["Authorization"] == theirs["Authorization"]
    assert ours["X-Amz-Date"] == theirs["X-Amz-Date"] == "20261204T012345Z"
    assert (
        ours.get("X-Amz-Security-Token") == theirs.get("X-Amz-Security-Token") == credentials.token
    )


def test_aws_published_vector_get_vanilla() -> None:
    """AWS's SigV4 test suite, ``get-vanilla``: the signature AWS publishes."""
    headers = sign(
        "GET",
        "https://example.amazonaws.com/",
        {},
        b"",
        credentials=NO_TOKEN,
        region="us-east-1",
        service="service",
        now=datetime(2015, 8, 30, 12, 36, tzinfo=UTC),
    )
    assert headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, "
        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    )


def test_a_retried_request_is_signed_afresh() -> None:
    first = sign(
        "POST", "https://h/", {}, b"x", credentials=WITH_TOKEN, region="r", service="s", now=NOW
    )
    again = sign(
        "POST", "https://h/", first, b"x", credentials=NO_TOKEN, region="r", service="s", now=NOW
    )
    assert again == sign(
        "POST", "https://h/", {}, b"x", credentials=NO_TOKEN, region="r", service="s", now=NOW
    )
    assert "X-Amz-Security-Token" not in again


def test_credentials_come_from_the_lambda_environment() -> None:
    env = {"AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "SK", "AWS_SESSION_TOKEN": "T"}
    assert Credentials.from_env(env) == Credentials("AK", "SK", "T")
    assert (
        Credentials.from_env({"AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "SK"}).token
        is None
    )
    with pytest.raises(NoCredentials, match="AWS_ACCESS_KEY_ID"):
        Credentials.from_env({"AWS_REGION": "us-east-1"})
