"""The chat list and the URL, in Chromium against a scripted peer: every chat this browser
knows stays reachable (sidebar, search, rename, delete), and the URL names the open chat,
so reload, back/forward and bookmarks work."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.fake_server import ROUTES, FakeServer, open_app
from tests.browser.page_support import (
    STORED_REPLY,
    STORED_USER,
    expect,
    open_state,
    sent_and_stored,
)

pytestmark = pytest.mark.browser


def current_hash_id(page: Any) -> str:
    return str(page.evaluate("location.hash")).removeprefix("#/s/")


def test_the_url_names_the_chat_and_new_chat_keeps_the_old_one(page: Any) -> None:
    fake = FakeServer()
    open_app(page, fake)
    sent_and_stored(page, "first chat question")
    fake.reply("first answer")
    expect(page.locator(STORED_REPLY)).to_have_count(1)
    first = fake.session_id
    page.wait_for_function(f"() => location.hash === '#/s/{first}'")

    page.locator("#new-chat-side").click()
    open_state(page)
    expect(page.locator(STORED_USER)).to_have_count(0)
    sent_and_stored(page, "second chat question")
    second = fake.session_id
    assert second != first
    page.wait_for_function(f"() => location.hash === '#/s/{second}'")

    # Both chats are in the list, newest first; the open one is marked.
    links = page.locator("#chat-list .chat-link")
    expect(links).to_have_count(2)
    assert links.nth(0).get_attribute("href") == f"#/s/{second}"
    expect(links.nth(0)).to_have_attribute("aria-current", "page")

    # Back: the first chat again, with its messages.
    page.go_back()
    page.wait_for_function(f"() => location.hash === '#/s/{first}'")
    expect(page.locator(STORED_USER)).to_have_text(["first chat question"])
    expect(page.locator(STORED_REPLY)).to_contain_text("first answer")
    assert f"sessionId={first}" in fake.urls[-1]
    # Forward: the second.
    page.go_forward()
    expect(page.locator(STORED_USER)).to_have_text(["second chat question"])

    # A link in the list opens the first chat; a reload stays on it.
    page.locator(f'#chat-list a[href="#/s/{first}"]').click()
    expect(page.locator(STORED_USER)).to_have_text(["first chat question"])
    page.reload()
    open_state(page)
    assert current_hash_id(page) == first
    expect(page.locator(STORED_USER)).to_have_text(["first chat question"])


def test_a_bookmarked_chat_opens_in_a_fresh_browser(new_page: Any) -> None:
    fake = FakeServer()
    fake.title = "Kyoto weekend"
    fake.store("USER", "plan a weekend in Kyoto")
    fake.store("AGENT", "Day 1: temples.")
    page = open_app(new_page(), fake, f"#/s/{fake.session_id}")
    expect(page.locator(STORED_USER)).to_have_text(["plan a weekend in Kyoto"])
    expect(page.locator("#title")).to_have_text("Kyoto weekend")
    expect(page.locator("#chat-list .chat-link")).to_have_text(["Kyoto weekend"])


def test_search_rename_and_delete_in_the_list(page: Any) -> None:
    fake = FakeServer()
    ids = [fake.new_session(title) for title in ("Picnic plans", "Tax questions", "Kyoto trip")]
    page.add_init_script(
        "localStorage.setItem('azuchi.sessions', JSON.stringify(%s))"
        % [
            {"sessionId": sid, "title": t, "updatedAt": n}
            for n, (sid, t) in enumerate(
                zip(ids, ("Picnic plans", "Tax questions", "Kyoto trip"), strict=True)
            )
        ]
    )
    open_app(page, fake)
    links = page.locator("#chat-list .chat-link")
    expect(links).to_have_text(["Kyoto trip", "Tax questions", "Picnic plans"])  # newest first

    page.locator("#chat-search").fill("ta")
    expect(links).to_have_text(["Tax questions"])
    page.locator("#chat-search").fill("zzz")
    expect(page.locator("#chat-list .chat-none")).to_contain_text("zzz")
    page.locator("#chat-search").fill("")

    # Rename by keyboard: the button, type, Enter.
    row = page.locator(f'#chat-list [data-session-id="{ids[1]}"]')
    row.locator(".chat-rename").click()
    field = page.locator("#chat-list .rename-input")
    expect(field).to_be_focused()
    field.fill("Taxes 2026")
    field.press("Enter")
    expect(page.locator(f'#chat-list [data-session-id="{ids[1]}"] .chat-link')).to_have_text(
        "Taxes 2026"
    )
    assert fake.sent("renameSession")[-1] == {
        "action": "renameSession",
        "sessionId": ids[1],
        "title": "Taxes 2026",
    }
    # Escape cancels a rename.
    row.locator(".chat-rename").click()
    page.locator("#chat-list .rename-input").fill("never")
    page.locator("#chat-list .rename-input").press("Escape")
    expect(links).to_have_text(
        ["Kyoto trip", "Taxes 2026", "Picnic plans"]
    )  # the empty new chat is not listed
    assert len(fake.sent("renameSession")) == 1

    # Delete asks first; dismissing keeps it, accepting deletes it.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.locator(f'#chat-list [data-session-id="{ids[0]}"] .chat-delete').click()
    assert fake.sent("deleteSession") == []
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f'#chat-list [data-session-id="{ids[0]}"] .chat-delete').click()
    expect(page.locator(f'#chat-list [data-session-id="{ids[0]}"]')).to_have_count(0)
    assert fake.sent("deleteSession") == [{"action": "deleteSession", "sessionId": ids[0]}]


def test_deleting_the_open_chat_starts_a_new_one(page: Any) -> None:
    fake = FakeServer()
    open_app(page, fake)
    sent_and_stored(page, "something to forget")
    doomed = fake.session_id
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f'#chat-list [data-session-id="{doomed}"] .chat-delete').click()
    expect(page.locator(STORED_USER)).to_have_count(0)
    page.wait_for_function(f"() => !location.hash.includes('{doomed}')")
    open_state(page)
    expect(page.locator(f'#chat-list [data-session-id="{doomed}"]')).to_have_count(0)


def test_without_the_routes_there_is_no_rename_or_delete(page: Any) -> None:
    fake = FakeServer(routes=["putMessage", "getMessages", "stopGeneration"])
    open_app(page, fake)
    sent_and_stored(page, "hi")
    expect(page.locator("#chat-list .chat-link")).to_have_count(1)
    expect(page.locator("#chat-list .chat-rename, #chat-list .chat-delete")).to_have_count(0)


def test_signed_in_chats_come_from_list_sessions(page: Any) -> None:
    fake = FakeServer(routes=[*ROUTES, "listSessions"])
    fake.new_session("On my other laptop")
    open_app(page, fake)
    expect(page.locator("#chat-list .chat-link", has_text="On my other laptop")).to_have_count(1)
    assert fake.sent("listSessions")


def test_every_page_of_list_sessions_is_merged_into_the_list(page: Any) -> None:
    """listSessions answers 100 a page: a user with 230 chats sees all of them."""
    fake = FakeServer(routes=[*ROUTES, "listSessions"])
    for n in range(230):
        fake.new_session(f"Chat number {n}")
    open_app(page, fake)
    expect(page.locator("#chat-list .chat-link", has_text="Chat number 229")).to_have_count(1)
    expect(page.locator("#chat-list .chat-link", has_text="Chat number 0")).to_have_count(1)
    cursors = [f.get("cursor") for f in fake.received if f.get("action") == "listSessions"]
    assert cursors == [None, "100", "200"]


def test_the_list_is_a_drawer_on_phones(new_page: Any) -> None:
    page = new_page(viewport=(375, 812))
    fake = FakeServer()
    open_app(page, fake)
    sent_and_stored(page, "hi")
    expect(page.locator("#sidebar")).not_to_be_in_viewport()
    page.locator("#menu").click()
    expect(page.locator("#menu")).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#chat-search")).to_be_focused()
    expect(page.locator("#chat-list .chat-link")).to_be_in_viewport()
    page.keyboard.press("Escape")
    expect(page.locator("#menu")).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#menu")).to_be_focused()
