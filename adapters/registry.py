"""The plugin contract: pluggy markers, hookspecs, and what an adapter factory receives.

This module imports no plugin. The composition root (``adapters/bootstrap.py``) registers
the built-in plugins by name, exactly as ``load_setuptools_entrypoints`` registers a third
party's from the entry-point group ``azuchi.plugins``; so a built-in has no powers a third
party lacks, and plugins import this module without anything importing them back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Hashable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import pluggy

if TYPE_CHECKING:
    from adapters.inprocess.transport import ConnectionHub
    from adapters.settings import Settings
    from core.ports import Clock, Tool

PROJECT = "azuchi"
ENTRY_POINT_GROUP = "azuchi.plugins"
# The ports settings choose an adapter for; ``AZUCHI_<PORT>`` names it.
PORTS = ("storage", "lock", "agent_memory", "limits", "model", "transport", "launcher")

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

T = TypeVar("T")
RunReply = Callable[[str], Awaitable[object]]


class Meter(Protocol):
    """Counts what a backend would bill (the local gateway's stats read every meter)."""

    def snapshot(self) -> dict[str, Any]: ...


class Resources:
    """What the adapters of one app share: clients built once and handed to every port
    that uses them, the closers run when the app closes (one exit stack, last in first
    out), and the meters the stats read. One per ``build_app``; never module state."""

    def __init__(self) -> None:
        self.stack = AsyncExitStack()
        self.meters: dict[str, Meter] = {}
        self._shared: dict[Hashable, Any] = {}
        self._while_open: list[AbstractAsyncContextManager[object]] = []
        self._warmers: list[tuple[str, Callable[[], Awaitable[object]]]] = []

    def shared(self, key: Hashable, make: Callable[[], T]) -> T:
        """The value ``make()`` built the first time ``key`` was asked for in this app."""
        if key not in self._shared:
            self._shared[key] = make()
        value: T = self._shared[key]
        return value

    def on_close(self, close: Callable[[], Awaitable[object]]) -> None:
        """Runs ``close()`` when the app closes."""
        self.stack.push_async_callback(close)

    def while_open(self, context: AbstractAsyncContextManager[object]) -> None:
        """Enters ``context`` when the app starts and leaves it when the app closes (the
        background launcher's task group lives that long)."""
        self._while_open.append(context)

    def on_warm(self, port: str, warm: Callable[[], Awaitable[object]]) -> None:
        """Runs ``warm()`` when the app is warmed for ``port`` (``App.warm``): opens a
        client ahead of the first call. The Lambda runtime warms at init the ports its
        function uses, so a cold start pays for SDK clients there and not inside the first
        event's timeout."""
        self._warmers.append((port, warm))

    async def warm(self, ports: Collection[str] | None = None) -> None:
        for port, warm in self._warmers:
            if ports is None or port in ports:
                await warm()

    async def start(self) -> None:
        pending, self._while_open = self._while_open, []
        for context in pending:
            await self.stack.enter_async_context(context)

    async def aclose(self) -> None:
        self._shared.clear()
        self._while_open.clear()
        self._warmers.clear()
        await self.stack.aclose()


@dataclass(frozen=True, slots=True)
class BuildContext:
    """What an adapter factory may use: settings, the clock, the process's connections,
    the app's shared resources, and (for the launcher port only) how to run a reply."""

    settings: Settings
    clock: Clock
    hub: ConnectionHub
    resources: Resources = field(default_factory=Resources)
    run_reply: RunReply | None = None


@dataclass(frozen=True, slots=True)
class AdapterSpec:
    port: str  # one of PORTS
    name: str  # the value of AZUCHI_<PORT> that selects it
    factory: Callable[[BuildContext], Any]
    description: str = ""


class AdapterSpecs:
    @hookspec
    def azuchi_adapters(self) -> list[AdapterSpec]:  # type: ignore[empty-body]
        """The adapters this plugin provides."""

    @hookspec
    def azuchi_tools(  # type: ignore[empty-body]
        self, settings: Settings, resources: Resources
    ) -> list[Tool]:
        """Tools this plugin gives the agent; what they hold open for the app's life goes
        on ``resources`` (an implementation may leave that argument out)."""


class UnknownAdapter(LookupError):
    """No adapter of that name is registered for that port."""


def new_manager() -> pluggy.PluginManager:
    """A plugin manager with azuchi's hookspecs and no plugin registered yet."""
    manager = pluggy.PluginManager(PROJECT)
    manager.add_hookspecs(AdapterSpecs)
    return manager


def adapters_for(manager: pluggy.PluginManager, port: str) -> dict[str, AdapterSpec]:
    specs: dict[str, AdapterSpec] = {}
    for batch in manager.hook.azuchi_adapters():
        for spec in batch:
            if spec.port == port:
                specs.setdefault(spec.name, spec)
    return specs


def find_adapter(manager: pluggy.PluginManager, port: str, name: str) -> AdapterSpec:
    known = adapters_for(manager, port)
    if name not in known:
        env = setting_name(port)
        raise UnknownAdapter(
            f"{env}={name!r} names no {port} adapter; known: {', '.join(sorted(known))}"
        )
    return known[name]


def setting_name(port: str) -> str:
    """The variable that picks ``port``'s adapter (``launcher`` → AZUCHI_REPLY_LAUNCHER)."""
    return "AZUCHI_REPLY_LAUNCHER" if port == "launcher" else f"AZUCHI_{port.upper()}"
