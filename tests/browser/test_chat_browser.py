"""The chat page in a real Chromium against the local stack: what a user sees."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture reports it: a skip on a laptop, a failure in CI
    expect = None  # type: ignore[assignment]

pytestmark = pytest.mark.browser

USER = '#messages .msg[data-role="USER"]'
AGENT_REPLY = '#messages .msg[data-role="AGENT"][data-type="CONVERSATION"]'
STORED_AGENT_REPLY = AGENT_REPLY + "[data-created-at]"
STREAMING = "#messages .msg.streaming"
XSS = "<img src=x onerror=alert(1)>"

# Records whether a streaming bubble ever appeared, however briefly (a fast reply may start and
# finish between two polls of an assertion).
WATCH_STREAMING = """
() => {
  window.__sawStreaming = false;
  const list = document.getElementById('messages');
  new MutationObserver(() => {
    if (list.querySelector('.msg.streaming')) window.__sawStreaming = true;
  }).observe(list, { childList: true, subtree: true, attributes: true });
}
"""

WATCH_STATUS = """
() => {
  const status = document.getElementById('status');
  window.__states = [status.dataset.state];
  new MutationObserver(() => window.__states.push(status.dataset.state))
    .observe(status, { attributes: true, attributeFilter: ['data-state'] });
}
"""


def open_chat(page: Any, url: str) -> None:
    page.goto(url)
    expect(page.locator("#status")).to_have_attribute("data-state", "open")


def send(page: Any, text: str) -> None:
    page.locator("#composer").fill(text)
    page.locator("#composer").press("Enter")


def wait_for_reply(page: Any, count: int = 1) -> None:
    expect(page.locator(STORED_AGENT_REPLY)).to_have_count(count, timeout=20000)
    expect(page.locator(STREAMING)).to_have_count(0)


def test_a_message_streams_a_reply(page: Any, server: str) -> None:
    open_chat(page, server)
    page.evaluate(WATCH_STREAMING)
    send(page, "hello")

    expect(page.locator(USER)).to_have_count(1)
    expect(page.locator(USER + " .text")).to_have_text("hello")
    expect(page.locator("#composer")).to_have_value("")
    page.wait_for_function("() => window.__sawStreaming === true")
    wait_for_reply(page)
    expect(page.locator(STORED_AGENT_REPLY)).to_contain_text("azuchi")
    # Under the reply: the model, its tokens and its price (the scripted model costs $0).
    usage = page.locator(STORED_AGENT_REPLY + " .meta .usage")
    expect(usage).to_contain_text("azuchi-scripted")
    expect(usage).to_contain_text(re.compile(r"\d+ → \d+ tokens · \$0\.0000"))
    # The user's bubble was acknowledged by the server (it carries its stored createdAt).
    expect(page.locator(USER + "[data-created-at] .text")).to_have_text("hello")
    expect(page.locator("#stop")).to_be_hidden()


def test_the_conversation_survives_a_reload(page: Any, server: str) -> None:
    open_chat(page, server)
    send(page, "hello")
    wait_for_reply(page)
    before = page.locator("#messages .msg").evaluate_all(
        "els => els.map(e => [e.dataset.createdAt, e.dataset.role, e.textContent])"
    )

    page.reload()
    expect(page.locator("#status")).to_have_attribute("data-state", "open")
    expect(page.locator(USER)).to_have_count(1)
    wait_for_reply(page)
    page.wait_for_timeout(500)  # late or repeated frames would show up as duplicates
    expect(page.locator(USER)).to_have_count(1)
    expect(page.locator(USER + " .text")).to_have_text("hello")
    expect(page.locator(AGENT_REPLY)).to_have_count(1)
    expect(page.locator(AGENT_REPLY)).to_contain_text("azuchi")
    after = page.locator("#messages .msg").evaluate_all(
        "els => els.map(e => [e.dataset.createdAt, e.dataset.role, e.textContent])"
    )
    assert after == before
    created = [row[0] for row in after]
    assert len(created) == len(set(created)), f"duplicate messages after reload: {after}"


def test_the_title_is_shown(page: Any, server: str) -> None:
    open_chat(page, server)
    send(page, "hello")
    wait_for_reply(page)
    expect(page.locator("#title")).not_to_have_text("New chat", timeout=15000)
    title = page.locator("#title").text_content()
    assert title and title.strip()
    assert title.strip() in page.title()


def test_markup_in_a_message_is_shown_as_text(page: Any, server: str) -> None:
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    open_chat(page, server)
    send(page, XSS)

    expect(page.locator(USER + "[data-created-at] .text")).to_have_text(XSS)
    wait_for_reply(page)
    assert page.locator("#messages img").count() == 0
    assert page.locator("#messages script").count() == 0
    assert dialogs == []


def test_stop_ends_the_reply(page: Any, slow_server: str) -> None:
    open_chat(page, slow_server)
    send(page, "tell me about azuchi")
    expect(page.locator(STREAMING)).to_have_count(1, timeout=20000)
    expect(page.locator("#stop")).to_be_visible()
    page.locator("#stop").click()

    stopped = page.locator('#messages .msg[data-role="AGENT"][data-status="stopped"]')
    expect(stopped).to_have_count(1, timeout=15000)
    expect(stopped).to_contain_text("Stopped")
    expect(page.locator(STREAMING)).to_have_count(0)
    expect(page.locator("#stop")).to_be_hidden()
    # The partial text is kept.
    assert len(stopped.locator(".text").text_content() or "") > 0


def test_a_plan_is_shown_as_a_card_with_a_tool_step(page: Any, server: str) -> None:
    open_chat(page, server)
    send(page, "make a plan for a picnic")
    wait_for_reply(page)
    plan = page.locator('#messages .msg[data-type="PLAN"]')
    expect(plan).to_have_count(1)
    assert plan.locator(".plan-steps li").count() >= 1
    expect(page.locator('#messages .msg[data-type="AGENT_LOG"]').first).to_be_visible()


@pytest.mark.parametrize(
    ("name", "viewport", "scheme"),
    [
        ("screenshot-mobile.png", (375, 812), "light"),
        ("screenshot-desktop.png", (1280, 800), "light"),
        ("screenshot-mobile-dark.png", (375, 812), "dark"),
    ],
)
def test_screenshots(
    new_page: Any, server: str, reports_dir: Path, name: str, viewport: tuple[int, int], scheme: str
) -> None:
    page = new_page(viewport=viewport, color_scheme=scheme)
    open_chat(page, server)
    send(page, "hello")
    wait_for_reply(page)
    send(page, "make a plan for a picnic")
    wait_for_reply(page, count=2)
    page.locator("#composer").fill("Shift+Enter makes a new line")
    page.wait_for_timeout(300)

    # Nothing sticks out sideways, and the composer stays on screen.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport[0], f"page is {width}px wide in a {viewport[0]}px viewport"
    box = page.locator("#composer").bounding_box()
    assert box is not None and box["y"] + box["height"] <= viewport[1]
    expect(page.locator("#send")).to_be_in_viewport()
    # New chat: in the header on phones (the list is a drawer), atop the sidebar elsewhere.
    new_chat = "#new-chat" if viewport[0] < 768 else "#new-chat-side"
    expect(page.locator(new_chat)).to_be_in_viewport()

    page.screenshot(path=str(reports_dir / name))
    assert (reports_dir / name).stat().st_size > 0


def test_the_page_reconnects_and_catches_up(page: Any, short_lived_server: str) -> None:
    sent: list[dict[str, Any]] = []

    def watch(ws: Any) -> None:
        ws.on("framesent", lambda payload: sent.append(json.loads(payload)))

    page.on("websocket", watch)
    open_chat(page, short_lived_server)
    page.evaluate(WATCH_STATUS)
    send(page, "hello")
    wait_for_reply(page)
    session_id = page.evaluate("localStorage.getItem('azuchi.sessionId')")
    assert session_id

    # The server closes the socket after 3 s; the page shows it and comes back by itself.
    page.wait_for_function("() => window.__states.includes('closed')", timeout=10000)
    expect(page.locator("#status")).to_have_attribute("data-state", "open")
    send(page, "again")
    wait_for_reply(page, count=2)
    page.wait_for_timeout(500)

    expect(page.locator(USER)).to_have_count(2)
    expect(page.locator(AGENT_REPLY)).to_have_count(2)
    created = page.locator("#messages .msg").evaluate_all(
        "els => els.map(e => e.dataset.createdAt)"
    )
    assert len(created) == len(set(created)), f"duplicate messages: {created}"
    assert created == sorted(created, key=int)
    # Same session, resumed with a cursor rather than re-fetched from the start.
    assert page.evaluate("localStorage.getItem('azuchi.sessionId')") == session_id
    resumed = [f for f in sent if f.get("action") == "getMessages" and "after" in f]
    assert resumed, f"no getMessages with a cursor was sent: {sent}"
