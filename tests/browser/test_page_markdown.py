"""Replies in the real page are markdown: rendered while they stream and when stored, with
code blocks that copy (Chromium, scripted WebSocket peer)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.fake_server import FakeServer, open_app
from tests.browser.static import ORIGIN

try:
    from playwright.sync_api import expect
except ImportError:
    expect = None  # type: ignore[assignment]

pytestmark = pytest.mark.browser

REPLY_MD = "## Steps\n\n1. **Boil** water\n2. Add `tea`\n\n```python\nprint('ready')\n```\n"


def test_a_reply_is_rendered_as_markdown_and_its_code_copies(page: Any) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=ORIGIN)
    fake = FakeServer()
    open_app(page, fake)
    page.locator("#composer").fill("how do I make tea?")
    page.locator("#composer").press("Enter")
    expect(page.locator('#messages .msg[data-role="USER"][data-created-at]')).to_have_count(1)
    fake.reply(REPLY_MD, chunks=6)

    reply = page.locator('#messages .msg[data-role="AGENT"][data-created-at]')
    expect(reply.locator("h2")).to_have_text("Steps")
    expect(reply.locator("ol > li")).to_have_count(2)
    expect(reply.locator("ol strong")).to_have_text("Boil")
    expect(reply.locator(".code-block .code-lang")).to_have_text("python")
    reply.locator(".copy-code").click()
    expect(reply.locator(".copy-code")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == "print('ready')\n"
    # The literal markdown is not what the user sees.
    assert "**" not in (reply.text_content() or "")
