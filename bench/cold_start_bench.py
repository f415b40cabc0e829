"""Cold start of every packaged Lambda function, under a CPU quota proportional to its memory.

    .venv/bin/python bench/cold_start_bench.py [--artefacts build/lambda-local] [--no-build]
                                               [--runs 1] [--no-quota]

Each function's folder is built by `azuchi package` (``--platform local``: this
interpreter's wheels and .pyc, the same code and layout as `make package`'s arm64 folders).
Each function then runs in a fresh ``python -I -S`` process with only its folder on
``sys.path``, the environment the template gives it (Globals + its own variables, lean
profile, bedrock), and a realistic API Gateway event, against DynamoDB Local (started here)
and a stub of the @connections, Lambda Invoke and Bedrock ConverseStream endpoints. The
process runs in a CPU cgroup whose quota is its memory / 1,769 MB of one CPU (Lambda gives a
full vCPU at 1,769 MB): cgroup v2 ``cpu.max`` where the unified hierarchy has the cpu
controller, else cgroup v1 ``cpu.cfs_quota_us``; without either (not root, no cgroupfs)
it says so and runs unthrottled.

Printed per function: init (process start → handler module imported, which inside Lambda
builds and warms the app), the first call, both as wall time and CPU time, the call's share
of the timeout, and the answer. Order: connect, default, putMessage (its asynchronous
invoke is recorded by the stub), getMessages, stopGeneration, the REST generate, the
reply worker (answers what putMessage and generate left pending, through the Bedrock stub),
disconnect. Figures only: nothing is asserted (noisy shared machine).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiohttp import web  # noqa: E402

from adapters.dynamodb.tables import CfnTag, load_template  # noqa: E402
from adapters.local_gateway.events import (  # noqa: E402
    RestRequest,
    SocketInfo,
    connect_event,
    disconnect_event,
    message_event,
    rest_proxy_event,
)
from handlers.functions import BY_NAME, GENERATE_ROUTE, LambdaFunction  # noqa: E402
from testsupport.aws_credentials import DUMMY_CREDENTIALS  # noqa: E402
from testsupport.dynamodb_local import LocalUnavailable, fresh_tables, shared_endpoint  # noqa: E402
from testsupport.lambda_events import failed_invocation  # noqa: E402
from testsupport.stubs.bedrock import BedrockStub  # noqa: E402
from testsupport.stubs.thread import StubOnThread  # noqa: E402

FULL_CPU_MB = 1_769  # Lambda: one vCPU at 1,769 MB, proportionally less below
PERIOD_US = 100_000
TARGET_SHARE = 0.40  # of the timeout, for the first call
STAGE = "bench"
API_ID = "benchapi01"
ORDER = (
    "connect",
    "default",
    "put_message",
    "get_messages",
    "stop_generation",
    "rename_session",
    "generate_reply",
    "reply_worker",
    "regenerate",
    "list_sessions",
    "authorize",
    "reply_failures",
    "delete_session",
    "disconnect",
)

CHILD = r"""
import json, os, sys, time
started = time.time()
p0, c0 = time.perf_counter(), time.process_time()
folder, module, event_path = sys.argv[1:4]
sys.path.insert(0, folder)
import importlib
handler = importlib.import_module(module).handler
p1, c1 = time.perf_counter(), time.process_time()
with open(event_path) as f:
    event = json.load(f)
result = handler(event, None)
p2, c2 = time.perf_counter(), time.process_time()
print(json.dumps({"started": started, "import_s": p1 - p0, "import_cpu_s": c1 - c0,
                  "call_s": p2 - p1, "call_cpu_s": c2 - c1, "result": result}, default=str))
"""


# --- the CPU quota ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CpuQuota:
    """One cgroup per run, limited to ``share`` of one CPU; ``join`` runs in the child."""

    path: Path | None
    kind: str  # "cgroup v2 cpu.max", "cgroup v1 cfs_quota_us", or why there is none

    @classmethod
    def make(cls, name: str, share: float) -> CpuQuota:
        quota = max(1_000, int(PERIOD_US * share))
        v2 = Path("/sys/fs/cgroup")
        try:
            controllers = (v2 / "cgroup.controllers").read_text().split()
        except OSError:
            controllers = []
        try:
            if "cpu" in controllers:
                path = v2 / name
                path.mkdir()
                (path / "cpu.max").write_text(f"{quota} {PERIOD_US}")
                return cls(path, "cgroup v2 cpu.max")
            v1 = Path("/sys/fs/cgroup/cpu")
            if (v1 / "cpu.cfs_quota_us").exists():
                path = v1 / name
                path.mkdir()
                (path / "cpu.cfs_period_us").write_text(str(PERIOD_US))
                (path / "cpu.cfs_quota_us").write_text(str(quota))
                return cls(path, "cgroup v1 cpu.cfs_quota_us")
        except OSError as error:
            return cls(None, f"no CPU quota ({error}): unthrottled")
        return cls(None, "no CPU quota (no cgroup cpu controller): unthrottled")

    def join(self) -> None:
        if self.path is not None:
            (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def remove(self) -> None:
        if self.path is not None:
            with suppress(OSError):
                self.path.rmdir()


# --- the endpoints the functions call ---------------------------------------------------------


@dataclass
class Edges:
    """@connections, Lambda Invoke and Bedrock ConverseStream on one port."""

    url: str = ""
    posts: int = 0
    invokes: int = 0
    bedrock: BedrockStub | None = None


@asynccontextmanager
async def running_edges() -> AsyncIterator[Edges]:
    edges = Edges(bedrock=BedrockStub(tokens_per_second=0.0, reply_tokens=40))

    async def post(request: web.Request) -> web.Response:
        await request.read()
        edges.posts += 1
        return web.Response(status=200)

    async def delete(request: web.Request) -> web.Response:
        return web.Response(status=204)

    async def invoke(request: web.Request) -> web.Response:
        await request.read()
        edges.invokes += 1
        return web.Response(status=202)

    app = web.Application()
    app.router.add_post(f"/{STAGE}/@connections/{{id}}", post)
    app.router.add_delete(f"/{STAGE}/@connections/{{id}}", delete)
    app.router.add_post("/2015-03-31/functions/{name}/invocations", invoke)
    app.router.add_post("/model/{model_id}/converse-stream", edges.bedrock.handle)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    edges.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield edges
    finally:
        edges.bedrock._closing.set()
        await runner.cleanup()


# --- each function's environment, from the template -------------------------------------------


def resolve(value: Any, names: dict[str, str]) -> Any:
    """A template value under the lean profile with bedrock (None for AWS::NoValue)."""
    conditions = {"LeanProfile": True, "RedisProfile": False, "HasOpenAIKey": False}
    conditions |= {"HasOpenAIBaseUrl": False, "BedrockModel": True, "McpPackaged": False}
    conditions |= {"CognitoSignIn": False, "SignInOn": True}  # sign-in by an OIDC issuer
    if not isinstance(value, CfnTag):
        return value
    if value.name == "If":
        condition, when_true, when_false = value.value
        return resolve(when_true if conditions[condition] else when_false, names)
    if value.name == "Ref":
        return None if value.value == "AWS::NoValue" else names[value.value]
    if value.name == "Sub":
        return re.sub(r"\$\{([^}]+)\}", lambda m: names[m.group(1)], value.value)
    raise ValueError(f"cannot resolve {value}")


def template_env(function: LambdaFunction, names: dict[str, str]) -> dict[str, str]:
    template = load_template()
    variables = dict(template["Globals"]["Function"]["Environment"]["Variables"])
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function" and props["Handler"] == function.handler:
            variables |= (props.get("Environment") or {}).get("Variables", {})
    resolved = {key: resolve(value, names) for key, value in variables.items()}
    return {key: str(value) for key, value in resolved.items() if value is not None}


# --- the run ---------------------------------------------------------------------------------


@dataclass
class Figures:
    function: str
    memory_mb: int
    timeout_s: int
    startup_s: float
    import_s: float
    import_cpu_s: float
    call_s: float
    call_cpu_s: float
    answer: str
    quota: str = ""


SIGNED_IN = "Bench2Conn2Cc="  # a signed-in user's connection (listSessions)
BENCH_USER = "bench-user"


def events(
    connection: str, new_connection: str, session_id: str, token: str = ""
) -> dict[str, Any]:
    def socket(cid: str, user: str | None = None) -> SocketInfo:
        return SocketInfo(
            cid,
            int(time.time() * 1000),
            "203.0.113.9",
            "Mozilla/5.0",
            f"{API_ID}.execute-api.us-east-1.amazonaws.com",
            STAGE,
            API_ID,
            authorizer={"principalId": user, "userId": user} if user else None,
        )

    def frame(body: dict[str, Any], route: str) -> Any:
        return message_event(socket(connection), route, json.dumps(body))

    connect = connect_event(
        socket(new_connection), [("Host", f"{API_ID}.execute-api.us-east-1.amazonaws.com")], []
    )
    authorize = {
        "type": "REQUEST",
        "methodArn": f"arn:aws:execute-api:us-east-1:123456789012:{API_ID}/{STAGE}/$connect",
        "stageVariables": {},
        **connect,
        "queryStringParameters": {"access_token": token},
        "multiValueQueryStringParameters": {"access_token": [token]},
    }

    path = GENERATE_ROUTE.split(" ", 1)[1].replace("{sessionId}", session_id)
    rest = RestRequest(
        "POST",
        GENERATE_ROUTE.split(" ", 1)[1],
        path,
        {"sessionId": session_id},
        [("Content-Type", "application/json")],
        [],
        json.dumps({"message": "and a second question"}).encode(),
        "203.0.113.9",
        f"{API_ID}.execute-api.us-east-1.amazonaws.com",
        STAGE,
        API_ID,
    )
    host = [("Host", f"{API_ID}.execute-api.us-east-1.amazonaws.com")]
    return {
        "connect": connect_event(socket(new_connection), host, []),
        "default": frame({"action": "hello"}, "$default"),
        "put_message": frame(
            {"action": "putMessage", "message": "hello", "clientMessageId": uuid.uuid4().hex},
            "putMessage",
        ),
        "get_messages": frame({"action": "getMessages"}, "getMessages"),
        "stop_generation": frame({"action": "stopGeneration"}, "stopGeneration"),
        "rename_session": frame({"action": "renameSession", "title": "Bench"}, "renameSession"),
        "generate_reply": rest_proxy_event(rest),
        "reply_worker": {"sessionId": session_id},
        "regenerate": frame({"action": "regenerate"}, "regenerate"),
        "list_sessions": message_event(
            socket(SIGNED_IN, BENCH_USER), "listSessions", json.dumps({"action": "listSessions"})
        ),
        "authorize": authorize,
        # the worker's failed invocation, from its on-failure queue (the session is pending
        # again: putMessage stored a message after the worker's run)
        "reply_failures": failed_invocation(session_id),
        "delete_session": frame({"action": "deleteSession"}, "deleteSession"),
        "disconnect": disconnect_event(socket(new_connection), 1000, "Client closed"),
    }


def connected_session(env: dict[str, str], connection: str) -> str:
    """Connects ``connection`` through the app (in this process) and returns its session."""
    import anyio

    from adapters.bootstrap import build_app
    from adapters.settings import Settings

    async def go() -> str:
        settings = Settings.from_env({**env, "AZUCHI_TRANSPORT": "inprocess"})
        async with build_app(settings, runtime="lambda") as app:
            await app.chat.connect(connection, None)
            await app.chat.connect(SIGNED_IN, None, user_id=BENCH_USER)
            stored = await app.store.get_connection(connection)
            assert stored is not None
            return stored.session_id

    return anyio.run(go)


def run_one(
    function: LambdaFunction,
    folder: Path,
    env: dict[str, str],
    event: Any,
    quota: bool,
    python: str = sys.executable,
) -> Figures:
    share = function.memory_mb / FULL_CPU_MB
    cgroup = (
        CpuQuota.make(f"azuchi-bench-{os.getpid()}-{function.name}", share)
        if quota
        else CpuQuota(None, "unthrottled (--no-quota)")
    )
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(event, f)
    try:
        spawned = time.time()
        result = subprocess.run(
            [python, "-I", "-S", "-B", "-c", CHILD, str(folder), function.module, f.name],
            env=env,
            capture_output=True,
            text=True,
            preexec_fn=cgroup.join,
            timeout=600,
        )
    finally:
        os.unlink(f.name)
        cgroup.remove()
    if result.returncode != 0:
        raise RuntimeError(f"{function.name} failed:\n{result.stderr[-3000:]}")
    report = json.loads(result.stdout.strip().splitlines()[-1])
    answer = report["result"]
    status = answer.get("statusCode") or answer.get("status") if isinstance(answer, dict) else None
    return Figures(
        function.name,
        function.memory_mb,
        function.timeout_s,
        report["started"] - spawned,
        report["import_s"],
        report["import_cpu_s"],
        report["call_s"],
        report["call_cpu_s"],
        str(status if status is not None else answer),
        cgroup.kind,
    )


def median_figures(samples: list[Figures]) -> Figures:
    def med(get: Callable[[Figures], float]) -> float:
        return statistics.median(get(s) for s in samples)

    first = samples[0]
    return Figures(
        first.function,
        first.memory_mb,
        first.timeout_s,
        med(lambda s: s.startup_s),
        med(lambda s: s.import_s),
        med(lambda s: s.import_cpu_s),
        med(lambda s: s.call_s),
        med(lambda s: s.call_cpu_s),
        ",".join(sorted({s.answer for s in samples})),
        first.quota,
    )


def table(rows: list[Figures]) -> str:
    header = (
        f"{'function':<16} {'MB':>5} {'CPU':>5} {'init s':>7} {'init CPU':>9} "
        f"{'1st call s':>10} {'call CPU':>9} {'timeout':>8} {'share':>6}  answer"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        init = r.startup_s + r.import_s
        share = r.call_s / r.timeout_s
        mark = "" if share <= TARGET_SHARE else "  OVER 40%"
        lines.append(
            f"{r.function:<16} {r.memory_mb:>5} {r.memory_mb / FULL_CPU_MB:>5.0%} {init:>7.2f} "
            f"{r.import_cpu_s:>9.3f} {r.call_s:>10.2f} {r.call_cpu_s:>9.3f} "
            f"{r.timeout_s:>7}s {share:>6.0%}  {r.answer}{mark}"
        )
    return "\n".join(lines)


def python_version(python: str) -> str:
    found = subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"],
                           capture_output=True, text=True)  # fmt: skip
    return found.stdout.strip() or python


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--artefacts", type=Path, default=ROOT / "build" / "lambda-local")
    parser.add_argument("--no-build", action="store_true", help="use --artefacts as they are")
    parser.add_argument("--runs", type=int, default=1, help="fresh processes per function")
    parser.add_argument("--no-quota", action="store_true", help="run unthrottled")
    parser.add_argument("--functions", default=",".join(ORDER))
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="the interpreter each function runs in; with `make package`'s folders "
        "(--artefacts build/lambda --no-build) a CPython 3.13, whose .pyc they ship",
    )
    args = parser.parse_args()
    if not args.no_build:
        from tooling.package import build_functions

        print(f"building {args.artefacts} (azuchi package --platform local) ...", flush=True)
        build_functions(
            args.artefacts,
            profile="lean",
            model="bedrock",
            platform="local",
            pip_cache=ROOT / ".cache" / "pip",
        )
    os.environ.update(DUMMY_CREDENTIALS)  # this process prepares a session too
    try:
        endpoint = shared_endpoint()
    except LocalUnavailable as error:
        sys.exit(f"cold_start_bench: DynamoDB Local is needed: {error}")
    tables = fresh_tables(endpoint, "coldstart")
    from testsupport.issuer import TestIssuer

    with StubOnThread(running_edges) as edges, TestIssuer(audience="azuchi-bench") as issuer:
        names = {
            "Stage": STAGE,
            "TablePrefix": tables["AZUCHI_TABLE_PREFIX"],
            "Profile": "lean",
            "ModelProvider": "bedrock",
            "ModelId": "global.anthropic.claude-sonnet-4-6",
            "WebSocketApi": API_ID,
            "ReplyWorkerFunction": "azuchi-bench-reply_worker",
            "AWS::Region": "us-east-1",
        }
        # Every other parameter the environment refers to: its template default.
        for key, spec in (load_template().get("Parameters") or {}).items():
            if "Default" in spec:
                names.setdefault(key, str(spec["Default"]))
        base = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            **DUMMY_CREDENTIALS,
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
            "AZUCHI_DYNAMODB_ENDPOINT": endpoint,
            "AWS_ENDPOINT_URL_LAMBDA": edges.url,
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": edges.url,
        }
        connection, new_connection = "Bench0Conn0Aa=", "Bench1Conn1Bb="
        env_of = {
            name: {
                **template_env(BY_NAME[name], names),
                **base,
                "AZUCHI_APIGW_ENDPOINT": f"{edges.url}/{STAGE}",
                "AWS_LAMBDA_FUNCTION_NAME": f"azuchi-bench-{name}",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(BY_NAME[name].memory_mb),
            }
            for name in ORDER
        }
        env_of["authorize"] |= issuer.env()  # the stack's AuthIssuer / AuthAudience
        token = issuer.mint(BENCH_USER)
        session_id = connected_session(env_of["connect"], connection)
        wanted = [n for n in ORDER if n in args.functions.split(",")]
        rows = []
        for name in wanted:
            samples = []
            for _ in range(args.runs):
                event = events(connection, new_connection, session_id, token)[name]
                function = BY_NAME[name]
                folder = args.artefacts / name
                samples.append(
                    run_one(function, folder, env_of[name], event, not args.no_quota, args.python)
                )
            rows.append(median_figures(samples))
            print(f"  {name}: done", flush=True)
        print(
            f"\npython {python_version(args.python)}, {args.artefacts}, lean profile, "
            f"bedrock stub; CPU quota: {rows[-1].quota if rows else '-'}; "
            f"median of {args.runs} fresh process(es); "
            f"@connections posts {edges.posts}, async invokes {edges.invokes}"
        )
        print(table(rows))
        print(
            "init = process start until the handler module is imported (the app built and "
            "its clients opened); 1st call = the handler's first event; share = 1st call / "
            "timeout (target 40%; $connect/$disconnect also at most 1.5 s)"
        )


if __name__ == "__main__":
    main()
