"""Keyboard and assistive technology (Chromium, scripted peer): axe-core finds nothing
critical or serious, light and dark, empty and in a conversation; everything is reachable
with Tab; Escape stops a reply; one live region says when a reply starts and ends."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.fake_server import ROUTES, FakeServer, open_app
from tests.browser.npm import axe_source
from tests.browser.page_support import STORED_REPLY, expect, sent_and_stored
from tests.browser.static import ORIGIN

pytestmark = pytest.mark.browser

CONVERSATION_MD = (
    "## Plan\n\n1. **Pack** food\n2. Check the `weather`\n\n"
    "| item | qty |\n|---|---|\n| rice | 2 |\n\n```python\nprint('ok')\n```\n\n"
    "- [x] done\n- [ ] open\n\nSee <https://example.com>.\n"
)

RUN_AXE = """
async () => {
  const result = await axe.run(document, { resultTypes: ['violations'] });
  return result.violations
    .filter((v) => v.impact === 'critical' || v.impact === 'serious')
    .map((v) => ({
      id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5),
    }));
}
"""


def add_axe(page: Any) -> None:
    """axe-core from the page's own origin: the page's CSP allows no inline script."""
    source = axe_source()
    page.route(
        f"{ORIGIN}/__test/axe.js",
        lambda route: route.fulfill(status=200, body=source, content_type="text/javascript"),
    )
    page.add_script_tag(url=f"{ORIGIN}/__test/axe.js")


def conversation(page: Any, fake: FakeServer) -> None:
    sent_and_stored(page, "plan a picnic")
    fake.push(fake.store("AGENT", "Plan:\n1. Pack\n2. Go", "PLAN"))
    fake.push(fake.store("AGENT", "→ current_time({})", "AGENT_LOG"))
    fake.push(fake.store("AGENT", "The user wants a picnic plan.", "REASONING"))
    fake.reply(CONVERSATION_MD, model="azuchi-scripted", replyTo=fake.stored[0]["createdAt"])
    expect(page.locator(STORED_REPLY)).to_have_count(1)
    approval = {"callId": "c1", "tool": "calculate", "arguments": {"expression": "6*7"}}
    approval["expiresAt"] = 4_102_444_800_000  # 2100: it stays open while axe looks
    fake.push(
        fake.store("AGENT", 'calculate({"expression": "6*7"})', "APPROVAL", approval=approval)
    )
    expect(page.locator(".approval .approve-tool")).to_have_count(1)
    fake.push(
        fake.store(
            "SYSTEM", "The reply failed (MODEL_TIMEOUT): slow.", "SYSTEM_LOG", status="error"
        )
    )
    expect(page.locator('#messages .msg[data-type="SYSTEM_LOG"]')).to_have_count(1)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("state", ["empty", "conversation"])
def test_axe_finds_nothing_critical_or_serious(new_page: Any, scheme: str, state: str) -> None:
    page = new_page(color_scheme=scheme)
    fake = FakeServer(routes=[*ROUTES, "regenerate", "editMessage"])
    open_app(page, fake)
    if state == "conversation":
        conversation(page, fake)
        page.locator(".reasoning summary").click()  # open disclosures are checked too
    add_axe(page)
    problems = page.evaluate(RUN_AXE)
    assert problems == [], problems


def test_everything_is_reachable_with_tab(page: Any) -> None:
    fake = FakeServer(routes=[*ROUTES, "regenerate", "editMessage"])
    open_app(page, fake)
    conversation(page, fake)
    page.locator("#composer").fill("draft")  # Send is enabled only with text
    wanted = {
        "#new-chat-side",
        "#chat-search",
        "#chat-list .chat-link",
        "#chat-list .chat-rename",
        "#chat-list .chat-delete",
        "#language",
        "#thread",
        ".copy-code",
        ".copy-reply",
        ".regenerate",
        ".edit-last",
        ".reasoning summary",
        ".details summary",
        "#composer",
        "#send",
        "#messages .markdown a",
    }
    page.locator("body").focus()
    reached: set[str] = set()
    for _ in range(60):
        page.keyboard.press("Tab")
        for selector in wanted - reached:
            if page.evaluate("(s) => document.activeElement.matches(s)", selector):
                reached.add(selector)
    assert wanted - reached == set(), f"not reachable by Tab: {sorted(wanted - reached)}"


def test_escape_stops_a_streaming_reply(page: Any) -> None:
    fake = FakeServer()
    open_app(page, fake)
    sent_and_stored(page, "tell me a long story")
    fake.push(
        {"type": "delta", "replyId": "r1", "seq": 0, "messageType": "CONVERSATION", "text": "Once"}
    )
    expect(page.locator("#messages .msg.streaming")).to_have_count(1)
    page.keyboard.press("Escape")
    assert fake.sent("stopGeneration") == [{"action": "stopGeneration"}]


def test_one_live_region_says_start_and_end_not_every_token(page: Any) -> None:
    fake = FakeServer()
    open_app(page, fake)
    page.evaluate(
        """() => {
          window.__said = [];
          const region = document.getElementById('announcer');
          const note = () => { if (region.textContent) window.__said.push(region.textContent); };
          const what = { childList: true, characterData: true, subtree: true };
          new MutationObserver(note).observe(region, what);
        }"""
    )
    sent_and_stored(page, "count to fifty")
    fake.reply(" ".join(str(n) for n in range(50)), chunks=25)
    expect(page.locator(STORED_REPLY)).to_have_count(1)
    page.wait_for_function("() => window.__said.includes('Reply finished.')")
    assert page.evaluate("window.__said") == ["azuchi is replying.", "Reply finished."]
    # Only one polite live region on the page; the message list itself is not one.
    live = page.locator("[aria-live], [role=log], [role=status], [role=alert]")
    expect(live).to_have_count(1)
