"""Only the page itself (and origins a setting adds) may open a socket or call the REST API:
any other web page a developer visits could otherwise drive their local azuchi and spend
their model key. A request with no ``Origin`` is not a browser's, and goes through."""

from __future__ import annotations

import json

import aiohttp
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from adapters.local_gateway.options import GatewayOptions
from adapters.local_gateway.origins import OriginPolicy
from adapters.settings import SettingsError

pytestmark = pytest.mark.anyio

EVIL = "https://evil.example"


def connects(gateway, origin: str):
    return connect(gateway.ws_url, origin=origin, open_timeout=5, close_timeout=1)


def invocations(gateway, function: str) -> int:
    return int(gateway.stats.snapshot()["lambda"].get(function, {}).get("invocations", 0))


async def test_a_cross_origin_handshake_is_refused_before_connect_runs(gateway):
    with pytest.raises(InvalidStatus) as refused:
        async with connects(gateway, EVIL):
            pass
    answer = refused.value.response
    assert answer.status_code == 403
    body = json.loads(answer.body)
    assert body["code"] == "ORIGIN_NOT_ALLOWED"
    assert EVIL in body["message"] and "AZUCHI_ALLOWED_ORIGINS" in body["message"]
    assert not gateway.connections
    assert invocations(gateway, "connect") == 0  # refused before $connect: nothing stored


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost"])
async def test_the_pages_own_origin_is_accepted(gateway, name):
    async with connects(gateway, f"http://{name}:{gateway.port}") as ws:
        await ws.send('{"action":"hello"}')
        assert json.loads(await ws.recv())["type"] == "routes"


async def test_a_dns_rebinding_name_is_not_the_pages_own_origin(gateway):
    """evil.example resolving to 127.0.0.1: the browser sends Host and Origin with the name."""
    origin = f"http://evil.example:{gateway.port}"
    headers = {"Origin": origin, "Host": f"evil.example:{gateway.port}"}
    async with aiohttp.ClientSession() as http, http.get(gateway.ws_url, headers=headers) as r:
        assert r.status == 403


async def test_an_ip_literal_host_is_the_pages_own_origin(gateway):
    """Served on 0.0.0.0 and opened at http://10.1.2.3:PORT from another machine."""
    host = f"10.1.2.3:{gateway.port}"
    headers = {"Origin": f"http://{host}", "Host": host}
    async with aiohttp.ClientSession() as http, http.get(gateway.ws_url, headers=headers) as r:
        assert r.status == 426  # let through to the upgrade (this was no upgrade request)


async def test_a_setting_adds_origins(start_gateway):
    gateway = await start_gateway(
        {"AZUCHI_ALLOWED_ORIGINS": "https://Chat.Example.com/, http://10.0.0.9:81"}
    )
    async with connects(gateway, "https://chat.example.com") as ws:
        await ws.send('{"action":"hello"}')
        assert json.loads(await ws.recv())["type"] == "routes"


def test_a_wildcard_or_a_non_origin_is_refused_at_start_up():
    with pytest.raises(SettingsError, match=r"\*"):
        GatewayOptions.from_env({"AZUCHI_ALLOWED_ORIGINS": "*"})
    with pytest.raises(SettingsError, match="not an origin"):
        GatewayOptions.from_env({"AZUCHI_ALLOWED_ORIGINS": "https://a.example/chat"})


# --- the REST API --------------------------------------------------------------------------


def generate_url(gateway, session_id: str) -> str:
    return f"{gateway.http_url}/api/v1/chat/sessions/{session_id}/reply/generate"


async def test_a_cross_site_text_plain_post_is_refused_and_stores_nothing(gateway, open_client):
    """What a hostile page's ``fetch(url, {method: 'POST', mode: 'no-cors', body})`` sends."""
    client = await open_client(gateway)
    url = generate_url(gateway, await client.session_id())
    body = '{"message": "spend my tokens"}'
    plain = {"Content-Type": "text/plain;charset=UTF-8"}
    async with aiohttp.ClientSession() as http:
        for headers in ({**plain, "Origin": EVIL}, plain):  # with or without its Origin
            async with http.post(url, data=body, headers=headers) as r:
                assert r.status == 415
                assert (await r.json())["code"] == "UNSUPPORTED_MEDIA_TYPE"
                assert "Access-Control-Allow-Origin" not in r.headers
        form = {"Content-Type": "application/x-www-form-urlencoded", "Origin": EVIL}
        async with http.post(url, data="message=hi", headers=form) as r:
            assert r.status == 415
        json_body = {"Content-Type": "application/json", "Origin": EVIL}  # no preflight asked
        async with http.post(url, data=body, headers=json_body) as r:
            assert r.status == 403
            assert (await r.json())["code"] == "ORIGIN_NOT_ALLOWED"
            assert "Access-Control-Allow-Origin" not in r.headers
    assert await client.history() == []
    assert invocations(gateway, "generate_reply") == 0


async def test_an_allowed_page_gets_its_preflight_and_cors_answers(gateway, open_client):
    client = await open_client(gateway)
    url = generate_url(gateway, await client.session_id())
    page = f"http://localhost:{gateway.port}"
    asks = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    async with aiohttp.ClientSession() as http:
        async with http.options(url, headers={"Origin": page, **asks}) as preflight:
            assert preflight.status == 204
            assert preflight.headers["Access-Control-Allow-Origin"] == page
            assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
            assert "content-type" in preflight.headers["Access-Control-Allow-Headers"].lower()
            assert preflight.headers["Vary"] == "Origin"
        async with http.options(url, headers={"Origin": EVIL, **asks}) as preflight:
            assert preflight.status == 403
            assert "Access-Control-Allow-Origin" not in preflight.headers
        async with http.post(url, json={"message": "hi"}, headers={"Origin": page}) as posted:
            assert posted.status == 202
            assert posted.headers["Access-Control-Allow-Origin"] == page
            assert posted.headers["Vary"] == "Origin"
    assert (await client.recv_type("done"))[-1]["status"] == "complete"


@pytest.mark.parametrize(
    ("origin", "host", "allowed"),
    [
        (None, "127.0.0.1:8000", True),  # not a browser
        ("http://[::1]:8000", "[::1]:8000", True),
        ("HTTP://LOCALHOST:8000", "localhost:8000", True),  # as normalised
        ("http://localhost:8001", "localhost:8000", False),  # another local server's page
        ("null", "127.0.0.1:8000", False),  # a sandboxed frame or a file:// page
        ("http://192.168.1.20:8000", "192.168.1.20:8000", True),  # reached by its IP
        ("http://[fe80::1]:8000", "[fe80::1]:8000", True),
        ("http://192.168.1.20:8000", "10.0.0.1:8000", False),  # not the Host it reached
        ("http://evil.example:8000", "evil.example:8000", False),  # DNS rebinding
    ],
)
def test_the_origin_rule(origin, host, allowed):
    assert OriginPolicy("0.0.0.0", 8000).allows(origin, host) is allowed
