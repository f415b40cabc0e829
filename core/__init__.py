"""azuchi's hexagonal core: domain, errors, ports and services.

Imports only the standard library and anyio; never an adapter, a handler or a vendor SDK.
"""
