"""Reply actions and errors as people see them (Chromium): copy a reply, regenerate the last
one, edit and resend the last message, against a real `azuchi serve` (two tabs of one chat
agree afterwards, and so does a reload); every error a sentence with the details behind a
disclosure, and the server's limits refused before sending (a scripted peer)."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.inprocess.scripted_model import ScriptedChatModel, ScriptedSettings
from core.domain import ModelRequest
from tests.browser.fake_server import ROUTES, FakeServer, open_app
from tests.browser.page_support import STORED_REPLY, STORED_USER, expect, send, sent_and_stored

pytestmark = pytest.mark.browser

BACKEND_TEXT = (
    "The reply failed (MODEL_STREAM_ERROR): Connection error: "
    "http://10.0.0.7:11434/v1/chat/completions ConnectError(111). "
    "Your message is saved; send another message to try again."
)


def open_chat(page: Any, url: str) -> None:
    page.goto(url)
    expect(page.locator("#status")).to_have_attribute("data-state", "open")


def replies_settled(page: Any, count: int = 1) -> None:
    expect(page.locator(STORED_REPLY)).to_have_count(count, timeout=20000)
    expect(page.locator("#messages .msg.streaming")).to_have_count(0)


def created_at(page: Any, selector: str) -> list[int]:
    return [
        int(v)
        for v in page.locator(selector).evaluate_all(
            "(items) => items.map((li) => li.dataset.createdAt)"
        )
    ]


def session_of(page: Any) -> str:
    page.wait_for_function("() => location.hash.startsWith('#/s/')")
    return str(page.evaluate("location.hash.slice(4)"))


def scripted_reply(prompt: str) -> str:
    """What the real server's scripted model answers to ``prompt`` (it is deterministic)."""
    model = ScriptedChatModel(ScriptedSettings())
    return model._reply_text(ModelRequest(system="", history=(), prompt=prompt))


def test_copy_a_reply_gives_its_markdown_source(page: Any, server: str) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.rstrip("/"))
    open_chat(page, server)
    sent_and_stored(page, "list two fruits")
    replies_settled(page)
    reply = page.locator(STORED_REPLY)
    reply.locator(".copy-reply").click()
    expect(reply.locator(".copy-reply")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == scripted_reply("list two fruits")


def test_regenerate_replaces_the_last_reply_in_both_tabs(new_page: Any, server: str) -> None:
    first, second = new_page(), new_page()
    open_chat(first, server)
    sent_and_stored(first, "a haiku please")
    replies_settled(first)
    sid = session_of(first)
    open_chat(second, f"{server}#/s/{sid}")
    replies_settled(second)
    (old,) = created_at(first, STORED_REPLY)
    (asked,) = created_at(first, STORED_USER)
    # Only the last reply offers it, and only while nothing runs.
    expect(first.locator(".regenerate")).to_have_count(1)
    first.locator(STORED_REPLY + " .regenerate").click()

    for tab in (first, second):  # the old reply is gone, one new reply in its place
        expect(tab.locator(f'{STORED_REPLY}[data-created-at="{old}"]')).to_have_count(0)
        replies_settled(tab)
        (new,) = created_at(tab, STORED_REPLY)
        assert new > old
        assert created_at(tab, STORED_USER) == [asked]
        expect(tab.locator(STORED_REPLY)).to_contain_text('You said: "a haiku please"')
    expect(first.locator(STORED_REPLY + " .regenerate")).to_have_count(1)
    second.reload()  # what the server kept agrees
    replies_settled(second)
    assert created_at(second, STORED_REPLY) == created_at(first, STORED_REPLY)
    assert created_at(second, STORED_USER) == [asked]


def test_edit_and_resend_the_last_message(new_page: Any, server: str) -> None:
    page, other = new_page(), new_page()
    open_chat(page, server)
    sent_and_stored(page, "waht is the capital of Japan")
    replies_settled(page)
    open_chat(other, f"{server}#/s/{session_of(page)}")
    replies_settled(other)

    page.locator(STORED_USER + " .edit-last").click()
    composer = page.locator("#composer")
    expect(composer).to_have_value("waht is the capital of Japan")
    expect(composer).to_be_focused()
    expect(page.locator("#editing")).to_be_visible()
    composer.fill("what is the capital of Japan")
    composer.press("Enter")
    expect(page.locator("#editing")).to_be_hidden()
    for tab in (page, other):  # the typo and its reply are gone; the edit is answered
        expect(tab.locator(STORED_USER + " .text")).to_have_text(["what is the capital of Japan"])
        replies_settled(tab)
        expect(tab.locator(STORED_REPLY)).to_contain_text(
            'You said: "what is the capital of Japan"'
        )
    page.reload()
    replies_settled(page)
    expect(page.locator(STORED_USER + " .text")).to_have_text(["what is the capital of Japan"])


def test_a_tab_away_during_a_regenerate_shows_the_new_reply_when_back(
    new_page: Any, server: str
) -> None:
    """The second tab's socket goes through a relay that drops what the server sends while
    it is "away" (the `removed` frame and the new reply), then closes; the tab reconnects,
    resumes from its cursor, is told a turn was taken back, and reloads the chat."""
    first, second = new_page(), new_page()
    open_chat(first, server)
    sent_and_stored(first, "a haiku please")
    replies_settled(first)
    away = {"on": False}
    relays: list[Any] = []

    def relay(ws: Any) -> None:
        upstream = ws.connect_to_server()
        ws.on_message(upstream.send)
        upstream.on_message(lambda message: None if away["on"] else ws.send(message))
        relays.append(ws)

    ws_origin = server.replace("http", "ws", 1).rstrip("/")
    second.route_web_socket(f"{ws_origin}/**", relay)
    open_chat(second, f"{server}#/s/{session_of(first)}")
    replies_settled(second)
    (old,) = created_at(second, STORED_REPLY)

    away["on"] = True
    first.locator(STORED_REPLY + " .regenerate").click()
    expect(first.locator(f'{STORED_REPLY}[data-created-at="{old}"]')).to_have_count(0)
    replies_settled(first)
    assert created_at(second, STORED_REPLY) == [old]  # it missed all of it
    away["on"] = False
    relays[-1].close(code=1001, reason="back")
    expect(second.locator(f'{STORED_REPLY}[data-created-at="{old}"]')).to_have_count(0)
    replies_settled(second)
    assert created_at(second, STORED_REPLY) == created_at(first, STORED_REPLY)
    assert created_at(second, STORED_USER) == created_at(first, STORED_USER)


def test_escape_cancels_an_edit(page: Any, server: str) -> None:
    open_chat(page, server)
    sent_and_stored(page, "first")
    replies_settled(page)
    page.locator(STORED_USER + " .edit-last").click()
    page.keyboard.press("Escape")
    expect(page.locator("#editing")).to_be_hidden()
    expect(page.locator("#composer")).to_have_value("")
    send(page, "second")  # a plain new message, not an edit
    replies_settled(page, 2)
    expect(page.locator(STORED_USER + " .text")).to_have_text(["first", "second"])


def test_a_reply_that_failed_before_any_text_can_be_regenerated(page: Any) -> None:
    """A model that was down leaves only a note under the message; the note offers
    Regenerate, as its sentence says (a scripted peer: the real server's scripted model
    always writes some text before it fails)."""
    fake = FakeServer(routes=[*ROUTES, "regenerate", "editMessage"])
    open_app(page, fake)
    sent_and_stored(page, "hi")
    asked = fake.stored[-1]["createdAt"]
    fake.push(fake.store("SYSTEM", BACKEND_TEXT, "SYSTEM_LOG", status="error", replyTo=asked))
    fake.push({"type": "done", "replyId": "r1", "status": "error", "usage": {}})
    note = page.locator('#messages .msg[data-type="SYSTEM_LOG"]')
    expect(note.locator(".regenerate")).to_have_count(1)
    note.locator(".regenerate").click()
    assert fake.sent("regenerate") == [{"action": "regenerate", "replyTo": asked}]


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
