"""What the page must never do (Chromium, scripted peer): run anything from 32 XSS payloads
given as model text, as a chat title and as the user's own text; send on the Enter that
confirms an IME composition."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.fake_server import FakeServer, open_app
from tests.browser.page_support import STORED_REPLY, STORED_USER, expect, sent_and_stored

pytestmark = pytest.mark.browser

XSS_PAYLOADS = [
    "<script>window.__pwned.push('script')</script>",
    "<img src=x onerror=\"window.__pwned.push('img')\">",
    "<svg onload=\"window.__pwned.push('svg')\">",
    "<svg><script>window.__pwned.push('svg-script')</script></svg>",
    "<iframe src=\"javascript:parent.__pwned.push('iframe')\"></iframe>",
    "<iframe srcdoc=\"<script>parent.__pwned.push('srcdoc')</script>\"></iframe>",
    "<body onload=\"window.__pwned.push('body')\">",
    "<input autofocus onfocus=\"window.__pwned.push('focus')\">",
    "<details open ontoggle=\"window.__pwned.push('toggle')\">",
    "<video><source onerror=\"window.__pwned.push('video')\"></video>",
    "<audio src=x onerror=\"window.__pwned.push('audio')\">",
    "<object data=\"javascript:window.__pwned.push('object')\"></object>",
    "<embed src=\"javascript:window.__pwned.push('embed')\">",
    "<a href=\"javascript:window.__pwned.push('a')\">click</a>",
    "<form><button formaction=\"javascript:window.__pwned.push('form')\">x</button></form>",
    "<math><mtext><img src=x onerror=\"window.__pwned.push('math')\"></mtext></math>",
    "<marquee onstart=\"window.__pwned.push('marquee')\">x</marquee>",
    "<style>@import 'javascript:window.__pwned.push(1)';</style>",
    '<meta http-equiv="refresh" content="0;url=javascript:window.__pwned.push(\'meta\')">',
    "<base href=\"javascript:window.__pwned.push('base')//\">",
    "<link rel=stylesheet href=\"javascript:window.__pwned.push('link')\">",
    '"><img src=x onerror="window.__pwned.push(\'attr\')">',
    "'><script>window.__pwned.push('quote')</script>",
    "</textarea><script>window.__pwned.push('textarea')</script>",
    "</title><script>window.__pwned.push('title')</script>",
    "<img src=x onerror=&#119;indow.__pwned.push('entity')>",
    "<IMG SRC=x OnErRoR=\"window.__pwned.push('case')\">",
    "<scr<script>ipt>window.__pwned.push('nested')</script>",
    "[click](javascript:window.__pwned.push('md-link'))",
    "![x](x\" onerror=\"window.__pwned.push('md-img'))",
    "<javascript:window.__pwned.push('autolink')>",
    "```html\n<script>window.__pwned.push('fence')</script>\n```",
]

TRAP = """
() => {
  window.__pwned = [];
  for (const name of ['alert', 'confirm', 'prompt']) {
    window[name] = () => window.__pwned.push(name);
  }
}
"""

MADE_BY_PAYLOADS = (
    "#messages script, #messages iframe, #messages object, #messages embed, #messages svg, "
    "#messages img, #messages input, #messages form, #messages video, #messages audio, "
    "#messages style, #messages meta, #messages base, #messages link, #messages marquee, "
    "#messages math, #chat-list script, #chat-list img, #title *, #messages a[href^='javascript']"
)


def test_32_payloads_as_model_text_title_and_user_text_run_nothing(page: Any) -> None:
    assert len(XSS_PAYLOADS) == 32
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    fake = FakeServer()
    page.add_init_script(f"({TRAP})()")
    open_app(page, fake)
    for n, payload in enumerate(XSS_PAYLOADS, start=1):
        sent_and_stored(page, payload, count=n)
        fake.reply(payload)
        expect(page.locator(STORED_REPLY)).to_have_count(n)
        fake.push({"type": "session", "title": payload})
        expect(page.locator("#title")).to_have_text(payload.strip())
    page.wait_for_timeout(300)  # an onerror or onload would have fired by now
    assert page.evaluate("window.__pwned") == []
    assert dialogs == []
    assert page.locator(MADE_BY_PAYLOADS).count() == 0
    # The user's text is shown as typed; the last title in the list is text too.
    expect(page.locator(STORED_USER).first).to_have_text(XSS_PAYLOADS[0])
    expect(page.locator("#chat-list .chat-link")).to_have_text([XSS_PAYLOADS[-1]])
    # Reload: the same payloads come back through history and still run nothing.
    page.reload()
    expect(page.locator(STORED_REPLY)).to_have_count(32)
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned") == []
    assert page.locator(MADE_BY_PAYLOADS).count() == 0


IME_ENTER = """
({ composing, keyCode }) => {
  const box = document.getElementById('composer');
  const init = { key: 'Enter', bubbles: true, cancelable: true, isComposing: composing };
  const event = new KeyboardEvent('keydown', init);
  if (keyCode) Object.defineProperty(event, 'keyCode', { get: () => keyCode });
  box.dispatchEvent(event);
}
"""


def test_enter_that_confirms_an_ime_composition_does_not_send(page: Any) -> None:
    fake = FakeServer()
    open_app(page, fake)
    composer = page.locator("#composer")
    composer.fill("きょうと")
    page.evaluate(IME_ENTER, {"composing": True, "keyCode": 0})
    page.evaluate(IME_ENTER, {"composing": False, "keyCode": 229})  # Safari's composition Enter
    expect(composer).to_have_value("きょうと")
    assert fake.sent("putMessage") == []
    # Real composition events through Chromium's IME, then a plain Enter sends.
    client = page.context.new_cdp_session(page)
    composer.fill("")
    composer.focus()
    client.send("Input.imeSetComposition", {"text": "京都", "selectionStart": 2, "selectionEnd": 2})
    client.send("Input.insertText", {"text": "京都"})
    expect(composer).to_have_value("京都")
    assert fake.sent("putMessage") == []
    composer.press("Enter")
    expect(page.locator(STORED_USER)).to_have_text(["京都"])
