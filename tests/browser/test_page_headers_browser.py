"""The page under the gateway's security headers, in a real Chromium: the CSP header lets
the page do all it does (no violation while it connects and streams), and no other site
can frame it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.test_chat_browser import open_chat, send, wait_for_reply

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture reports it: a skip on a laptop, a failure in CI
    expect = None  # type: ignore[assignment]

pytestmark = pytest.mark.browser

RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
"""


def test_the_csp_header_blocks_nothing_the_page_does(page: Any, server: str) -> None:
    page.add_init_script(RECORD_VIOLATIONS)
    answer = page.goto(server)
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    expect(page.locator("#status")).to_have_attribute("data-state", "open")
    send(page, "make a plan")  # a PLAN card and tool steps: the most the page renders
    wait_for_reply(page)
    assert page.evaluate("window.__violations") == []
    open_chat(page, server)  # a reload reconnects and resumes under the same policy
    assert page.evaluate("window.__violations") == []


def test_another_site_cannot_frame_the_page(page: Any, server: str) -> None:
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "frame-ancestors" in m.text else None)
    page.set_content(f'<iframe id="chat" src="{server}" width="600" height="400"></iframe>')
    frame = page.locator("#chat").element_handle().content_frame()
    page.wait_for_timeout(1000)
    assert frame.locator("#composer").count() == 0  # the chat never rendered in the frame
    assert blocked, "Chromium did not report the frame-ancestors refusal"
