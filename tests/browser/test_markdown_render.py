"""The markdown renderer in Chromium beyond the spec: what it must never make (XSS through
markdown), the page's own decorations (code blocks, tables, task lists, links), and
incremental rendering while a reply streams."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.static import open_harness

pytestmark = pytest.mark.browser

MARKDOWN_XSS = [
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](&#x6A;avascript&#58;alert(1))",
    "[x](javascript&colon;alert(1))",
    "[x](<javascript:alert(1)>)",
    "[x]( javascript:alert(1) )",
    "[x](\\javascript:alert(1))",
    "[x]\n\n[x]: javascript:alert(1)",
    "<javascript:alert(1)>",
    "<JAVASCRIPT:alert(1)>",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<data:text/html,<script>alert(1)</script>>",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "![x](javascript:alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](file:///etc/passwd)",
    '[x](https://ok.example "t\\" onmouseover=\\"alert(1)")',
    '[x](https://ok.example"onmouseover="alert(1))',
    'www.example.com/"onmouseover="alert(1)',
    "https://ok.example/<img src=x onerror=alert(1)>",
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    '<a href="javascript:alert(1)">x</a>',
    "<iframe src=javascript:alert(1)></iframe>",
    "```html\n<script>alert(1)</script>\n```",
    "`<img src=x onerror=alert(1)>`",
    "&lt;img src=x onerror=alert(1)&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "[<img src=x onerror=alert(1)>](https://ok.example)",
    "| a |\n|---|\n| <img src=x onerror=alert(1)> |",
    "- [ ] <svg onload=alert(1)>",
    "> <style>*{display:none}</style>",
    "```\u0000<script>alert(1)</script>\n```",
    "[x](java\u0000script:alert(1))",
    "*<img src=x onerror=alert(1)>*",
]

CHECK_RENDERED = """
(payloads) => {
  const TAGS = new Set(['P','H1','H2','H3','H4','H5','H6','EM','STRONG','DEL','CODE','PRE',
    'BLOCKQUOTE','UL','OL','LI','A','BR','HR','TABLE','THEAD','TBODY','TR','TH','TD','DIV',
    'SPAN','BUTTON','INPUT']);
  const ATTRS = new Set(['href','target','rel','title','class','start','type','disabled',
    'checked','aria-label','tabindex','role']);
  const out = document.querySelector('#out .text');
  const problems = [];
  for (const payload of payloads) {
    out.replaceChildren(window.markdown.renderMarkdown(payload));
    for (const node of out.querySelectorAll('*')) {
      if (!TAGS.has(node.tagName)) problems.push([payload, 'tag ' + node.tagName]);
      for (const attr of node.attributes) {
        if (!ATTRS.has(attr.name)) problems.push([payload, 'attribute ' + attr.name]);
      }
      if (node.tagName === 'A') {
        const protocol = new URL(node.getAttribute('href'), document.baseURI).protocol;
        const safe = ['http:', 'https:', 'mailto:'].includes(protocol);
        if (!safe) problems.push([payload, 'href ' + node.href]);
        const fenced = node.rel === 'noopener noreferrer' && node.target === '_blank';
        if (!fenced) problems.push([payload, 'rel/target']);
      }
    }
  }
  return problems;
}
"""


def test_markdown_cannot_make_script_or_unsafe_links(page: Any) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    open_harness(page)
    problems = page.evaluate(CHECK_RENDERED, MARKDOWN_XSS)
    # Hover and click every link the payloads made: none may run anything.
    for link in page.locator("#out a").all():
        link.hover()
    page.wait_for_timeout(100)
    assert problems == []
    assert dialogs == []


def test_raw_html_is_shown_as_text(page: Any) -> None:
    open_harness(page)
    text = page.evaluate(
        """() => {
          const out = document.querySelector('#out .text');
          const md = '<b>bold?</b> and <script>x</script>';
          out.replaceChildren(window.markdown.renderMarkdown(md));
          return [out.textContent, out.querySelectorAll('b, script').length];
        }"""
    )
    assert text == ["<b>bold?</b> and <script>x</script>", 0]


RENDER = """
(md) => {
  const out = document.querySelector('#out .text');
  out.replaceChildren(window.markdown.renderMarkdown(md));
  return out;
}
"""


def test_code_blocks_show_their_language_and_a_copy_button(page: Any) -> None:
    open_harness(page)
    page.evaluate(RENDER, "```python\nprint('hi')\n```\n\n    indented\n")
    blocks = page.locator("#out .code-block")
    assert blocks.count() == 2
    first = blocks.nth(0)
    assert first.locator(".code-lang").text_content() == "python"
    assert first.locator("code.language-python").text_content() == "print('hi')\n"
    assert first.locator("button.copy-code").get_attribute("aria-label") == "Copy code"
    font = first.locator("code").evaluate("el => getComputedStyle(el).fontFamily")
    body_font = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert font != body_font and "mono" in font.lower()
    assert blocks.nth(1).locator("code").text_content() == "indented\n"


def test_tables_task_lists_and_links(page: Any) -> None:
    open_harness(page)
    page.evaluate(
        RENDER,
        "| Item | Price |\n|:-----|------:|\n| tea | ¥300 |\n| `cake` | ¥450 |\n\n"
        "- [x] book the train\n- [ ] pack\n\n"
        "See https://example.com/a_b, <https://example.org> and [docs](https://docs.example/).\n",
    )
    assert page.locator("#out table th").all_text_contents() == ["Item", "Price"]
    assert page.locator("#out table tbody td").all_text_contents() == [
        "tea",
        "¥300",
        "cake",
        "¥450",
    ]
    assert page.locator("#out table td.align-right").count() == 2
    boxes = page.locator("#out li.task input[type=checkbox]")
    assert [b.is_checked() for b in boxes.all()] == [True, False]
    hrefs = page.locator("#out a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert hrefs == ["https://example.com/a_b", "https://example.org", "https://docs.example/"]


STREAM = """
({ text, step }) => {
  const box = document.createElement('div');
  const fresh = document.createElement('div');
  document.body.append(box);
  const stream = new window.markdown.MarkdownStream(box);
  const mismatches = [];
  let firstBlock = null;
  let firstKept = true;
  let total = 0;
  for (let end = step; end < text.length + step; end += step) {
    const prefix = text.slice(0, end);
    stream.update(prefix);
    total += prefix.length;
    fresh.replaceChildren(window.markdown.renderMarkdown(prefix));
    const html = (el) => [...el.childNodes].map((n) => n.outerHTML ?? n.textContent).join('');
    const [a, b] = [html(box), html(fresh)];
    if (a !== b) mismatches.push({ end, a, b });
    if (firstBlock === null && box.children.length > 1) firstBlock = box.firstElementChild;
    if (firstBlock !== null && box.firstElementChild !== firstBlock) firstKept = false;
  }
  const parsedChars = stream.stats.parsedChars;
  return { mismatches: mismatches.slice(0, 3), firstKept, parsedChars, total };
}
"""

REPLY = (
    "# Weekend in Kyoto\n\nA short plan, **two days**:\n\n"
    "1. Fushimi Inari early\n2. Lunch in *Gion*\n   - try `yudofu`\n3. Evening walk\n\n"
    "> Tip: buy a bus pass.\n\n"
    "| Day | Area |\n|---|---|\n| Sat | East |\n| Sun | Arashiyama |\n\n"
    "```js\nconst days = 2;\nconsole.log(days);\n```\n\nHave fun! 楽しんでください。\n"
)


def test_streaming_renders_what_a_full_render_would_and_keeps_finished_blocks(page: Any) -> None:
    open_harness(page)
    result = page.evaluate(STREAM, {"text": REPLY, "step": 5})
    assert result["mismatches"] == []
    assert result["firstKept"], "the heading was rebuilt although later blocks had started"
    # Only the last block is parsed again: far less than re-parsing every prefix whole.
    assert result["parsedChars"] < result["total"] * 0.35, result


def test_an_unterminated_fence_renders_as_code_while_streaming(page: Any) -> None:
    open_harness(page)
    got = page.evaluate(
        """() => {
          const box = document.querySelector('#out .text');
          const stream = new window.markdown.MarkdownStream(box);
          stream.update("Here:\\n\\n```python\\nprint('hi')\\nfor x in");
          return [box.querySelector('code.language-python')?.textContent,
                  box.querySelector('.code-lang')?.textContent];
        }"""
    )
    assert got == ["print('hi')\nfor x in\n", "python"]
