"""The done-when of the durable default, in a real Chromium: chat, stop the server, start it
again, and the page shows the whole conversation, loaded from the server (the page keeps
only the session id, in localStorage)."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest

from tests.browser.test_chat_browser import (
    AGENT_REPLY,
    USER,
    expect,
    open_chat,
    send,
    wait_for_reply,
)
from tests.sqlite.serve import running, serve_command, serve_env
from testsupport.ports import free_port

pytestmark = pytest.mark.browser
ROWS = "els => els.map(e => [e.dataset.createdAt, e.dataset.role, e.textContent])"


def test_the_page_resumes_the_session_after_the_server_restarts(page: Any, tmp_path: Path) -> None:
    port = free_port()  # the page's origin: the restarted server must answer on it
    env = serve_env(tmp_path / "azuchi.db", AZUCHI_SCRIPTED_TOKENS_PER_SECOND="200")
    url = f"http://127.0.0.1:{port}/"
    with running(serve_command(port), env) as first:
        open_chat(page, url)
        send(page, "hello")
        wait_for_reply(page)
        send(page, "what is 12 * 7")
        wait_for_reply(page, count=2)
        before = page.locator("#messages .msg").evaluate_all(ROWS)
        session_id = page.evaluate("localStorage.getItem('azuchi.sessionId')")
        first.stop(signal.SIGKILL)
    assert session_id

    with running(serve_command(port), env):
        # The open page reconnects by itself and resumes; a reload starts from nothing but
        # the session id, so what it shows came from the server.
        expect(page.locator("#status")).to_have_attribute("data-state", "open", timeout=20000)
        page.reload()
        # Generous: on a loaded machine the restarted server's first reads are slow.
        expect(page.locator("#status")).to_have_attribute("data-state", "open", timeout=20000)
        expect(page.locator(USER)).to_have_count(2, timeout=20000)
        wait_for_reply(page, count=2)
        after = page.locator("#messages .msg").evaluate_all(ROWS)
        assert after == before
        expect(page.locator('.notice[data-key="resume"]')).to_have_count(0)
        assert page.evaluate("localStorage.getItem('azuchi.sessionId')") == session_id
        send(page, "and again")
        wait_for_reply(page, count=3)
        expect(page.locator(AGENT_REPLY)).to_have_count(3)
