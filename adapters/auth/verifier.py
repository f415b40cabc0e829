"""Verifying a sign-in token: an OpenID Connect ID token or a Cognito access token.

Checked, in order: it is a JWT (``TOKEN_MALFORMED``); its header names an asymmetric
algorithm and a key the issuer publishes (``TOKEN_UNKNOWN_KEY``; "none" and HMAC are never
accepted, so a token cannot be signed with the public key as a secret); the signature
(``TOKEN_BAD_SIGNATURE``); ``exp`` / ``nbf`` with ``leeway_s`` of clock skew
(``TOKEN_EXPIRED``, ``TOKEN_NOT_YET_VALID``); ``iss`` (``TOKEN_WRONG_ISSUER``); the audience:
``aud`` (ID tokens) or, when a token has none, Cognito's ``client_id`` (access tokens),
against ``AZUCHI_AUTH_AUDIENCE`` (``TOKEN_WRONG_AUDIENCE``); and a user id in
``AZUCHI_AUTH_USER_CLAIM`` (``sub``; ``TOKEN_NO_USER``). PyJWT's errors are mapped here, at
the edge, into ``InvalidToken`` with those codes.
"""

from __future__ import annotations

from typing import Any

import jwt

from adapters.auth.jwks import JwksCache, url_fetch
from adapters.auth.settings import AuthSettings
from core.errors import InvalidToken

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384")
MAX_TOKEN_CHARS = 16_384  # a header's worth; a bigger "token" is refused unread
MAX_USER_ID_CHARS = 256


class TokenVerifier:
    def __init__(self, settings: AuthSettings, keys: JwksCache) -> None:
        if settings.issuer is None:
            raise ValueError("a TokenVerifier needs an issuer")
        self._settings = settings
        self._issuer = settings.issuer
        self._keys = keys

    @classmethod
    def from_settings(cls, settings: AuthSettings) -> TokenVerifier:
        fetch = url_fetch(settings.keys_url, settings.jwks_timeout_s)
        keys = JwksCache(
            fetch, max_age_s=settings.jwks_max_age_s, refetch_s=settings.jwks_refetch_s
        )
        return cls(settings, keys)

    async def user_id(self, token: str) -> str:
        """The signed-in user's id, or ``InvalidToken`` saying why the token is refused."""
        header = _header(token)
        kid = header.get("kid")
        if header.get("alg") not in ALGORITHMS or not isinstance(kid, str):
            raise InvalidToken(
                "The token is not signed with a key of the issuer (its header names no "
                "accepted algorithm and key id).",
                code="TOKEN_UNKNOWN_KEY",
            )
        key = await self._keys.key_for(kid)
        claims = self._decode(token, key)
        user = claims.get(self._settings.user_claim)
        if not isinstance(user, str) or not user or len(user) > MAX_USER_ID_CHARS:
            raise InvalidToken(
                f"The token carries no user id (claim {self._settings.user_claim!r}).",
                code="TOKEN_NO_USER",
            )
        return user

    def _decode(self, token: str, key: jwt.PyJWK) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[key.algorithm_name] if key.algorithm_name in ALGORITHMS else [],
                issuer=self._issuer,
                leeway=self._settings.leeway_s,
                options={"verify_aud": False, "require": ["exp", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken(
                "The sign-in has expired; sign in again.", code="TOKEN_EXPIRED"
            ) from None
        except jwt.ImmatureSignatureError:
            raise InvalidToken(
                "The token is not valid yet (nbf or iat in the future); check the clock.",
                code="TOKEN_NOT_YET_VALID",
            ) from None
        except jwt.InvalidIssuerError:
            raise InvalidToken(
                "The token was issued by another issuer than this server trusts.",
                code="TOKEN_WRONG_ISSUER",
            ) from None
        except jwt.InvalidSignatureError:
            raise InvalidToken(
                "The token's signature does not match the issuer's key.",
                code="TOKEN_BAD_SIGNATURE",
            ) from None
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidToken(
                f"The token has no {exc.claim!r} claim.", code="TOKEN_MALFORMED"
            ) from None
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"The token cannot be read: {exc}", code="TOKEN_MALFORMED") from None
        self._check_audience(claims)
        return claims

    def _check_audience(self, claims: dict[str, Any]) -> None:
        aud = claims.get("aud", claims.get("client_id"))
        listed = aud if isinstance(aud, list) else [aud]
        granted = {a for a in listed if isinstance(a, str)}
        if not granted & set(self._settings.audiences):
            raise InvalidToken(
                "The token was issued for another application (its audience).",
                code="TOKEN_WRONG_AUDIENCE",
            )


def _header(token: str) -> dict[str, Any]:
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS or token.count(".") != 2:
        raise InvalidToken("The sign-in token is not a JWT.", code="TOKEN_MALFORMED")
    try:
        return jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise InvalidToken("The sign-in token is not a JWT.", code="TOKEN_MALFORMED") from None
