"""Registers the built-in tools."""

from __future__ import annotations

from adapters.registry import hookimpl
from adapters.settings import Settings
from adapters.tools.builtin import CalculateTool, CurrentTimeTool, SearchMessagesTool
from core.ports import Tool


@hookimpl
def azuchi_tools(settings: Settings) -> list[Tool]:
    return [CurrentTimeTool(), CalculateTool(), SearchMessagesTool()]
