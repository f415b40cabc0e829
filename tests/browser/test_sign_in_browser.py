"""Sign-in in a real Chromium against `azuchi serve` trusting the test issuer: the page
takes the token from the URL fragment an identity provider redirects back with, connects
with it, and lists the user's chats from every device (listSessions); an anonymous browser
sees none of them and cannot open one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import _serve
from testsupport.issuer import TestIssuer

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture reports it: a skip on a laptop, a failure in CI
    expect = None  # type: ignore[assignment]

pytestmark = pytest.mark.browser

STORED_AGENT_REPLY = '#messages .msg[data-role="AGENT"][data-type="CONVERSATION"][data-created-at]'


@pytest.fixture(scope="module")
def issuer() -> Iterator[TestIssuer]:
    with TestIssuer(audience="azuchi-web") as running:
        yield running


@pytest.fixture(scope="module")
def signin_server(issuer: TestIssuer) -> Iterator[str]:
    yield from _serve(200, **issuer.env())


def chat_once(page: Any, text: str) -> str:
    """Sends ``text``, waits for the reply, returns the chat's session id (from the URL)."""
    expect(page.locator("#status")).to_have_attribute("data-state", "open")
    page.locator("#composer").fill(text)
    page.locator("#composer").press("Enter")
    expect(page.locator(STORED_AGENT_REPLY)).to_have_count(1, timeout=20000)
    page.wait_for_function("() => location.hash.startsWith('#/s/')")
    return str(page.evaluate("() => location.hash.slice(4)"))


def test_a_users_chats_follow_them_to_another_browser(
    new_page: Any, signin_server: str, issuer: TestIssuer
) -> None:
    laptop = new_page()
    laptop.goto(f"{signin_server}#id_token={issuer.mint('alice', expires_in=600)}")
    session_id = chat_once(laptop, "planning the picnic")
    assert "id_token" not in laptop.url  # the token left the URL (and the history)

    phone = new_page()  # another device: nothing in its localStorage
    phone.goto(f"{signin_server}#id_token={issuer.mint('alice', expires_in=600)}")
    expect(phone.locator("#status")).to_have_attribute("data-state", "open")
    expect(phone.locator(f'#chat-list [data-session-id="{session_id}"]')).to_have_count(1)
    phone.locator(f'#chat-list [data-session-id="{session_id}"] .chat-link').click()
    expect(phone.locator('#messages .msg[data-role="USER"] .text')).to_have_text(
        "planning the picnic"
    )
    expect(phone.locator("#account-name")).to_have_text("Signed in as alice")
    phone.locator("#sign-out").click()  # anonymous again: her chat no longer opens here
    expect(phone.locator("#account")).to_be_hidden()
    expect(phone.locator("#status")).to_have_attribute("data-state", "open")
    assert phone.evaluate("() => localStorage.getItem('azuchi.token')") is None

    stranger = new_page()  # anonymous: no list of alice's, and her chat will not open
    stranger.goto(signin_server)
    expect(stranger.locator("#status")).to_have_attribute("data-state", "open")
    expect(stranger.locator("#account")).to_be_hidden()
    expect(stranger.locator(f'#chat-list [data-session-id="{session_id}"]')).to_have_count(0)
    stranger.goto(f"{signin_server}#/s/{session_id}")
    stranger.wait_for_function(f"() => !location.hash.includes('{session_id}')", timeout=15000)
    expect(stranger.locator("#messages")).not_to_contain_text("planning the picnic")


def test_an_expired_token_is_dropped_and_the_page_stays_usable(
    page: Any, signin_server: str, issuer: TestIssuer
) -> None:
    page.goto(f"{signin_server}#id_token={issuer.mint('alice', exp=1)}")
    chat_once(page, "still here")  # anonymous: the page did not send a token it knew was dead
    assert page.evaluate("() => localStorage.getItem('azuchi.token')") is None
