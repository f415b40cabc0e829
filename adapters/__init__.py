"""Adapters (one package per technology), the plugin registry and the composition root."""
