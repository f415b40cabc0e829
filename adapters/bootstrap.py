"""The composition root: the one place that turns settings into wired services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from adapters.memory.launcher import BackgroundReplyLauncher
from adapters.memory.transport import ConnectionHub
from adapters.pricing.table import PriceTableError, load_price_table
from adapters.registry import BuildContext, find_adapter, plugin_manager
from adapters.settings import Settings, SettingsError
from core.clock import SystemClock
from core.ports import (
    AgentMemory,
    ChatModel,
    ChatStore,
    Clock,
    ReplyLauncher,
    SessionLock,
    Tool,
    Transport,
)
from core.services.chat import ChatService
from core.services.reply import ReplyService

LauncherFactory = Callable[[ReplyService], ReplyLauncher]


@dataclass(slots=True)
class App:
    settings: Settings
    hub: ConnectionHub
    store: ChatStore
    lock: SessionLock
    memory: AgentMemory
    model: ChatModel
    transport: Transport
    tools: dict[str, Tool]
    replies: ReplyService
    launcher: ReplyLauncher
    chat: ChatService

    async def aclose(self) -> None:
        """Closes the adapters that hold clients (those with an ``aclose`` method)."""
        closed: set[int] = set()
        adapters = (self.store, self.lock, self.memory, self.model, self.transport, self.launcher)
        for adapter in adapters:
            close = getattr(adapter, "aclose", None)
            if close is not None and id(adapter) not in closed:
                closed.add(id(adapter))
                await close()


def build_app(
    settings: Settings | None = None,
    *,
    hub: ConnectionHub | None = None,
    clock: Clock | None = None,
    launcher: LauncherFactory | None = None,
    overrides: dict[str, Any] | None = None,
) -> App:
    """Builds every adapter named by settings and the services over them. ``overrides``
    replaces an adapter by port name (for tests and tools that bring their own)."""
    settings = settings or Settings.from_env()
    hub = hub or ConnectionHub()
    ctx = BuildContext(settings=settings, clock=clock or SystemClock(), hub=hub)
    manager = plugin_manager()
    overrides = overrides or {}

    try:
        prices = load_price_table(settings.prices_file)
    except PriceTableError as error:
        raise SettingsError(f"AZUCHI_PRICES_FILE: {error}") from None

    def adapter(port: str, name: str) -> Any:
        if port in overrides:
            return overrides[port]
        return find_adapter(manager, port, name).factory(ctx)

    store: ChatStore = adapter("storage", settings.storage)
    lock: SessionLock = adapter("lock", settings.lock)
    memory: AgentMemory = adapter("memory", settings.memory)
    model: ChatModel = adapter("model", settings.model)
    transport: Transport = adapter("transport", settings.transport)
    tools: dict[str, Tool] = {}
    for batch in manager.hook.azuchi_tools(settings=settings):
        for tool in batch:
            tools.setdefault(tool.spec.name, tool)
    replies = ReplyService(store, lock, memory, model, transport, tools, settings.chat, prices)
    reply_launcher = (launcher or (lambda r: BackgroundReplyLauncher(r.run_pending)))(replies)
    chat = ChatService(store, lock, transport, reply_launcher, ctx.clock, settings.chat)
    return App(
        settings, hub, store, lock, memory, model, transport, tools, replies, reply_launcher, chat
    )
