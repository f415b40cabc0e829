"""The sqlite family: storage, agent memory and the lock in one local file (WAL mode)."""
