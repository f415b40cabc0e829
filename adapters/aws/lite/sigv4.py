"""AWS Signature Version 4 for a request's headers, as botocore's ``SigV4Auth`` signs it.

Same canonical request: the path normalised (dot segments and repeated slashes removed)
and percent-encoded again except ``/~`` (non-S3 services double-encode), the query sorted
as it stands in the URL, every header but ``expect``, ``transfer-encoding``, ``user-agent``
and ``x-amzn-trace-id`` signed (``host`` added without a default port), values trimmed,
the body's SHA-256. tests/aws_lite/test_sigv4.py compares the signatures with botocore's.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

from adapters.aws.lite.errors import NoCredentials

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_HEADERS = frozenset({"expect", "transfer-encoding", "user-agent", "x-amzn-trace-id"})
TIMESTAMP = "%Y%m%dT%H%M%SZ"
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class Credentials:
    access_key: str
    secret_key: str
    token: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Credentials:
        """The variables Lambda sets for the function's role (and what tests set)."""
        env = os.environ if env is None else env
        access = env.get("AWS_ACCESS_KEY_ID") or env.get("AWS_ACCESS_KEY")
        secret = env.get("AWS_SECRET_ACCESS_KEY") or env.get("AWS_SECRET_KEY")
        if not access or not secret:
            raise NoCredentials(
                "No AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set "
                "(Lambda sets them for the function's role; the lite client reads nothing "
                "else: set AZUCHI_AWS_CLIENT=sdk for profiles or instance metadata)."
            )
        return cls(access, secret, env.get("AWS_SESSION_TOKEN") or None)


def sign(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    *,
    credentials: Credentials,
    region: str,
    service: str,
    now: datetime | None = None,
) -> dict[str, str]:
    """``headers`` plus ``X-Amz-Date``, ``X-Amz-Security-Token`` (with a session token) and
    ``Authorization``; a previous signature's headers are replaced (a retried request)."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    stamp = moment.strftime(TIMESTAMP)
    out = {
        k: v
        for k, v in headers.items()
        if k.lower() not in ("authorization", "x-amz-date", "x-amz-security-token")
    }
    out["X-Amz-Date"] = stamp
    if credentials.token:
        out["X-Amz-Security-Token"] = credentials.token
    signed = _headers_to_sign(out, url)
    names = sorted(signed)
    canonical = "\n".join(
        [
            method.upper(),
            canonical_path(urlsplit(url).path),
            canonical_query(urlsplit(url).query),
            "".join(f"{name}:{signed[name]}\n" for name in names),
            ";".join(names),
            out.get("X-Amz-Content-SHA256") or hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{stamp[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        [ALGORITHM, stamp, scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()]
    )
    key = _hmac(f"AWS4{credentials.secret_key}".encode(), stamp[:8])
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    out["Authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return out


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def _headers_to_sign(headers: Mapping[str, str], url: str) -> dict[str, str]:
    grouped: dict[str, list[str]] = {}
    for name, value in headers.items():
        lname = name.lower()
        if lname not in UNSIGNED_HEADERS:
            grouped.setdefault(lname, []).append(" ".join(str(value).split()))
    if "host" not in grouped:
        grouped["host"] = [host_header(url)]
    return {name: ",".join(values) for name, values in grouped.items()}


def host_header(url: str) -> str:
    """The Host of ``url``: lower case, without userinfo or the scheme's default port."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    if parts.port is not None and parts.port != DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{parts.port}"
    return host


def canonical_path(path: str) -> str:
    return quote(_remove_dot_segments(path) if path else "/", safe="/~")


def _remove_dot_segments(url: str) -> str:
    # RFC 3986 5.2.4, and no empty segments (AWS's rule), as botocore's normalize_url_path.
    output: list[str] = []
    for segment in url.split("/"):
        if segment and segment != ".":
            if segment == "..":
                if output:
                    output.pop()
            else:
                output.append(segment)
    first = "/" if url.startswith("/") else ""
    last = "/" if url.endswith("/") and output else ""
    return first + "/".join(output) + last


def canonical_query(query: str) -> str:
    """The URL's query, pairs sorted as they are written (already percent-encoded)."""
    if not query:
        return ""
    pairs = []
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        pairs.append((key, value))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))
