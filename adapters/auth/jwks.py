"""The issuer's signing keys (a JWKS), fetched and cached.

    key_for(kid) ──► cached and fresh? ──► the key
                └──► unknown kid, or keys older than max_age ──► fetch once ──► the key,
                     or TOKEN_UNKNOWN_KEY

Issuers rotate keys by publishing the new one before signing with it, so a kid not in the
cache means "fetch again", once: a token naming a kid the fresh set lacks is refused. The
fetches an unknown kid can cause are spaced ``refetch_s`` apart, so a stream of made-up
kids costs the issuer one request per interval, not one per token (the scheduled fetches
do not count, so a rotation just after one is still picked up at once). A failed fetch keeps the
keys already known (a brief issuer outage does not sign everyone out).
"""

from __future__ import annotations

import json
import logging
import time
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.to_thread
import jwt

from core.errors import BackendUnavailable, InvalidToken

log = logging.getLogger(__name__)

Fetch = Callable[[], Awaitable[bytes]]


def url_fetch(url: str, timeout_s: float) -> Fetch:
    """GETs ``url`` off the event loop (urllib: no third-party client in the Lambda)."""

    def get() -> bytes:
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            body: bytes = response.read(1_000_000)
            return body

    async def fetch() -> bytes:
        return await anyio.to_thread.run_sync(get)

    return fetch


class JwksCache:
    """Keys by ``kid``. ``monotonic`` is injectable so tests move time by hand."""

    def __init__(
        self,
        fetch: Fetch,
        *,
        max_age_s: float = 3_600,
        refetch_s: float = 30,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._max_age_s = max_age_s
        self._refetch_s = refetch_s
        self._monotonic = monotonic
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._refetched_at: float | None = None  # the last fetch an unknown kid caused
        self._lock = anyio.Lock()
        self.fetches = 0  # how often the issuer was asked (tests and logs read it)

    async def key_for(self, kid: str) -> jwt.PyJWK:
        now = self._monotonic()
        stale = self._fetched_at is None or now - self._fetched_at >= self._max_age_s
        unknown = kid not in self._keys and self._may_refetch(now)
        if stale or unknown:
            async with self._lock:  # one fetch for every token waiting on it
                if self._fetched_at is None or self._fetched_at <= now:
                    if unknown and not stale:
                        self._refetched_at = now
                    await self._refresh()
        key = self._keys.get(kid)
        if key is None:
            raise InvalidToken(
                f"The token was signed with key {kid[:64]!r}, which the issuer does not "
                "publish; sign in again.",
                code="TOKEN_UNKNOWN_KEY",
            )
        return key

    def _may_refetch(self, now: float) -> bool:
        """Only fetches an unknown kid caused count: a rotation right after the scheduled
        fetch is still picked up at once."""
        return self._refetched_at is None or now - self._refetched_at >= self._refetch_s

    async def _refresh(self) -> None:
        self.fetches += 1
        try:
            keys = parse_jwks(await self._fetch())
        except Exception as exc:  # any failure of the issuer: keep what we had
            self._fetched_at = self._monotonic()
            if self._keys:
                log.warning("JWKS fetch failed, keeping %d known keys: %s", len(self._keys), exc)
                return
            raise BackendUnavailable(f"The sign-in keys could not be fetched: {exc}") from exc
        self._keys = keys
        self._fetched_at = self._monotonic()


def parse_jwks(body: bytes) -> dict[str, jwt.PyJWK]:
    """The signing keys of a JWKS document by kid (keys without a kid, or of a kind PyJWT
    cannot use, are left out)."""
    document: Any = json.loads(body)
    keys: dict[str, jwt.PyJWK] = {}
    for raw in document.get("keys", []) if isinstance(document, dict) else []:
        if not isinstance(raw, dict) or not isinstance(raw.get("kid"), str):
            continue
        if raw.get("use", "sig") != "sig":
            continue
        try:
            keys[raw["kid"]] = jwt.PyJWK(raw)
        except jwt.PyJWTError as exc:
            log.warning("JWKS key %r left out: %s", raw.get("kid"), exc)
    return keys
