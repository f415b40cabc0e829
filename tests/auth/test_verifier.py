"""Sign-in tokens from the test issuer (testsupport/issuer.py) through the real verifier
and a JWKS fetched over HTTP: a good token gives its user, every bad one a clear refusal
with its own code."""

from __future__ import annotations

import time
from collections.abc import Iterator

import jwt
import pytest

from adapters.auth.jwks import JwksCache
from adapters.auth.settings import AuthSettings
from adapters.auth.verifier import TokenVerifier
from adapters.settings import SettingsError
from core.errors import BackendUnavailable, InvalidToken
from testsupport.issuer import SigningKey, TestIssuer

pytestmark = pytest.mark.anyio


@pytest.fixture
def issuer() -> Iterator[TestIssuer]:
    with TestIssuer(audience="azuchi-web") as running:
        yield running


def verifier_for(issuer: TestIssuer, **env: str) -> TokenVerifier:
    return TokenVerifier.from_settings(AuthSettings.from_env({**issuer.env(), **env}))


async def refused(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(InvalidToken) as caught:
        await verifier.user_id(token)
    assert caught.value.message  # a sentence, for the log and the local 401 body
    return caught.value.code


async def test_a_valid_token_signs_its_user_in(issuer: TestIssuer) -> None:
    verifier = verifier_for(issuer)
    assert await verifier.user_id(issuer.mint("alice")) == "alice"
    assert await verifier.user_id(issuer.mint("bob")) == "bob"
    assert issuer.jwks_requests == 1  # the keys are fetched once and kept


async def test_an_expired_token_is_refused(issuer: TestIssuer) -> None:
    past = int(time.time()) - 3_600
    token = issuer.mint("alice", iat=past - 600, exp=past)
    assert await refused(verifier_for(issuer), token) == "TOKEN_EXPIRED"


async def test_expiry_allows_the_configured_clock_skew(issuer: TestIssuer) -> None:
    token = issuer.mint("alice", exp=int(time.time()) - 10)
    assert await verifier_for(issuer).user_id(token) == "alice"  # 30 s leeway by default
    strict = verifier_for(issuer, AZUCHI_AUTH_LEEWAY_S="0")
    assert await refused(strict, token) == "TOKEN_EXPIRED"


async def test_a_token_for_another_app_is_refused(issuer: TestIssuer) -> None:
    token = issuer.mint("alice", aud="someone-elses-app")
    assert await refused(verifier_for(issuer), token) == "TOKEN_WRONG_AUDIENCE"
    assert await refused(verifier_for(issuer), issuer.mint("alice", aud=None)) == (
        "TOKEN_WRONG_AUDIENCE"
    )


async def test_a_token_of_another_issuer_is_refused(issuer: TestIssuer) -> None:
    token = issuer.mint("alice", iss="https://evil.example.com")
    assert await refused(verifier_for(issuer), token) == "TOKEN_WRONG_ISSUER"


async def test_a_token_signed_with_another_key_under_a_published_kid_is_refused(
    issuer: TestIssuer,
) -> None:
    forged = issuer.mint("alice", key=SigningKey(), kid=issuer.current.kid)
    assert await refused(verifier_for(issuer), forged) == "TOKEN_BAD_SIGNATURE"


async def test_an_unknown_kid_fetches_the_keys_once_more_then_is_refused(
    issuer: TestIssuer,
) -> None:
    verifier = verifier_for(issuer, AZUCHI_AUTH_JWKS_REFETCH_S="0")
    assert await verifier.user_id(issuer.mint("alice")) == "alice"
    stranger = issuer.mint("alice", key=SigningKey())  # a key the issuer never published
    assert await refused(verifier, stranger) == "TOKEN_UNKNOWN_KEY"
    assert issuer.jwks_requests == 2  # the first fetch, and one more for the unknown kid


async def test_a_rotated_key_is_picked_up_without_a_restart(issuer: TestIssuer) -> None:
    verifier = verifier_for(issuer, AZUCHI_AUTH_JWKS_REFETCH_S="0")
    assert await verifier.user_id(issuer.mint("alice")) == "alice"
    issuer.rotate(drop_old=True)
    assert await verifier.user_id(issuer.mint("bob")) == "bob"
    assert issuer.jwks_requests == 2


async def test_made_up_kids_cost_the_issuer_one_fetch_per_interval(issuer: TestIssuer) -> None:
    verifier = verifier_for(issuer)  # refetch at most every 30 s
    await verifier.user_id(issuer.mint("alice"))
    for n in range(20):
        assert await refused(verifier, issuer.mint("x", kid=f"made-up-{n}")) == "TOKEN_UNKNOWN_KEY"
    assert issuer.jwks_requests == 2  # the first fetch, and one refetch in the interval


async def test_a_rotation_just_after_the_first_fetch_is_picked_up_at_once(
    issuer: TestIssuer,
) -> None:
    verifier = verifier_for(issuer)  # the default 30 s refetch spacing
    assert await verifier.user_id(issuer.mint("alice")) == "alice"
    issuer.rotate()
    assert await verifier.user_id(issuer.mint("bob")) == "bob"
    assert issuer.jwks_requests == 2


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-jwt",
        "a.b.c",
        "eyJhbGciOiJSUzI1NiJ9.e30",  # two parts
        "x" * 20_000,
    ],
)
async def test_a_malformed_token_is_refused(issuer: TestIssuer, token: str) -> None:
    assert await refused(verifier_for(issuer), token) in ("TOKEN_MALFORMED", "TOKEN_UNKNOWN_KEY")
    assert issuer.jwks_requests == 0  # refused before any key is fetched


async def test_unsigned_and_hmac_tokens_are_never_accepted(issuer: TestIssuer) -> None:
    """alg "none", and HS256 keyed with the issuer's public key (the classic confusion)."""
    verifier = verifier_for(issuer)
    body = {"iss": issuer.issuer, "aud": "azuchi-web", "sub": "mallory", "exp": 2**31}
    unsigned = jwt.encode(body, None, algorithm="none", headers={"kid": issuer.current.kid})
    assert await refused(verifier, unsigned) == "TOKEN_UNKNOWN_KEY"
    public = issuer.current.jwk()["n"].encode()
    hmac = jwt.encode(body, public, algorithm="HS256", headers={"kid": issuer.current.kid})
    assert await refused(verifier, hmac) == "TOKEN_UNKNOWN_KEY"


async def test_a_token_without_a_user_is_refused(issuer: TestIssuer) -> None:
    assert await refused(verifier_for(issuer), issuer.mint(None)) == "TOKEN_NO_USER"


async def test_a_cognito_access_token_is_checked_by_its_client_id(issuer: TestIssuer) -> None:
    """Cognito access tokens carry client_id and no aud."""
    access = issuer.mint("alice", aud=None, client_id="azuchi-web", token_use="access")
    assert await verifier_for(issuer).user_id(access) == "alice"
    other = issuer.mint("alice", aud=None, client_id="another", token_use="access")
    assert await refused(verifier_for(issuer), other) == "TOKEN_WRONG_AUDIENCE"


async def test_an_issuer_that_cannot_be_reached_is_a_backend_failure_not_a_refusal() -> None:
    async def down() -> bytes:
        raise OSError("connection refused")

    settings = AuthSettings.from_env(
        {"AZUCHI_AUTH_ISSUER": "https://issuer.example", "AZUCHI_AUTH_AUDIENCE": "a"}
    )
    verifier = TokenVerifier(settings, JwksCache(down))
    with TestIssuer() as other:
        with pytest.raises(BackendUnavailable):
            await verifier.user_id(other.mint("alice"))


async def test_known_keys_survive_an_issuer_outage(issuer: TestIssuer) -> None:
    now = [0.0]
    fetch_ok = [True]

    async def fetch() -> bytes:
        if not fetch_ok[0]:
            raise OSError("down")
        import json

        return json.dumps(issuer.jwks()).encode()

    keys = JwksCache(fetch, max_age_s=60, monotonic=lambda: now[0])
    verifier = TokenVerifier(AuthSettings.from_env(issuer.env()), keys)
    assert await verifier.user_id(issuer.mint("alice")) == "alice"
    fetch_ok[0], now[0] = False, 120.0  # the keys are stale and the issuer is down
    assert await verifier.user_id(issuer.mint("alice")) == "alice"


def test_sign_in_settings_refuse_half_a_configuration() -> None:
    with pytest.raises(SettingsError, match="AZUCHI_AUTH_AUDIENCE"):
        AuthSettings.from_env({"AZUCHI_AUTH_ISSUER": "https://issuer.example"})
    with pytest.raises(SettingsError, match="AZUCHI_AUTH_ISSUER"):
        AuthSettings.from_env({"AZUCHI_AUTH_REQUIRED": "true"})
    assert not AuthSettings.from_env({}).enabled
    cognito = AuthSettings.from_env(
        {
            "AZUCHI_AUTH_ISSUER": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc",
            "AZUCHI_AUTH_AUDIENCE": "client1, client2",
        }
    )
    assert cognito.keys_url == (
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc/.well-known/jwks.json"
    )
    assert cognito.audiences == ("client1", "client2")
