"""The composition root: the one place that turns settings into wired services.

Every choice is made here — one adapter per port, the reply launcher included — from
settings read once. Factories get a ``BuildContext`` whose ``Resources`` let them share one
client per backend (the lean profile's three DynamoDB ports use one client, the Redis lock
and agent memory one pool) and register what must be closed. The result is an ``App``, an
async context manager: entering it starts what runs for the app's life (the background
launcher's task group), leaving it closes everything the factories registered, in reverse.

    build_app(settings) ──► plugin manager (built-ins registered as entry points would be)
        │                        └─► AdapterSpec per (port, name)
        ├─► storage, lock, agent_memory, model, transport   (factory(ctx), ctx.resources)
        ├─► ReplyService(...)  ──► launcher factory(ctx with run_reply)
        ├─► ChatService(...), TurnService(chat, ...)
        └─► App(... resources)                              async with app: ... (closes all)
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any

import pluggy

from adapters.inprocess.transport import ConnectionHub
from adapters.pricing.table import PriceTableError, load_price_table
from adapters.registry import (
    ENTRY_POINT_GROUP,
    BuildContext,
    Meter,
    Resources,
    RunReply,
    find_adapter,
    new_manager,
)
from adapters.settings import EnvReader, Settings, SettingsError
from adapters.tools.schema import schema_problem
from core.clock import SystemClock
from core.ports import (
    AgentMemory,
    ChatModel,
    ChatStore,
    Clock,
    LimitCounters,
    ReplyLauncher,
    SessionLock,
    Tool,
    Transport,
)
from core.services.approvals import ApprovalService
from core.services.chat import ChatService
from core.services.limits import Limits, OwnerAlert, log_alert
from core.services.recovery import RecoveryResult, recover_session
from core.services.reply import ReplyService
from core.services.turns import TurnService

# The built-in plugins, by module name: registered the way an entry point is loaded, so a
# third party's plugin is exactly as able. Each imports its SDK only inside its factories.
BUILTIN_PLUGINS = (
    "adapters.inprocess.plugin",
    "adapters.sqlite.plugin",
    "adapters.dynamodb.plugin",
    "adapters.redis.plugin",
    "adapters.openai.plugin",
    "adapters.bedrock.plugin",
    "adapters.apigateway.plugin",
    "adapters.awslambda.plugin",
    "adapters.tools.plugin",
    "adapters.mcp.plugin",
)

# Where replies may run: a Lambda is frozen once it returns, so nothing there may be left
# running in the background.
RUNTIME_LAUNCHERS = {"serve": ("background", "inline"), "lambda": ("inline", "lambda")}

RunWrapper = Callable[[RunReply], RunReply]


class ReplyRunner:
    """What a launcher runs for a session: the reply service's drain loop, behind one
    indirection so that an observer can wrap it after the launcher was built."""

    def __init__(self, run: RunReply) -> None:
        self._run = run

    def wrap(self, wrapper: RunWrapper) -> None:
        self._run = wrapper(self._run)

    async def __call__(self, session_id: str) -> object:
        return await self._run(session_id)


def plugin_manager(load_entry_points: bool = True) -> pluggy.PluginManager:
    """The built-in plugins and (unless told not to) every ``azuchi.plugins`` entry point."""
    manager = new_manager()
    for name in BUILTIN_PLUGINS:
        manager.register(importlib.import_module(name), name=name)
    if load_entry_points:
        manager.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    return manager


@dataclass(slots=True)
class App:
    """The wired application. ``async with app:`` runs it; leaving closes every client."""

    settings: Settings
    hub: ConnectionHub
    store: ChatStore
    lock: SessionLock
    agent_memory: AgentMemory
    limits: Limits
    model: ChatModel
    transport: Transport
    tools: dict[str, Tool]
    replies: ReplyService
    launcher: ReplyLauncher
    chat: ChatService
    resources: Resources
    runner: ReplyRunner
    turns: TurnService  # regenerate, editMessage
    approvals: ApprovalService  # approveTool, denyTool

    @property
    def meters(self) -> dict[str, Meter]:
        """What the backends were metered for (``AZUCHI_DYNAMODB_METER``), by name."""
        return self.resources.meters

    async def recover(self, session_id: str, wait_s: float | None = None) -> RecoveryResult:
        """Answers what a session has pending after its replier failed: the entry point
        for the reply worker's on-failure path on AWS (core/services/recovery.py)."""
        return await recover_session(
            self.replies.run_pending, self.store, session_id, self.settings.chat, wait_s
        )

    def observe_replies(self, wrapper: RunWrapper) -> None:
        """Wraps every later reply run (the local gateway counts and times them as
        invocations of the reply worker)."""
        self.runner.wrap(wrapper)

    async def __aenter__(self) -> App:
        await self.resources.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def warm(self, ports: Collection[str] | None = None) -> None:
        """Opens the clients the adapters of ``ports`` (registry names; all when None)
        registered with ``Resources.on_warm``; no call is made to any backend. The Lambda
        runtime does it at init."""
        await self.resources.warm(ports)

    async def aclose(self) -> None:
        """Closes what the factories registered (clients, pools), last built first."""
        await self.resources.aclose()


def build_app(
    settings: Settings | None = None,
    *,
    runtime: str = "serve",
    hub: ConnectionHub | None = None,
    clock: Clock | None = None,
    overrides: dict[str, Any] | None = None,
) -> App:
    """Builds every adapter named by settings and the services over them, for ``runtime``
    (``serve`` or ``lambda``: it sets the default launcher and refuses one that cannot run
    there). ``overrides`` replaces an adapter by port name (for tests and tools that bring
    their own; an override is its owner's to close)."""
    settings = settings or Settings.from_env()
    if runtime not in RUNTIME_LAUNCHERS:
        raise ValueError(f"unknown runtime {runtime!r}")
    resources = Resources()
    ctx = BuildContext(settings, clock or SystemClock(), hub or ConnectionHub(), resources)
    manager = plugin_manager(_entry_points_wanted(settings, runtime))
    overrides = overrides or {}

    try:
        prices = load_price_table(settings.prices_file)
    except PriceTableError as error:
        raise SettingsError(f"AZUCHI_PRICES_FILE: {error}") from None

    def adapter(port: str, name: str, context: BuildContext = ctx) -> Any:
        if port in overrides:
            return overrides[port]
        return find_adapter(manager, port, name).factory(context)

    store: ChatStore = adapter("storage", settings.storage)
    lock: SessionLock = adapter("lock", settings.lock)
    agent_memory: AgentMemory = adapter("agent_memory", settings.agent_memory)
    counters: LimitCounters = adapter("limits", settings.limits)
    limits = Limits(
        counters, settings.limit, ctx.clock, alert=_owner_alert(runtime, settings.stage)
    )
    model: ChatModel = adapter("model", settings.model)
    transport: Transport = adapter("transport", settings.transport)
    tools: dict[str, Tool] = {}
    for batch in manager.hook.azuchi_tools(settings=settings, resources=resources):
        for tool in batch:
            if tool.spec.name in tools:  # the model could not tell them apart
                raise SettingsError(
                    f"two tools are named {tool.spec.name!r}: {tools[tool.spec.name]!r} "
                    f"and {tool!r}"
                )
            tools[tool.spec.name] = tool
    title_model: ChatModel | None = None
    if settings.title_model_id and "model" not in overrides:
        # The same adapter, built again for another model id (its own client, closed alike).
        title_env = {**settings.env, "AZUCHI_MODEL_ID": settings.title_model_id}
        title_ctx = replace(ctx, settings=replace(settings, env=title_env))
        title_model = adapter("model", settings.model, title_ctx)
    chat_config = replace(settings.chat, approval_tools=_approval_tools(settings, tools))
    if chat_config.context_window_tokens is None:
        window = prices.context_window(model.model_id)
        chat_config = replace(chat_config, context_window_tokens=window)
    replies = ReplyService(
        store,
        lock,
        agent_memory,
        model,
        transport,
        tools,
        chat_config,
        prices,
        title_model,
        limits,
        ctx.clock,
        schema_problem,
    )

    launcher_name = settings.launcher or RUNTIME_LAUNCHERS[runtime][0]
    find_adapter(manager, "launcher", launcher_name)  # an unknown name says so first
    if launcher_name not in RUNTIME_LAUNCHERS[runtime] and "launcher" not in overrides:
        allowed = " or ".join(RUNTIME_LAUNCHERS[runtime])
        raise SettingsError(
            f"AZUCHI_REPLY_LAUNCHER={launcher_name!r} cannot run replies under {runtime}; "
            f"use {allowed}"
        )
    runner = ReplyRunner(replies.run_pending)
    launcher: ReplyLauncher = adapter("launcher", launcher_name, replace(ctx, run_reply=runner))
    chat = ChatService(store, lock, transport, launcher, ctx.clock, settings.chat, limits)
    turns = TurnService(chat, store, lock, agent_memory, launcher, settings.chat)
    approvals = ApprovalService(chat, store, launcher, ctx.clock, chat_config)
    return App(
        settings,
        ctx.hub,
        store,
        lock,
        agent_memory,
        limits,
        model,
        transport,
        tools,
        replies,
        launcher,
        chat,
        resources,
        runner,
        turns,
        approvals,
    )


def _entry_points_wanted(settings: Settings, runtime: str) -> bool:
    """Whether third-party plugins are looked for (the ``azuchi.plugins`` entry points):
    always under ``serve``; on Lambda only when ``AZUCHI_PLUGIN_ENTRY_POINTS`` says so,
    since a packaged folder holds azuchi's plugins alone and the scan of every installed
    distribution's metadata (importlib.metadata) is a cost at every cold start."""
    return EnvReader(settings.env).bool("AZUCHI_PLUGIN_ENTRY_POINTS", runtime != "lambda")


def _approval_tools(settings: Settings, tools: dict[str, Tool]) -> frozenset[str]:
    """The tools that wait for the user's approval: those ``AZUCHI_TOOLS_REQUIRE_APPROVAL``
    names (each must be a tool: a typo would let the tool run unasked) and those a plugin
    marks (``requires_approval``, e.g. an MCP server's ``requireApproval``)."""
    named = settings.chat.approval_tools
    unknown = sorted(named - tools.keys())
    if unknown:
        raise SettingsError(
            f"AZUCHI_TOOLS_REQUIRE_APPROVAL names {', '.join(unknown)}, which is not a tool "
            f"here; the tools are: {', '.join(sorted(tools)) or '(none)'}"
        )
    marked = {name for name, tool in tools.items() if getattr(tool, "requires_approval", False)}
    return frozenset(named | marked)


def _owner_alert(runtime: str, stage: str) -> OwnerAlert:
    """How the owner hears of the spend cap: a CloudWatch metric on Lambda, a log line here."""
    if runtime == "lambda":
        from adapters.awslambda.alerts import emf_alert

        return emf_alert(stage)
    return log_alert
