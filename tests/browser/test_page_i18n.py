"""Japanese and English (Chromium, scripted peer): the language comes from the browser,
a switch changes it and is remembered, <html lang> follows, and every string the page
shows comes from the one table (frontend/js/strings.js)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.fake_server import FakeServer, open_app
from tests.browser.page_support import STORED_REPLY, expect, send, sent_and_stored

pytestmark = pytest.mark.browser

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"


def test_a_japanese_browser_gets_the_page_in_japanese(new_page: Any) -> None:
    page = new_page(locale="ja-JP")
    fake = FakeServer()
    open_app(page, fake)
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.locator("#title")).to_have_text("新しいチャット")
    expect(page.locator("#composer")).to_have_attribute("placeholder", "azuchi にメッセージを送る…")
    expect(page.locator("#status .status-text")).to_have_text("接続済み")
    expect(page.locator("#empty h2")).to_have_text("ご用件は何でしょう？")
    # Japanese typed and answered; errors in Japanese too.
    sent_and_stored(page, "京都の週末の計画を立てて")
    fake.reply("**一日目**：寺を巡る", model="azuchi-scripted")
    expect(page.locator(STORED_REPLY + " strong")).to_have_text("一日目")
    expect(page.locator(STORED_REPLY + " .copy-reply")).to_have_text("コピー")
    fake.push({"type": "error", "code": "MODEL_THROTTLED", "message": "429 Too Many Requests"})
    expect(page.locator("#notices .notice")).to_contain_text("AI モデルが混み合っています")
    send(page, "あ" * 6000)  # 18 KB in UTF-8: over the server's 16 KB
    expect(page.locator("#notices .notice").last).to_contain_text("サーバーが受け付けるのは 16 KB")


def test_the_switch_changes_the_language_and_is_remembered(new_page: Any) -> None:
    page = new_page(locale="en-US")
    fake = FakeServer()
    open_app(page, fake)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#send")).to_have_attribute("aria-label", "Send")
    page.locator("#language").select_option("ja")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.locator("#send")).to_have_attribute("aria-label", "送信")
    expect(page.locator("#title")).to_have_text("新しいチャット")
    expect(page.locator(".hint")).to_contain_text("Enter で送信")
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.locator("#language")).to_have_value("ja")
    page.locator("#language").select_option("en")
    expect(page.locator("#title")).to_have_text("New chat")


def test_no_english_is_left_on_the_japanese_page(new_page: Any) -> None:
    """Every text node and label of the static page is translated (the brand excepted)."""
    page = new_page(locale="ja-JP")
    open_app(page, FakeServer())
    leftovers = page.evaluate(
        """() => {
          const out = [];
          const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
          for (let n = walker.nextNode(); n; n = walker.nextNode()) {
            const el = n.parentElement;
            if (el.closest('option, [hidden], script') || !n.data.trim()) continue;
            const words = n.data.replace(/azuchi|Enter|Shift|Esc|WebSocket/g, '');
            if (/[A-Za-z]{3,}/.test(words)) out.push(n.data.trim());
          }
          for (const el of document.querySelectorAll('[aria-label], [title], [placeholder]')) {
            for (const a of ['aria-label', 'title', 'placeholder']) {
              const v = (el.getAttribute(a) || '').replace(/azuchi|Enter|Esc/g, '');
              if (/[A-Za-z]{3,}/.test(v)) out.push(`${a}=${v}`);
            }
          }
          return out;
        }"""
    )
    assert leftovers == []


def test_strings_live_in_one_table() -> None:
    """No page module outside strings.js writes an English sentence of its own."""
    sentence = re.compile(r"""['"`][A-Z][a-z]+(?: [a-z]+){2,}[.…!?]?['"`]""")
    found = {}
    for path in (FRONTEND / "js").glob("*.js"):
        if path.name == "strings.js":
            continue
        hits = [m for m in sentence.findall(path.read_text()) if "azuchi" not in m]
        if hits:
            found[path.name] = hits
    assert found == {}
