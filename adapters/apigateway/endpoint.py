"""Where the management API of a WebSocket API lives, from settings or from an event.

AZUCHI_APIGW_ENDPOINT set              that URL, always (the reply worker needs it: its
                                       events come from Lambda, not from API Gateway)
requestContext.domainName ...
├── *.amazonaws.com(.cn)               https://{domainName}/{stage}
├── a custom domain (api.example.com)  https://{apiId}.execute-api.{region}.amazonaws.com/{stage}
│                                      (the custom domain maps a base path, not the stage,
│                                      and requests to it fail signing: 403)
└── HOST:PORT (the local emulator)     http://{domainName}/{stage} (API Gateway never puts a
                                       port in domainName; only an emulator does)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

AWS_SUFFIXES = (".amazonaws.com", ".amazonaws.com.cn")


def endpoint_from_event(event: Mapping[str, Any], region: str) -> str | None:
    """The management endpoint for the API that sent ``event``; None for events that do not
    come from API Gateway (an asynchronous invocation's payload, a test's dict)."""
    context = event.get("requestContext")
    if not isinstance(context, Mapping):
        return None
    domain = context.get("domainName")
    stage = context.get("stage")
    if not isinstance(domain, str) or not domain or not isinstance(stage, str) or not stage:
        return None
    host = domain.rsplit(":", 1)
    if len(host) == 2 and host[1].isdigit():
        return f"http://{domain}/{stage}"
    if domain.endswith(AWS_SUFFIXES):
        return f"https://{domain}/{stage}"
    api_id = context.get("apiId")
    if isinstance(api_id, str) and api_id:
        suffix = AWS_SUFFIXES[1] if region.startswith("cn-") else AWS_SUFFIXES[0]
        return f"https://{api_id}.execute-api.{region}{suffix}/{stage}"
    return f"https://{domain}/{stage}"
