"""Approving and denying a tool call on the page (Chromium), against a real `azuchi serve`
whose calculate tool waits for approval: the request shows the tool and its arguments with
Approve / Deny; a decision in one tab settles the card in every tab and after a reload; an
undecided request expires on the page as on the server."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.page_support import STORED_REPLY, expect, sent_and_stored

pytestmark = pytest.mark.browser

CARD = '#messages .msg[data-type="APPROVAL"]'
DECISION = '#messages .msg[data-type="APPROVAL_DECISION"]'


def open_chat(page: Any, url: str) -> None:
    page.goto(url)
    expect(page.locator("#status")).to_have_attribute("data-state", "open")


def ask(page: Any) -> Any:
    sent_and_stored(page, "What is 12 * 7?")
    card = page.locator(CARD)
    expect(card).to_have_count(1, timeout=20000)
    expect(card.locator(".approval-tool")).to_have_text("calculate")
    expect(card.locator(".approval-arguments")).to_contain_text('"expression": "12 * 7"')
    return card


def session_of(page: Any) -> str:
    page.wait_for_function("() => location.hash.startsWith('#/s/')")
    return str(page.evaluate("location.hash.slice(4)"))


def test_approve_runs_the_tool_and_the_reply_goes_on(new_page: Any, approval_server: str) -> None:
    page, other = new_page(), new_page()
    open_chat(page, approval_server)
    card = ask(page)
    expect(page.locator(CARD)).to_have_attribute("data-status", "awaiting_approval")
    open_chat(other, f"{approval_server}#/s/{session_of(page)}")
    expect(other.locator(CARD + " .approve-tool")).to_have_count(1)  # waiting in both tabs
    card.locator(".approve-tool").click()
    expect(page.locator(DECISION)).to_have_text("You approved this tool call.")
    expect(page.locator(STORED_REPLY).last).to_contain_text("84", timeout=20000)
    expect(page.locator('#messages .msg[data-type="AGENT_LOG"]').last).to_contain_text(
        "← calculate: 12 * 7 = 84"
    )
    for tab in (page, other):  # settled everywhere: no buttons left to press
        expect(tab.locator(CARD + " .approval-state")).to_have_text("You approved this tool call.")
        expect(tab.locator(CARD + " .approval-buttons")).to_have_count(0)
        expect(tab.locator('#messages .msg[data-status="awaiting_approval"]')).to_have_count(0)
        expect(tab.locator(CARD + " .approval-expiry")).to_have_count(0)
    page.reload()
    expect(page.locator(CARD + " .approval-state")).to_have_text("You approved this tool call.")
    expect(page.locator(CARD + " button")).to_have_count(0)
    expect(page.locator('#messages .msg[data-status="awaiting_approval"]')).to_have_count(0)


def test_deny_never_runs_the_tool(page: Any, approval_server: str) -> None:
    open_chat(page, approval_server)
    card = ask(page)
    card.locator(".deny-tool").click()
    expect(page.locator(DECISION)).to_have_text("You denied this tool call; it was not run.")
    expect(page.locator('#messages .msg[data-type="AGENT_LOG"]').last).to_have_text(
        "✗ calculate: The user denied this call; it was not run.", timeout=20000
    )
    expect(card.locator(".approval-buttons")).to_have_count(0)
    expect(page.locator("#messages")).not_to_contain_text("= 84")
    # Only a message the user wrote offers Edit, never the decision.
    expect(page.locator(DECISION + " .edit-last")).to_have_count(0)


def test_an_undecided_request_expires_on_the_page(page: Any, approval_server: str) -> None:
    open_chat(page, approval_server)
    card = ask(page)
    expect(card.locator(".approval-state")).to_have_text(
        "This request expired; the tool was not run.", timeout=15000
    )
    expect(card.locator("button")).to_have_count(0)
