"""The ``azuchi`` command line.

    azuchi serve [--host 127.0.0.1] [--port 8000] [--stage local] [--admin-port PORT]
    azuchi sessions export SESSION_ID [--format json|markdown] [-o FILE]
    azuchi tables create
    azuchi load | cost | package ...   (from a checkout: load_tests/, costmodel/, tooling/)

runs the whole stack in one process: the local API Gateway (WebSocket, REST) in front of
the same handlers Lambda runs, and the frontend; with an admin port, the @connections
management API and the stats on 127.0.0.1 at that port. Settings come from ``AZUCHI_*``
environment variables (``AZUCHI_HOST``, ``AZUCHI_PORT``, ``AZUCHI_STAGE`` and
``AZUCHI_ADMIN_PORT`` among them); the flags override them.

The start line gives two times to the moment the server listens: from the import of this
module (azuchi's own start-up), and on Linux from the kernel's start of the process (10 ms
resolution; it includes the interpreter). A benchmark should still time the whole process
from outside: start ``python -m handlers.cli serve`` and poll ``/healthz`` until it answers.
"""

from __future__ import annotations

import time

_IMPORTED_AT = time.perf_counter()  # first, so the startup time covers the imports below

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from adapters.auth.authorizer import Authorizer  # noqa: E402
from adapters.auth.settings import AuthSettings  # noqa: E402
from adapters.bootstrap import App, build_app  # noqa: E402
from adapters.local_gateway import serving  # noqa: E402
from adapters.local_gateway.authorizer import Authorize  # noqa: E402
from adapters.local_gateway.collector import tune_for_serving  # noqa: E402
from adapters.local_gateway.options import GatewayOptions  # noqa: E402
from adapters.registry import UnknownAdapter  # noqa: E402
from adapters.settings import Settings, SettingsError  # noqa: E402
from core.services.recovery import Nudger  # noqa: E402
from handlers import authorize as authorize_handler  # noqa: E402
from handlers.functions import FUNCTIONS  # noqa: E402
from handlers.routes import REST_ROUTES, WEBSOCKET_ROUTES  # noqa: E402
from handlers.sessions_cli import register as register_sessions  # noqa: E402

log = logging.getLogger("azuchi")

EXIT_USAGE = 2  # a setting azuchi cannot use (argparse uses 2 for bad flags too)
EXIT_CANNOT_LISTEN = 1
EXIT_UNAVAILABLE = 1

Register = Callable[[Any], None]  # adds a subparser to argparse's subcommands; sets ``run``


# Commands that run from a checkout: their code lives outside the runtime packages, in
# load_tests/, costmodel/ and tooling/. Each module's ``register(commands)`` adds its
# subparser and sets ``run``, keeping heavy imports inside ``run`` so that ``azuchi serve``
# starts no slower. Each is an import statement, not a string, and only its own package
# missing makes a stand-in (``_add_checkout_command``): any other import error is raised.
def _load_command() -> Register:
    from load_tests.cli import register

    return register


def _cost_command() -> Register:
    from costmodel.cli import register

    return register


def _package_command() -> Register:
    from tooling.package import register

    return register


def _empty_bucket_command() -> Register:
    from tooling.teardown import register

    return register


CHECKOUT_COMMANDS: tuple[tuple[str, str, Callable[[], Register]], ...] = (
    ("load", "load_tests", _load_command),
    ("cost", "costmodel", _cost_command),
    ("package", "tooling", _package_command),
    ("empty-bucket", "tooling", _empty_bucket_command),
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="azuchi", description="azuchi: real-time generative-AI chat and agent backend."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    serve = commands.add_parser(
        "serve",
        help="run the local stack: API Gateway emulator, handlers and frontend",
        description="Run the WebSocket API, the agent REST API and the frontend in one "
        "process (and, with --admin-port, the @connections management API and the stats "
        "on 127.0.0.1). Adapters are chosen by AZUCHI_* environment variables "
        "(AZUCHI_STORAGE, AZUCHI_MODEL, ...).",
    )
    serve.add_argument("--host", help="address to listen on (AZUCHI_HOST, default 127.0.0.1)")
    serve.add_argument(
        "--port", type=int, help="port to listen on; 0 picks a free one (AZUCHI_PORT, default 8000)"
    )
    serve.add_argument(
        "--stage", help="API stage, the WebSocket path (AZUCHI_STAGE, default local)"
    )
    serve.add_argument(
        "--admin-port",
        type=int,
        help="serve @connections and /_azuchi/stats on 127.0.0.1 at this port; 0 picks a free "
        "one (AZUCHI_ADMIN_PORT, default off)",
    )
    serve.set_defaults(run=_serve)
    register_sessions(commands)
    tables = commands.add_parser(
        "tables",
        help="manage the DynamoDB tables",
        description="Tables come from infra/template.yaml; names take AZUCHI_TABLE_PREFIX. "
        "The endpoint is AZUCHI_DYNAMODB_ENDPOINT, else the account's DynamoDB.",
    )
    tables.add_argument("action", choices=["create"], help="create the missing tables, TTL on")
    tables.set_defaults(run=_tables)
    for name, package, find in CHECKOUT_COMMANDS:
        _add_checkout_command(commands, name, package, find)
    return parser


def _add_checkout_command(
    commands: Any, name: str, package: str, find: Callable[[], Register]
) -> None:
    """Registers ``azuchi <name>``; if ``package`` is not importable (azuchi installed
    without its checkout), a stand-in that says so. Any other import error is a bug and
    is raised as it is."""
    try:
        register = find()
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] != package:
            raise
        reason = str(error)  # ``error`` is unbound once the except block ends
        missing = commands.add_parser(
            name,
            help=f"(needs an azuchi checkout: {package}/ is not installed)",
            add_help=False,
            prefix_chars="\0",  # no flag of the real command is an error here: all are ignored
        )
        missing.add_argument("ignored", nargs="*", help=argparse.SUPPRESS)
        missing.set_defaults(run=lambda _args: _unavailable(name, package, reason))
        return
    register(commands)


def _unavailable(name: str, package: str, reason: str) -> int:
    print(
        f"azuchi {name}: this command runs from a checkout of azuchi, and its package "
        f"{package}/ is not importable here ({reason}). In a clone, `make .venv/.dev` "
        f"installs it; then run .venv/bin/azuchi {name}.",
        file=sys.stderr,
    )
    return EXIT_UNAVAILABLE


def _tables(args: argparse.Namespace) -> int:
    from adapters.dynamodb.tables_cli import run

    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"azuchi: {error}", file=sys.stderr)
        return EXIT_USAGE
    return run(settings)


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    sys.exit(args.run(args))


def _serve(args: argparse.Namespace) -> int:
    level = os.environ.get("AZUCHI_LOG_LEVEL", "INFO").strip().upper()
    if level not in logging.getLevelNamesMapping():
        print(f"azuchi: AZUCHI_LOG_LEVEL={level!r} is not a log level", file=sys.stderr)
        return EXIT_USAGE
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = Settings.from_env()
        host = args.host or settings.env.get("AZUCHI_HOST") or "127.0.0.1"
        port = args.port if args.port is not None else _port(settings.env.get("AZUCHI_PORT"))
        if not 0 <= port <= 65535:
            raise SettingsError(f"port {port} is not between 0 and 65535")
        if args.stage is not None:
            settings = replace(settings, stage=args.stage)
        if not settings.stage or not all(c.isalnum() or c in "-_" for c in settings.stage):
            raise SettingsError(f"stage {settings.stage!r} must be letters, digits, - or _")
        options = GatewayOptions.from_env(settings.env)
        if args.admin_port is not None:
            if not 0 <= args.admin_port <= 65535:
                raise SettingsError(f"admin port {args.admin_port} is not between 0 and 65535")
            options = replace(options, admin_port=args.admin_port)
        authorize = _authorizer(AuthSettings.from_env(settings.env))
        app = build_app(settings)
    except (SettingsError, UnknownAdapter) as error:
        print(f"azuchi: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        asyncio.run(_run(app, host, port, options, authorize))
    except OSError as error:
        print(f"azuchi: cannot listen on {host}:{port}: {error.strerror or error}", file=sys.stderr)
        return EXIT_CANNOT_LISTEN
    return 0


def _port(raw: str | None) -> int:
    if not raw or not raw.strip():
        return 8000
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"AZUCHI_PORT={raw!r} is not an integer") from None


def _process_age_ms() -> float | None:
    """Time since the kernel started this process (Linux; 10 ms resolution), else None."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])  # field 22, starttime, counted after the ")" at field 2
        since_boot_s = time.clock_gettime(time.CLOCK_BOOTTIME)
        return (since_boot_s - start_ticks / os.sysconf("SC_CLK_TCK")) * 1000
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def _authorizer(auth: AuthSettings) -> Authorize | None:
    """Sign-in on (AZUCHI_AUTH_ISSUER): the gateway runs the authorizer Lambda's code
    before $connect and each REST request, as API Gateway would."""
    if not auth.enabled:
        return None
    authorizer = Authorizer.from_settings(auth)
    log.info("sign-in on: tokens of %s (required: %s)", auth.issuer, auth.required)

    async def run(event: dict[str, Any]) -> dict[str, Any]:
        return await authorize_handler.handle(event, authorizer)

    return run


async def _run(
    app: App, host: str, port: int, options: GatewayOptions, authorize: Authorize | None = None
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(sig, stop.set)
    # the app's clients close with the server
    await _serve_until(stop, app, host, port, options, authorize, tune_gc=True)


async def _serve_until(
    stop: asyncio.Event,
    app: App,
    host: str,
    port: int,
    options: GatewayOptions | None = None,
    authorize: Authorize | None = None,
    *,
    tune_gc: bool = False,
) -> None:
    async with serving(
        app,
        websocket_routes=WEBSOCKET_ROUTES,
        rest_routes=REST_ROUTES,
        functions=FUNCTIONS,
        host=host,
        port=port,
        options=options,
        authorize=authorize,
    ) as gateway:
        if tune_gc:  # this process only serves from now on: fewer, cheaper collections
            tune_for_serving()
        ready_ms = (time.perf_counter() - _IMPORTED_AT) * 1000
        age_ms = _process_age_ms()
        whole = f", {age_ms:.0f} ms since the process started" if age_ms is not None else ""
        admin = (
            f"; admin API (@connections, stats) at {gateway.admin_url}, loopback only"
            if gateway.admin_url
            else ""
        )
        print(
            f"azuchi serving chat at {gateway.http_url}/ and WebSocket at {gateway.ws_url} "
            f"(ready in {ready_ms:.0f} ms from import{whole}){admin}",
            flush=True,
        )
        gated = sorted(app.replies.approval_tools)
        if gated:
            print(f"azuchi: these tools wait for your approval: {', '.join(gated)}", flush=True)
        # Messages left unanswered by a crash (or a lock backend that was down) are
        # answered without anyone sending anything: now, and on every sweep after.
        sweeps = asyncio.create_task(_sweep(app))
        try:
            await stop.wait()
        finally:
            sweeps.cancel()
        log.info("shutting down")


async def _sweep(app: App) -> None:
    nudger = Nudger(app.store, app.lock, app.launcher)
    interval = app.settings.recovery_sweep_s
    if interval > 0:
        await nudger.sweep_forever(interval)
    else:
        await nudger.sweep()


if __name__ == "__main__":
    main()
