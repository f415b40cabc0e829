"""Fixtures for the browser tests: Debian's Chromium driven by Playwright, and `azuchi serve`
started as a subprocess on a free port (DESIGN §6, §8).

Set AZUCHI_BROWSER_BASE_URL to test a server that is already running instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testsupport.backend import backend_missing
from testsupport.ports import NotReady, free_port, http_answers, wait_ready
from testsupport.profiles import UNLIMITED

ROOT = Path(__file__).resolve().parents[2]
REPORTS = ROOT / "reports"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_TIMEOUT_S = 20.0


@pytest.fixture(scope="session")
def chromium_path() -> str:
    candidates = [os.environ.get("AZUCHI_CHROMIUM"), *CHROMIUM_CANDIDATES, shutil.which("chromium")]
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    backend_missing(
        "Chromium not found at /usr/bin/chromium (install it: apt-get install -y chromium)"
    )
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        backend_missing("the playwright Python package is not installed (pip install -e '.[dev]')")
        raise
    with sync_playwright() as playwright:
        # headless=False: the headless mode is chosen by --headless=new in CHROMIUM_ARGS.
        launched = playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS, headless=False
        )
        yield launched
        launched.close()


def _serve(tokens_per_second: int, **settings: str) -> Iterator[str]:
    """Run `python -m handlers.cli serve` on a free port with the defaults (sqlite, on a
    file of this server's own)."""
    override = os.environ.get("AZUCHI_BROWSER_BASE_URL")
    if override:
        yield override.rstrip("/") + "/"
        return
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("AZUCHI_")}
    data = tempfile.mkdtemp(prefix="azuchi-browser-")
    env["AZUCHI_SQLITE_PATH"] = os.path.join(data, "azuchi.db")
    env.update(UNLIMITED)  # every page load is a new session from 127.0.0.1
    env["AZUCHI_SCRIPTED_TOKENS_PER_SECOND"] = str(tokens_per_second)
    env.update(settings)
    env["PYTHONUNBUFFERED"] = "1"
    log = tempfile.NamedTemporaryFile(prefix="azuchi-serve-", suffix=".log", delete=False)
    process = subprocess.Popen(
        [sys.executable, "-m", "handlers.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"

    def tail() -> str:
        log.flush()
        return Path(log.name).read_text(errors="replace")[-4000:]

    try:
        try:
            wait_ready(
                lambda: http_answers(url),
                what=f"azuchi serve at {url}",
                timeout=SERVER_START_TIMEOUT_S,
                process=process,
                log=tail,
                poll=0.1,
            )
        except NotReady as exc:
            pytest.fail(str(exc), pytrace=False)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        log.close()
        os.unlink(log.name)
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="session")
def server() -> Iterator[str]:
    """The local stack, streaming the scripted model fast (200 tokens/s)."""
    yield from _serve(200)


@pytest.fixture(scope="session")
def approval_server() -> Iterator[str]:
    """A local stack whose calculate tool waits for the user's approval (for 5 s)."""
    yield from _serve(200, AZUCHI_TOOLS_REQUIRE_APPROVAL="calculate", AZUCHI_APPROVAL_TIMEOUT_S="5")


@pytest.fixture(scope="session")
def slow_server() -> Iterator[str]:
    """A second local stack streaming slowly (20 tokens/s), so that Stop comes in time."""
    yield from _serve(20)


@pytest.fixture(scope="session")
def short_lived_server() -> Iterator[str]:
    """A local stack that closes every WebSocket after 3 s (API Gateway's 2 h limit, shortened),
    to watch the page reconnect and catch up."""
    if os.environ.get("AZUCHI_BROWSER_BASE_URL"):
        pytest.skip("needs its own server (AZUCHI_MAX_CONNECTION_S)")
    yield from _serve(200, AZUCHI_MAX_CONNECTION_S="3")


@pytest.fixture(scope="session")
def reports_dir() -> Path:
    REPORTS.mkdir(exist_ok=True)
    return REPORTS


@pytest.fixture
def new_page(browser: Any) -> Iterator[Any]:
    """Make pages in fresh browser contexts (own localStorage); fail on uncaught page errors."""
    contexts: list[Any] = []
    errors: list[str] = []

    def make(
        viewport: tuple[int, int] = (1280, 800), color_scheme: str = "light", **options: Any
    ) -> Any:
        context = browser.new_context(
            viewport={"width": viewport[0], "height": viewport[1]},
            color_scheme=color_scheme,
            **options,
        )
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.set_default_timeout(15000)
        return page

    yield make
    for context in contexts:
        context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture
def page(new_page: Any) -> Any:
    return new_page()
