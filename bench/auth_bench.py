"""What sign-in costs per $connect: token verification in the authorizer, and the JWKS
fetches a stream of tokens causes (cached keys, one refetch per rotation, made-up key ids
spaced out).

    nice -n 10 .venv/bin/python -m bench.auth_bench [--tokens 2000]

Against the test issuer (testsupport/issuer.py, RS256 2048-bit, JWKS over HTTP on
127.0.0.1). Printed: verifications per second and the median / p99 per token, for the
authorizer's whole decision (parse the event, verify, build the policy) and for the
verifier alone; then the JWKS fetches for N good tokens, a rotation, and N made-up kids.
Figures only: nothing is asserted (noisy shared machine).
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import anyio

from adapters.auth.authorizer import Authorizer
from adapters.auth.settings import AuthSettings
from core.errors import InvalidToken
from testsupport.issuer import TestIssuer

ARN = "arn:aws:execute-api:us-east-1:123456789012:abcd1234/prod/$connect"


def connect_authorizer(query: dict[str, str]) -> dict[str, Any]:
    """The parts of API Gateway's REQUEST authorizer event before $connect that the
    authorizer reads (tests/handlers/samples.py has the whole event)."""
    return {
        "type": "REQUEST",
        "methodArn": ARN,
        "headers": {"Host": "abcd1234.execute-api.us-east-1.amazonaws.com"},
        "queryStringParameters": query,
        "requestContext": {"routeKey": "$connect", "eventType": "CONNECT", "stage": "prod"},
    }


def _figures(name: str, seconds: list[float]) -> None:
    ordered = sorted(seconds)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    print(
        f"{name:<28} {len(seconds) / sum(seconds):>8.0f}/s  median "
        f"{statistics.median(seconds) * 1e6:>6.0f} µs  p99 {p99 * 1e6:>6.0f} µs"
    )


async def main(tokens: int) -> None:
    with TestIssuer(audience="azuchi-web") as issuer:
        authorizer = Authorizer.from_settings(AuthSettings.from_env(issuer.env()))
        minted = [issuer.mint(f"user-{n}") for n in range(tokens)]
        events = [connect_authorizer({"access_token": t}) for t in minted]
        await authorizer.decide(events[0])  # the first fetch of the keys
        decide, verify = [], []
        for event, token in zip(events, minted, strict=True):
            started = time.perf_counter()
            await authorizer.decide(event)
            decide.append(time.perf_counter() - started)
            started = time.perf_counter()
            await authorizer._verifier.user_id(token)
            verify.append(time.perf_counter() - started)
        _figures("authorizer decision", decide)
        _figures("token verification", verify)
        print(f"JWKS fetches for {tokens} good tokens: {issuer.jwks_requests}")
        issuer.rotate()
        await authorizer.decide(connect_authorizer({"access_token": issuer.mint("x")}))
        print(f"... after a key rotation and one token of the new key: {issuer.jwks_requests}")
        n_made_up = 0
        for _ in range(tokens):
            stranger = issuer.mint("x", kid=f"made-up-{n_made_up}")
            n_made_up += 1
            try:
                await authorizer.decide(connect_authorizer({"access_token": stranger}))
            except InvalidToken:
                pass
        print(f"... after {tokens} tokens with a made-up kid: {issuer.jwks_requests}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=2000)
    anyio.run(main, parser.parse_args().tokens)
