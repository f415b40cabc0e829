"""The lock and agent-memory ports on Redis / Valkey (ElastiCache), over ``redis.asyncio``.

Nothing here imports ``redis`` at package import: the plugin's factories do, so azuchi
starts without the package unless ``AZUCHI_LOCK=redis`` or ``AZUCHI_AGENT_MEMORY=redis`` asks
for it. Import the adapters from their modules (``adapters.redis.lock``, ...).
"""
