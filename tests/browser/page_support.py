"""Small steps the page tests share: type and send, wait for stored messages."""

from __future__ import annotations

from typing import Any

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture reports it
    expect = None  # type: ignore[assignment]

USER = '#messages .msg[data-role="USER"]'
STORED_USER = USER + "[data-created-at]"
REPLY = '#messages .msg[data-role="AGENT"][data-type="CONVERSATION"]'
STORED_REPLY = REPLY + "[data-created-at]"


def send(page: Any, text: str) -> None:
    page.locator("#composer").fill(text)
    page.locator("#composer").press("Enter")


def sent_and_stored(page: Any, text: str, count: int = 1) -> None:
    """Send ``text`` and wait until the server's echo replaced the local bubble."""
    send(page, text)
    expect(page.locator(STORED_USER)).to_have_count(count)


def open_state(page: Any) -> None:
    page.wait_for_function("() => document.getElementById('status').dataset.state === 'open'")
