"""Sign-in settings, read once from ``AZUCHI_AUTH_*`` (docs/auth.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from adapters.settings import EnvReader, SettingsError

# The issuer's public keys, when AZUCHI_AUTH_JWKS_URL is not set: OpenID Connect
# discovery's usual place, and where Cognito serves them (<issuer>/.well-known/jwks.json).
JWKS_PATH = "/.well-known/jwks.json"


@dataclass(frozen=True, slots=True)
class AuthSettings:
    """``issuer`` None: sign-in is off and every caller is anonymous."""

    issuer: str | None = None
    audiences: tuple[str, ...] = ()
    jwks_url: str | None = None
    required: bool = False  # no token: refused (401) instead of anonymous
    user_claim: str = "sub"
    leeway_s: int = 30  # clock skew allowed on exp / nbf / iat
    jwks_max_age_s: int = 3_600  # keys are fetched again after this long
    jwks_refetch_s: int = 30  # an unknown kid fetches again at most this often
    jwks_timeout_s: float = 3.0

    @property
    def enabled(self) -> bool:
        return self.issuer is not None

    @property
    def keys_url(self) -> str:
        if self.jwks_url:
            return self.jwks_url
        if self.issuer is None:
            raise SettingsError("sign-in is off: no AZUCHI_AUTH_ISSUER")
        return self.issuer.rstrip("/") + JWKS_PATH

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AuthSettings:
        read = EnvReader(env)
        issuer = (env.get("AZUCHI_AUTH_ISSUER") or "").strip() or None
        audiences = tuple(
            a.strip() for a in (env.get("AZUCHI_AUTH_AUDIENCE") or "").split(",") if a.strip()
        )
        required = read.bool("AZUCHI_AUTH_REQUIRED", False)
        jwks_url = (env.get("AZUCHI_AUTH_JWKS_URL") or "").strip() or None
        if issuer is None and (audiences or required or jwks_url):
            raise SettingsError(
                "AZUCHI_AUTH_AUDIENCE, AZUCHI_AUTH_JWKS_URL and AZUCHI_AUTH_REQUIRED need "
                "AZUCHI_AUTH_ISSUER (the token issuer's URL, the 'iss' claim)"
            )
        if issuer is not None and not audiences:
            raise SettingsError(
                "AZUCHI_AUTH_ISSUER needs AZUCHI_AUTH_AUDIENCE: the client id(s) tokens are "
                "issued for (comma-separated); a token for another app must not sign in here"
            )
        return cls(
            issuer=issuer,
            audiences=audiences,
            jwks_url=jwks_url,
            required=required,
            user_claim=(env.get("AZUCHI_AUTH_USER_CLAIM") or "sub").strip(),
            leeway_s=read.int("AZUCHI_AUTH_LEEWAY_S", 30, low=0),
            jwks_max_age_s=read.int("AZUCHI_AUTH_JWKS_MAX_AGE_S", 3_600, low=1),
            jwks_refetch_s=read.int("AZUCHI_AUTH_JWKS_REFETCH_S", 30, low=0),
        )
