"""The deployment facts: each Lambda function infra/template.yaml deploys, said once.

Read by the route table (``handlers.routes``), the packager (``tooling.package``: one folder
per function, the model SDK only where a model is called), the local gateway's stats (the
function each route runs as, and its memory size), the load test's operations record and
the cost model (GB-seconds), and tests/infra/test_template_consistency.py, which fails when
the template's routes, handler, CodeUri, MemorySize, Timeout, VPC placement or IAM grants
disagree with what is written here. Pure data: it imports nothing of azuchi, so every one of
those readers, the Lambda folders included, can load it without the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

# The ports a function's code path uses (registry names; ``launcher`` is the reply
# launcher, core.ports.ReplyLauncher). The template check reads them as grants: lock and
# memory decide the DynamoDB tables of the lean profile and the VPC of the redis profile,
# transport the @connections right, launcher the right to invoke the worker, model Bedrock.
PORTS = frozenset({"storage", "lock", "memory", "limits", "model", "transport", "launcher"})

# What invokes a function: an API Gateway WebSocket route, the agent REST API, the reply
# launcher (AZUCHI_REPLY_LAUNCHER=lambda invokes the worker asynchronously), or the SQS
# queue the worker's failed asynchronous invocations land in (its on-failure destination),
# or API Gateway asking the Lambda authorizer of $connect (sign-in on; docs/auth.md).
Trigger = Literal["websocket", "rest", "launcher", "failure-queue", "authorizer"]
AwsClient = Literal["sdk", "lite"]
UNROUTED: frozenset[str] = frozenset({"launcher", "failure-queue", "authorizer"})

LAMBDA_MEMORY_MB = (128, 10_240)  # what Lambda accepts, in MB
LAMBDA_TIMEOUT_S = (1, 900)


@dataclass(frozen=True, slots=True)
class LambdaFunction:
    """One function of the template: ``handlers/<name>.py``'s ``handler``, built into
    ``build/lambda/<name>/`` (its CodeUri), invoked by ``trigger`` on ``routes``."""

    name: str
    trigger: Trigger
    routes: tuple[str, ...]  # WebSocket route keys, or the REST key "METHOD /path"; () else
    memory_mb: int
    timeout_s: int
    ports: frozenset[str]

    def __post_init__(self) -> None:
        # A wrong fact would be deployed as it is: refuse it where it is written.
        if (self.trigger in UNROUTED) != (not self.routes):
            raise ValueError(
                f"{self.name}: only a {'/'.join(sorted(UNROUTED))} function has no routes"
            )
        if self.trigger == "rest" and any(" /" not in route for route in self.routes):
            raise ValueError(f"{self.name}: a REST route key is 'METHOD /path': {self.routes}")
        if not LAMBDA_MEMORY_MB[0] <= self.memory_mb <= LAMBDA_MEMORY_MB[1]:
            raise ValueError(f"{self.name}: memory {self.memory_mb} MB is outside Lambda's")
        if not LAMBDA_TIMEOUT_S[0] <= self.timeout_s <= LAMBDA_TIMEOUT_S[1]:
            raise ValueError(f"{self.name}: timeout {self.timeout_s} s is outside Lambda's")
        if unknown := self.ports - PORTS:
            raise ValueError(f"{self.name}: unknown ports {sorted(unknown)}")

    @property
    def module(self) -> str:
        return f"handlers.{self.name}"

    @property
    def handler(self) -> str:
        """The template's ``Handler``."""
        return f"{self.module}.handler"

    @property
    def verifies_tokens(self) -> bool:
        """Only such a function gets the JWT library (PyJWT, cryptography)."""
        return self.trigger == "authorizer"

    @property
    def talks_to_model(self) -> bool:
        """Only such a function gets the model's SDK (openai) and the model's rights."""
        return "model" in self.ports

    @property
    def aws_client(self) -> AwsClient:
        """The client of its AWS adapters (DynamoDB, @connections, Invoke): the SDK
        (aioboto3, which Bedrock needs anyway) where a model is called, else the
        standard-library ``lite`` client (adapters/aws/lite), whose folder then ships no
        botocore, aiobotocore or aiohttp: about two thirds of a small function's init
        (README, "Cold starts"). ``AZUCHI_AWS_CLIENT`` in the environment overrides it."""
        return "sdk" if self.talks_to_model else "lite"


def _fn(
    name: str, trigger: Trigger, routes: tuple[str, ...], memory_mb: int, timeout_s: int, ports: str
) -> LambdaFunction:
    return LambdaFunction(name, trigger, routes, memory_mb, timeout_s, frozenset(ports.split()))


GENERATE_ROUTE = "POST /api/v1/chat/sessions/{sessionId}/reply/generate"

# Sizes: 128 MB / 3 s for connect and disconnect (DESIGN §7: a few DynamoDB calls); 128 MB
# for default, stop_generation and rename_session (a read and a post); 256 MB where a
# message is stored and fanned out; 256 MB / 30 s for delete_session, which deletes a long
# chat 25 messages per BatchWriteItem; 512 MB / 300 s for the worker, which streams a whole
# reply; 256 MB / 10 s for regenerate (a few reads, a delete of one turn, a post per
# tab); 128 MB / 30 s for the failure consumer (a few reads, a note, a post per connection);
# 128 MB for list_sessions (one index query, one post); 128 MB / 5 s for the authorizer.
FUNCTIONS: tuple[LambdaFunction, ...] = (
    # name, trigger, routes, memory MB, timeout s, ports
    _fn("connect", "websocket", ("$connect",), 128, 3, "storage limits"),
    _fn("disconnect", "websocket", ("$disconnect",), 128, 3, "storage"),
    _fn("default", "websocket", ("$default",), 128, 10, "storage transport"),
    # putMessage, and approveTool / denyTool (a decision is a USER message, stored alike).
    _fn(
        "put_message",
        "websocket",
        ("putMessage", "approveTool", "denyTool"),
        256,
        10,
        "storage limits transport launcher",
    ),
    _fn("get_messages", "websocket", ("getMessages",), 256, 10, "storage transport"),
    _fn("stop_generation", "websocket", ("stopGeneration",), 128, 10, "storage lock transport"),
    _fn("rename_session", "websocket", ("renameSession",), 128, 10, "storage transport"),
    _fn("delete_session", "websocket", ("deleteSession",), 256, 30, "storage transport"),
    # Takes the last turn back under the session lock, forgets the agent's memory of it.
    _fn(
        "regenerate",
        "websocket",
        ("regenerate", "editMessage"),
        256,
        10,
        "storage lock memory limits transport launcher",
    ),
    _fn("list_sessions", "websocket", ("listSessions",), 128, 10, "storage transport"),
    _fn("generate_reply", "rest", (GENERATE_ROUTE,), 256, 10, "storage limits transport launcher"),
    _fn("reply_worker", "launcher", (), 512, 300, "storage lock memory limits model transport"),
    # Reads a failed worker invocation from the failure queue and tells the session.
    _fn("reply_failures", "failure-queue", (), 128, 30, "storage transport"),
    # The $connect authorizer: verifies a sign-in token against the issuer's JWKS (one
    # HTTPS fetch per cold start and key rotation); no table, no port.
    _fn("authorize", "authorizer", (), 128, 5, ""),
)

BY_NAME: Mapping[str, LambdaFunction] = MappingProxyType({f.name: f for f in FUNCTIONS})
BY_ROUTE: Mapping[str, LambdaFunction] = MappingProxyType(
    {route: f for f in FUNCTIONS for route in f.routes}
)
(REPLY_WORKER,) = (f for f in FUNCTIONS if f.trigger == "launcher")
