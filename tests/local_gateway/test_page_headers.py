"""Every answer of the public listener carries the page's security headers; 404s do not
tell where the server's files are; paths that name no file are 400, not 500."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
import pytest

from adapters.local_gateway.frontend import DEFAULT_FRONTEND_DIR
from tests.local_gateway.raw_http import get, request

pytestmark = pytest.mark.anyio

INDEX = Path(DEFAULT_FRONTEND_DIR) / "index.html"
EXPECTED = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


def directives(policy: str) -> dict[str, str]:
    parts = (d.strip().split(None, 1) for d in policy.split(";") if d.strip())
    return {p[0]: (p[1] if len(p) > 1 else "") for p in parts}


def meta_policy() -> str:
    found = re.search(
        r'http-equiv="Content-Security-Policy"\s+content="([^"]+)"', INDEX.read_text()
    )
    assert found, "index.html has no CSP meta tag"
    return found.group(1)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/index.html"),
        ("GET", "/js/app.js"),
        ("GET", "/css/base.css"),
        ("GET", "/config.json"),
        ("GET", "/healthz"),
        ("GET", "/no-such-file.js"),
        ("GET", "/local"),  # the WebSocket path without an upgrade: 426
        ("POST", "/api/v1/chat/sessions/not-a-session/reply/generate"),
    ],
)
async def test_every_answer_carries_the_security_headers(gateway, method, path):
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, gateway.http_url + path, json={}) as answer,
    ):
        for name, value in EXPECTED.items():
            assert answer.headers.get(name) == value, (path, name)
        policy = directives(answer.headers["Content-Security-Policy"])
        assert policy["frame-ancestors"] == "'none'"


async def test_the_csp_header_keeps_what_the_meta_tag_allows_and_forbids_framing(gateway):
    async with aiohttp.ClientSession() as http, http.get(gateway.http_url + "/") as page:
        header = directives(page.headers["Content-Security-Policy"])
    meta = directives(meta_policy())
    assert header == {**meta, "frame-ancestors": "'none'"}


async def test_a_404_does_not_tell_where_the_files_are(gateway):
    async with aiohttp.ClientSession() as http, http.get(gateway.http_url + "/nothing.js") as r:
        assert r.status == 404
        body = await r.text()
    assert str(DEFAULT_FRONTEND_DIR) not in body
    assert "/" not in body.replace("404", "")


@pytest.mark.parametrize(
    "path",
    [
        "/%00",
        "/js/app.js%00.png",
        "/%zz",
        "/js/%e",
        "/%ff%fe",  # not UTF-8
        "/../pyproject.toml",
        "/js/../../pyproject.toml",
        "/%2e%2e/pyproject.toml",
        "/js/..%2f..%2fpyproject.toml",
    ],
)
async def test_a_malformed_path_is_400(gateway, path):
    answer = await request(gateway.port, get(path, gateway.port))
    assert answer.status == 400, answer
    assert b"pyproject" not in answer.body and b"[project]" not in answer.body
    assert answer.headers.get("x-content-type-options") == "nosniff"


async def test_a_raw_nul_in_the_request_line_is_400(gateway):
    """aiohttp's parser refuses it before any route (and before the headers are added)."""
    answer = await request(gateway.port, get("/a\x00b", gateway.port))
    assert answer.status == 400
