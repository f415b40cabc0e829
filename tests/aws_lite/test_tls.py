"""The lite client over HTTPS: it verifies the service's certificate (the system's trust
store, or ``AWS_CA_BUNDLE`` as the SDK reads it) and keeps one TLS connection alive."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.aws.lite import http as lite_http
from adapters.backoff import RetryPolicy
from adapters.dynamodb.client import DynamoConfig, LazyDynamoClient
from adapters.dynamodb.errors import Caller
from core.errors import BackendUnavailable
from testsupport.aws_credentials import DUMMY_CREDENTIALS
from testsupport.stubs.aws_wire import Answer, WireStub, serving_wire

pytestmark = pytest.mark.anyio
JSON = {"Content-Type": "application/x-amz-json-1.0"}


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in DUMMY_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    lite_http.tls_context.cache_clear()
    yield
    lite_http.tls_context.cache_clear()


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    key, crt = folder / "key.pem", folder / "cert.pem"
    made = subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(crt), "-subj", "/CN=localhost"),
            *("-addext", "subjectAltName=DNS:localhost"),
        ],
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        pytest.skip(f"openssl could not make a certificate: {made.stderr[-300:]}")
    return crt, key


@pytest.fixture
def https(cert: tuple[Path, Path]) -> Iterator[WireStub]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*cert)
    with serving_wire(context) as stub:
        yield stub


async def test_a_trusted_service_is_reached_over_one_kept_alive_tls_connection(
    https: WireStub, cert: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_CA_BUNDLE", str(cert[0]))
    https.script(Answer(200, b'{"Item": {"pk": {"B": "aGk="}}}', JSON))
    before = https.connections
    client = LazyDynamoClient(DynamoConfig(endpoint=https.url), kind="lite")
    for _ in range(3):
        answer = await client.get_item(TableName="t", Key={"pk": {"S": "a"}})
        assert answer["Item"] == {"pk": {"B": b"hi"}}
    await client.aclose()
    assert https.connections - before == 1
    assert https.requests[0].headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=")


async def test_an_untrusted_certificate_is_refused_not_ignored(https: WireStub) -> None:
    https.script(Answer(200, b"{}", JSON))
    client = LazyDynamoClient(DynamoConfig(endpoint=https.url), kind="lite")
    caller = Caller(client, RetryPolicy(max_attempts=2), sleep=_no_sleep)
    with pytest.raises(BackendUnavailable, match=r"CERTIFICATE_VERIFY_FAILED|certificate"):
        await caller("get_item", TableName="t", Key={"pk": {"S": "a"}})
    await client.aclose()
    assert https.requests == []  # nothing was sent to a server that could not prove itself


async def _no_sleep(_: float) -> None:
    return None
