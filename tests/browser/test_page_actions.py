"""Reply actions and errors as people see them (Chromium, scripted peer): copy a reply,
regenerate the last one, edit and resend the last message; every error a sentence with the
details behind a disclosure; the server's limits refused before sending."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.fake_server import ROUTES, FakeServer, open_app
from tests.browser.page_support import STORED_REPLY, STORED_USER, expect, send, sent_and_stored
from tests.browser.static import ORIGIN

pytestmark = pytest.mark.browser

WITH_REGENERATE = [*ROUTES, "regenerate"]
BACKEND_TEXT = (
    "The reply failed (MODEL_STREAM_ERROR): Connection error: "
    "http://10.0.0.7:11434/v1/chat/completions ConnectError(111). "
    "Your message is saved; send another message to try again."
)


def test_copy_a_reply_gives_its_markdown_source(page: Any) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=ORIGIN)
    fake = FakeServer()
    open_app(page, fake)
    sent_and_stored(page, "list two fruits")
    fake.reply("- **apple**\n- pear\n")
    reply = page.locator(STORED_REPLY)
    reply.locator(".copy-reply").click()
    expect(reply.locator(".copy-reply")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == "- **apple**\n- pear\n"


def test_regenerate_the_last_reply(page: Any) -> None:
    fake = FakeServer(routes=WITH_REGENERATE)
    open_app(page, fake)
    sent_and_stored(page, "a haiku please")
    asked = fake.stored[-1]["createdAt"]
    fake.reply("old pond", replyTo=asked)
    expect(page.locator(STORED_REPLY)).to_have_count(1)
    # Only the last reply offers it, and only when nothing is running.
    expect(page.locator(".regenerate")).to_have_count(1)
    page.locator(STORED_REPLY + " .regenerate").click()
    assert fake.sent("regenerate") == [{"action": "regenerate"}]
    expect(page.locator(".regenerate")).to_have_count(0)  # busy until the new reply ends
    fake.reply("a frog jumps in", replyTo=asked)
    expect(page.locator(STORED_REPLY)).to_have_count(2)
    expect(page.locator(".regenerate")).to_have_count(1)
    expect(page.locator(STORED_REPLY).last.locator(".regenerate")).to_have_count(1)


def test_edit_and_resend_the_last_message(page: Any) -> None:
    fake = FakeServer(routes=WITH_REGENERATE)
    open_app(page, fake)
    sent_and_stored(page, "waht is 2+2")
    typo = fake.stored[-1]["createdAt"]
    fake.reply("Did you mean 2+2?", replyTo=typo)
    expect(page.locator(STORED_REPLY)).to_have_count(1)

    page.locator(STORED_USER + " .edit-last").click()
    composer = page.locator("#composer")
    expect(composer).to_have_value("waht is 2+2")
    expect(composer).to_be_focused()
    expect(page.locator("#editing")).to_be_visible()
    composer.fill("what is 2+2")
    composer.press("Enter")
    put = fake.sent("putMessage")[-1]
    assert put["message"] == "what is 2+2" and put["replaces"] == typo
    # The replaced message and its reply are hidden; the new one shows.
    visible_users = page.locator(STORED_USER + ":not([hidden])")
    expect(visible_users).to_have_text(["what is 2+2"])
    expect(page.locator(STORED_REPLY + ":not([hidden])")).to_have_count(0)


def test_escape_cancels_an_edit(page: Any) -> None:
    fake = FakeServer(routes=WITH_REGENERATE)
    open_app(page, fake)
    sent_and_stored(page, "first")
    fake.reply("ok", replyTo=fake.stored[-1]["createdAt"])
    expect(page.locator(STORED_REPLY)).to_have_count(1)
    page.locator(STORED_USER + " .edit-last").click()
    page.keyboard.press("Escape")
    expect(page.locator("#editing")).to_be_hidden()
    expect(page.locator("#composer")).to_have_value("")


def test_an_error_frame_is_a_sentence_with_details_hidden(page: Any) -> None:
    fake = FakeServer()
    open_app(page, fake)
    fake.push({"type": "error", "code": "MODEL_STREAM_ERROR", "message": BACKEND_TEXT})
    notice = page.locator("#notices .notice")
    expect(notice).to_contain_text("The AI model is not reachable right now")
    # The backend's URL and the exception are not shown until the user opens the details.
    assert "10.0.0.7" not in notice.inner_text()
    assert "MODEL_STREAM_ERROR" not in notice.inner_text()
    notice.locator("summary").click()
    expect(notice.locator(".details-text")).to_contain_text("MODEL_STREAM_ERROR")
    expect(notice.locator(".details-text")).to_be_visible()


def test_a_failed_reply_log_is_a_sentence_with_details_hidden(page: Any) -> None:
    fake = FakeServer()
    open_app(page, fake)
    sent_and_stored(page, "hi")
    fake.push(fake.store("SYSTEM", BACKEND_TEXT, "SYSTEM_LOG", status="error"))
    line = page.locator('#messages .msg[data-type="SYSTEM_LOG"]')
    expect(line).to_contain_text("The AI model is not reachable right now")
    assert "10.0.0.7" not in line.inner_text()
    assert "ConnectError" not in line.inner_text()


def test_an_unknown_code_still_gets_a_sentence(page: Any) -> None:
    fake = FakeServer()
    open_app(page, fake)
    fake.push(
        {"type": "error", "code": "SOMETHING_NEW", "message": "Traceback (most recent call last)"}
    )
    notice = page.locator("#notices .notice")
    expect(notice).to_contain_text("Something went wrong. Try again in a moment.")
    assert "Traceback" not in notice.inner_text()


def test_the_servers_message_limit_is_checked_before_sending(page: Any) -> None:
    fake = FakeServer(limits={"maxMessageBytes": 16384})
    open_app(page, fake)
    page.wait_for_function("() => true")
    expect(page.locator("#status")).to_have_attribute("data-state", "open")
    assert fake.sent("hello"), "the page asks for the routes and limits on connect"
    text = "x" * (20 * 1024)
    send(page, text)
    notice = page.locator("#notices .notice")
    expect(notice).to_contain_text("20 KB")
    expect(notice).to_contain_text("16 KB")
    assert fake.sent("putMessage") == []
    expect(page.locator("#composer")).to_have_value(text)  # nothing lost
    expect(page.locator("#messages .msg")).to_have_count(0)
    # Under the limit it goes.
    sent_and_stored(page, "y" * 16000)


def test_a_rate_limit_in_limits_is_checked_before_sending(page: Any) -> None:
    fake = FakeServer(limits={"maxMessageBytes": 16384, "messagesPerMinute": 2})
    open_app(page, fake)
    sent_and_stored(page, "one")
    sent_and_stored(page, "two", count=2)
    send(page, "three")
    expect(page.locator("#notices .notice")).to_contain_text("faster than allowed")
    assert len(fake.sent("putMessage")) == 2


def test_a_refusal_with_retry_after_holds_sending_until_then(page: Any) -> None:
    fake = FakeServer(limits={"maxMessageBytes": 16384, "messagesPerMinute": 6, "messageBurst": 2})
    open_app(page, fake)
    sent_and_stored(page, "one")
    fake.push(
        {
            "type": "error",
            "code": "SPEND_CAP_REACHED",
            "message": "This service has reached its model spending limit for today ($20).",
            "action": "putMessage",
            "retryAfter": 120,
        }
    )
    notice = page.locator("#notices .notice").last
    expect(notice).to_contain_text("spending limit for today")
    expect(notice).to_contain_text("You can send again in 120 s.")
    send(page, "two")  # refused by the page itself: nothing goes out before then
    expect(page.locator("#notices")).to_contain_text("You can send again in 1")
    assert [f["message"] for f in fake.sent("putMessage")] == ["one"]
    expect(page.locator("#composer")).to_have_value("two")


def test_the_page_mirrors_the_servers_message_burst(page: Any) -> None:
    fake = FakeServer(limits={"maxMessageBytes": 16384, "messagesPerMinute": 6, "messageBurst": 2})
    open_app(page, fake)
    sent_and_stored(page, "one")
    sent_and_stored(page, "two", count=2)
    send(page, "three")  # the third within the burst's refill (10 s) is the server's refusal
    expect(page.locator("#notices .notice")).to_contain_text("faster than allowed")
    assert len(fake.sent("putMessage")) == 2
