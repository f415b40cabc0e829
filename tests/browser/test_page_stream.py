"""Streaming as people see it (Chromium, scripted peer): text revealed per animation frame
between coalesced frames, stored text unchanged; an interrupted reply shown as such, then
the recovered one; REASONING collapsed under its reply; PLAN, AGENT_LOG, SYSTEM_LOG as before."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.fake_server import FakeServer, open_app
from tests.browser.page_support import STORED_REPLY, expect, sent_and_stored

pytestmark = pytest.mark.browser

# Records, at every animation frame, how much of the streaming bubble's text is shown
# (data-shown: characters of the received text rendered so far).
WATCH_REVEAL = """
() => {
  window.__lengths = [];
  const tick = () => {
    const bubble = document.querySelector('#messages .msg.streaming');
    if (bubble && bubble.dataset.shown) window.__lengths.push(Number(bubble.dataset.shown));
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}
"""


def delta(reply_id: str, seq: int, text: str, message_type: str = "CONVERSATION") -> dict[str, Any]:
    return {
        "type": "delta",
        "replyId": reply_id,
        "seq": seq,
        "messageType": message_type,
        "text": text,
    }


def test_a_coalesced_frame_is_revealed_over_several_animation_frames(page: Any) -> None:
    fake = FakeServer()
    open_app(page, fake)
    sent_and_stored(page, "write a paragraph")
    page.evaluate(WATCH_REVEAL)
    first = "The quick brown fox jumps over the lazy dog. " * 6  # one coalesced frame, 270 chars
    second = "Then it naps in the warm afternoon sun. " * 6
    fake.push(delta("r1", 0, first))
    page.wait_for_function(f"() => window.__lengths.includes({len(first)})")
    fake.push(delta("r1", 1, second))
    page.wait_for_function(f"() => window.__lengths.includes({len(first + second)})")
    lengths = page.evaluate("window.__lengths")
    shown = page.locator("#messages .msg.streaming .text").text_content() or ""
    assert shown.strip() == (first + second).strip()
    steps = sorted({n for n in lengths if 0 < n < len(first + second)})
    # Between the two frames the text grew in many small steps, not two jumps.
    assert len(steps) >= 10, steps
    assert max(b - a for a, b in zip([0, *steps], steps, strict=False)) < len(first)

    # What is stored is exactly what arrived.
    text = first + second
    fake.push(fake.store("AGENT", text, replyId="r1", status="complete"))
    fake.push({"type": "done", "replyId": "r1", "status": "complete", "usage": {}})
    reply = page.locator(STORED_REPLY)
    expect(reply).to_have_count(1)
    assert (
        page.evaluate(
            "() => document.querySelector('#messages .msg[data-created-at][data-role=AGENT]')"
            ".source"
        )
        == text
    )
    expect(reply.locator(".text")).to_have_text(text.strip())


def test_an_interrupted_reply_shows_as_interrupted_then_the_recovered_one(page: Any) -> None:
    fake = FakeServer()
    open_app(page, fake)
    sent_and_stored(page, "explain tides")
    asked = fake.stored[-1]["createdAt"]
    fake.push(delta("r1", 0, "Tides are caused by"))
    expect(page.locator("#messages .msg.streaming")).to_have_count(1)
    # The server restarted: the partial reply is stored as interrupted, then answered again.
    fake.push(
        fake.store(
            "AGENT", "Tides are caused by", replyId="r1", status="interrupted", replyTo=asked
        )
    )
    fake.push({"type": "done", "replyId": "r1", "status": "interrupted", "usage": {}})
    cut = page.locator('#messages .msg[data-status="interrupted"]')
    expect(cut).to_have_count(1)
    expect(cut.locator(".status-label")).to_contain_text("Interrupted")
    expect(page.locator("#messages .msg.streaming")).to_have_count(0)
    fake.reply("Tides are caused by the Moon's gravity.", replyTo=asked)
    expect(page.locator(STORED_REPLY)).to_have_count(2)
    recovered = page.locator(STORED_REPLY).last
    expect(recovered).to_contain_text("the Moon's gravity")
    expect(recovered).not_to_have_attribute("data-status", "interrupted")


def test_reasoning_is_collapsed_under_its_reply_and_logs_show_as_before(page: Any) -> None:
    fake = FakeServer()
    open_app(page, fake)
    sent_and_stored(page, "plan a picnic")
    fake.push(delta("r1", 0, "The user wants ", "REASONING"))
    fake.push(delta("r1", 1, "a plan.", "REASONING"))
    streaming = page.locator('#messages .msg[data-type="REASONING"] details')
    expect(streaming).to_have_count(1)
    assert streaming.get_attribute("open") is None
    fake.push(fake.store("AGENT", "The user wants a plan.", "REASONING", replyId="r1"))
    fake.push(fake.store("AGENT", "Plan:\n1. Pack food\n2. Find a park", "PLAN", replyId="r1"))
    fake.push(fake.store("AGENT", "→ current_time({})", "AGENT_LOG", replyId="r1"))
    fake.reply("Here is your plan.")
    reasoning = page.locator('#messages .msg[data-type="REASONING"]')
    expect(reasoning).to_have_count(1)
    details = reasoning.locator("details")
    assert details.get_attribute("open") is None
    expect(reasoning.locator(".text")).to_be_hidden()
    reasoning.locator("summary").click()
    expect(reasoning.locator(".text")).to_have_text("The user wants a plan.")
    # It comes before the reply it led to.
    order = page.locator("#messages .msg[data-created-at]").evaluate_all(
        "els => els.map(e => e.dataset.type)"
    )
    assert order.index("REASONING") < order.index("CONVERSATION", 1)
    expect(page.locator('#messages .msg[data-type="PLAN"] .plan-steps li')).to_have_count(2)
    expect(page.locator('#messages .msg[data-type="AGENT_LOG"] .log')).to_have_text(
        "→ current_time({})"
    )
    fake.push(
        fake.store("SYSTEM", "Stopped before the reply began.", "SYSTEM_LOG", status="stopped")
    )
    expect(page.locator('#messages .msg[data-type="SYSTEM_LOG"]')).to_have_text(
        "Stopped before the reply began."
    )
