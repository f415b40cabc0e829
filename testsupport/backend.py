"""The rule for test backends (DESIGN §8): one this run cannot reach is skipped on a laptop,
with its reason, and fails the run when ``CI=true``."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def backend_missing(reason: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true, so a missing backend fails the run)", pytrace=False)
    pytest.skip(reason)
