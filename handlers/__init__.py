"""Entrypoints: the Lambda handlers of every route, the agent REST handler, the CLI."""
