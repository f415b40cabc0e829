"""Stub model servers speaking the providers' real wire formats, for tests and local runs."""
