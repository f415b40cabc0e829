"""Dummy AWS credentials for local emulators (DynamoDB Local, the local API Gateway, the
Lambda stub): the SDKs sign every request, the emulators only check that credentials exist."""

from __future__ import annotations

import os
from collections.abc import Callable, MutableMapping

DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "azuchilocal",
    "AWS_SECRET_ACCESS_KEY": "azuchilocal",
    "AWS_SESSION_TOKEN": "azuchilocal",
}


def use_dummy_credentials(env: MutableMapping[str, str] | None = None) -> Callable[[], None]:
    """Sets the dummy credentials (letters and digits, as DynamoDB Local wants) unless real
    ones are already configured. Returns what puts the environment back."""
    env = os.environ if env is None else env
    saved = {name: env.get(name) for name in DUMMY_CREDENTIALS}
    if not env.get("AWS_ACCESS_KEY_ID"):
        env.update(DUMMY_CREDENTIALS)

    def restore() -> None:
        for name, value in saved.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value

    return restore
