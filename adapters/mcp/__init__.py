"""Agent tools from MCP servers (the official ``mcp`` SDK), registered through the
``azuchi_tools`` hook like the built-ins. See docs/mcp.md."""
