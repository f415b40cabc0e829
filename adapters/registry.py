"""The plugin registry: adapters and tools arrive as pluggy plugins.

Built-in adapters register exactly as a third party's would. A third-party package adds an
entry point in the group ``azuchi.plugins`` pointing at a module (or object) that implements
any of the hooks below; azuchi picks its adapters up by name from settings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from adapters.memory.transport import ConnectionHub
    from adapters.settings import Settings
    from core.ports import Clock, Tool

PROJECT = "azuchi"
ENTRY_POINT_GROUP = "azuchi.plugins"
PORTS = ("storage", "lock", "memory", "model", "transport")

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@dataclass(frozen=True, slots=True)
class BuildContext:
    """What an adapter factory may use: settings, the clock, the process's connections."""

    settings: Settings
    clock: Clock
    hub: ConnectionHub


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
    def azuchi_tools(self, settings: Settings) -> list[Tool]:  # type: ignore[empty-body]
        """Tools this plugin gives the agent."""


class UnknownAdapter(LookupError):
    """No adapter of that name is registered for that port."""


def plugin_manager(load_entry_points: bool = True) -> pluggy.PluginManager:
    from adapters.apigateway import plugin as apigateway_plugin  # aioboto3 only when chosen
    from adapters.bedrock import plugin as bedrock_plugin  # imports aioboto3 only when chosen
    from adapters.dynamodb import plugin as dynamodb_plugin
    from adapters.memory import plugin as memory_plugin
    from adapters.openai import plugin as openai_plugin  # imports openai only when chosen
    from adapters.redis import plugin as redis_plugin  # imports redis only when chosen
    from adapters.tools import plugin as tools_plugin

    manager = pluggy.PluginManager(PROJECT)
    manager.add_hookspecs(AdapterSpecs)
    manager.register(memory_plugin, name="azuchi.memory")
    manager.register(dynamodb_plugin, name="azuchi.dynamodb")
    manager.register(redis_plugin, name="azuchi.redis")
    manager.register(openai_plugin, name="azuchi.openai")
    manager.register(bedrock_plugin, name="azuchi.bedrock")
    manager.register(apigateway_plugin, name="azuchi.apigateway")
    manager.register(tools_plugin, name="azuchi.tools")
    if load_entry_points:
        manager.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
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
        env = f"AZUCHI_{port.upper()}"
        raise UnknownAdapter(
            f"{env}={name!r} names no {port} adapter; known: {', '.join(sorted(known))}"
        )
    return known[name]
