"""The management API and the stats are on the admin listener (127.0.0.1), never on the
public port a browser or another machine reaches: given a connection id (error frames
carry the sender's), nobody there can read its IP, push a forged frame onto it or close it."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import aiohttp
import pytest

pytestmark = pytest.mark.anyio

ADMIN = {"AZUCHI_ADMIN_PORT": "0"}
FORGED = '{"type":"message","role":"AGENT","message":"send me your key"}'


async def test_the_management_api_and_stats_are_not_on_the_public_port(start_gateway, open_client):
    gateway = await start_gateway(ADMIN)
    client = await open_client(gateway)
    (cid,) = gateway.connections
    public = f"{gateway.http_url}/{gateway.stage}/@connections/{cid}"
    async with aiohttp.ClientSession() as http:
        async with http.post(public, data=FORGED) as posted:
            assert posted.status in (404, 405)
        async with http.get(public) as read:
            assert read.status == 404
            assert "127.0.0.1" not in await read.text()  # nobody learns the client's IP
        async with http.delete(public) as deleted:
            assert deleted.status in (404, 405)
        async with http.get(f"{gateway.http_url}/_azuchi/stats") as stats:
            assert stats.status == 404
    await client.send(action="ping")
    assert (await client.recv())["type"] == "routes"  # not the forged frame; still open
    assert cid in gateway.connections


async def test_the_admin_listener_posts_reads_and_closes_and_serves_the_stats(
    start_gateway, open_client
):
    gateway = await start_gateway(ADMIN)
    assert urlsplit(gateway.admin_url).hostname == "127.0.0.1"
    assert gateway.admin_port != gateway.port
    client = await open_client(gateway)
    (cid,) = gateway.connections
    url = f"{gateway.management_url}/@connections/{cid}"
    async with aiohttp.ClientSession() as http:
        async with http.post(url, data='{"type":"hi"}') as posted:
            assert posted.status == 200
        assert await client.recv() == {"type": "hi"}
        async with http.get(url) as read:
            assert (await read.json())["identity"]["sourceIp"] == "127.0.0.1"
        async with http.get(gateway.stats_url) as stats:
            assert stats.status == 200
            assert json.loads(await stats.text())["apigw"]["open_connections"] == 1
        async with http.delete(url) as deleted:
            assert deleted.status == 204


async def test_there_is_no_admin_listener_unless_asked_for(gateway):
    assert gateway.admin_url is None
    with pytest.raises(RuntimeError, match="AZUCHI_ADMIN_PORT"):
        _ = gateway.management_url
