"""A test OpenID Connect issuer: RSA keys, their JWKS served over HTTP on a free port, and
tokens minted with any claims.

    with TestIssuer(audience="azuchi-web") as issuer:
        env = issuer.env()                    # AZUCHI_AUTH_ISSUER / _AUDIENCE / _JWKS_URL
        token = issuer.mint("alice")          # signed by the current key, valid 5 minutes
        issuer.mint("bob", exp=past)          # any claim overridden (None: left out)
        issuer.rotate()                       # a new current key, published with the old

The JWKS is served by the standard library's threading HTTP server on its own thread, so a
synchronous test, an async one and a browser test can all use it; ``jwks_requests`` counts
the fetches (key rotation tests read it).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

DEFAULT_AUDIENCE = "azuchi-test-client"


class SigningKey:
    def __init__(self, kid: str | None = None) -> None:
        self.kid = kid or f"test-{uuid.uuid4().hex[:12]}"
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self) -> dict[str, Any]:
        public: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**public, "kid": self.kid, "use": "sig", "alg": "RS256"}


class TestIssuer:
    __test__ = False  # not a pytest class

    def __init__(self, audience: str = DEFAULT_AUDIENCE) -> None:
        self.audience = audience
        self.keys = [SigningKey()]
        self.jwks_requests = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def current(self) -> SigningKey:
        return self.keys[-1]

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the issuer is not serving")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def issuer(self) -> str:
        return self.base_url

    @property
    def jwks_url(self) -> str:
        return f"{self.base_url}/.well-known/jwks.json"

    def env(self, *, required: bool = False) -> dict[str, str]:
        """The settings that make azuchi trust this issuer."""
        env = {
            "AZUCHI_AUTH_ISSUER": self.issuer,
            "AZUCHI_AUTH_AUDIENCE": self.audience,
            "AZUCHI_AUTH_JWKS_URL": self.jwks_url,
        }
        if required:
            env["AZUCHI_AUTH_REQUIRED"] = "true"
        return env

    def rotate(self, *, drop_old: bool = False) -> SigningKey:
        """A new signing key, published (with the old ones unless ``drop_old``)."""
        key = SigningKey()
        self.keys = [key] if drop_old else [*self.keys, key]
        return key

    def mint(
        self,
        sub: str | None,
        *,
        key: SigningKey | None = None,
        kid: str | None = None,
        expires_in: int = 300,
        **claims: Any,
    ) -> str:
        """A signed JWT for ``sub``. ``claims`` override the defaults (iss, aud, iat, exp,
        token_use); a claim given as None is left out. ``key`` signs (default: the current
        key, which need not be published); ``kid`` overrides the header's key id."""
        signer = key or self.current
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": sub,
            "iat": now,
            "exp": now + expires_in,
            "token_use": "id",
        }
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        headers = {"kid": kid or signer.kid}
        return jwt.encode(body, signer.private, algorithm="RS256", headers=headers)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.jwk() for k in self.keys]}

    def start(self) -> TestIssuer:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] != "/.well-known/jwks.json":
                    self.send_error(404)
                    return
                issuer.jwks_requests += 1
                body = json.dumps(issuer.jwks()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="test-issuer", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self._server = None

    def __enter__(self) -> TestIssuer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
