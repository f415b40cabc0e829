"""The page's markdown renderer (frontend/js/markdown.js) against the CommonMark spec's own
examples, in Chromium: each example rendered to DOM nodes and compared with the spec's HTML
(both normalised the way the spec's test runner does: whitespace between blocks ignored).

Not supported on purpose, so not held to a floor: raw HTML (HTML blocks, Raw HTML: shown as
text) and images (shown as links: the page never loads an image a model names).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from tests.browser.npm import commonmark_examples
from tests.browser.static import open_harness

pytestmark = pytest.mark.browser

# What the renderer reaches per supported section (passed / examples). A fall below any of
# these fails; the shortfalls are raw HTML, images, unsafe schemes and GFM's bare-URL
# autolinks, each inside an otherwise supported section (see the printed failures).
FLOORS: dict[str, tuple[int, int]] = {
    "Tabs": (11, 11),
    "Backslash escapes": (12, 13),
    "Entity and numeric character references": (16, 17),
    "Precedence": (1, 1),
    "Thematic breaks": (19, 19),
    "ATX headings": (18, 18),
    "Setext headings": (27, 27),
    "Indented code blocks": (12, 12),
    "Fenced code blocks": (29, 29),
    "Link reference definitions": (26, 27),
    "Paragraphs": (8, 8),
    "Blank lines": (1, 1),
    "Block quotes": (25, 25),
    "List items": (48, 48),
    "Lists": (24, 26),
    "Inlines": (1, 1),
    "Code spans": (21, 22),
    "Emphasis and strong emphasis": (129, 132),
    "Links": (83, 90),
    "Autolinks": (12, 19),
    "Hard line breaks": (13, 15),
    "Soft line breaks": (2, 2),
    "Textual content": (3, 3),
}
UNSUPPORTED = {"HTML blocks", "Raw HTML", "Images"}

# Both sides as one canonical string: tags and sorted attributes (rel and target, which the
# page adds to every link, left out), text with runs of whitespace as one space outside
# <pre>, and whitespace next to block tags and after <br> dropped (the spec's HTML writes a
# newline after each <br />).
RUN_EXAMPLES = r"""
(examples) => {
  const BLOCK = new Set(['P','LI','UL','OL','BLOCKQUOTE','H1','H2','H3','H4','H5','H6','PRE',
                         'TABLE','THEAD','TBODY','TR','TH','TD','HR','DIV']);
  const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
                      .replace(/"/g, '&quot;');
  const canon = (node, inPre) => {
    let out = '';
    for (const child of node.childNodes) {
      if (child.nodeType === 3) {
        out += esc(inPre ? child.data : child.data.replace(/\s+/g, ' '));
      } else if (child.nodeType === 1) {
        const tag = child.tagName.toLowerCase();
        const attrs = [...child.attributes].filter((a) => a.name !== 'rel' && a.name !== 'target')
          .map((a) => `${a.name}="${esc(a.value)}"`).sort().join(' ');
        let inner = canon(child, inPre || tag === 'pre');
        if (BLOCK.has(child.tagName) && !inPre && tag !== 'pre') inner = inner.trim();
        out += `<${tag}${attrs ? ' ' + attrs : ''}>${inner}</${tag}>`;
      }
    }
    return out;
  };
  const tidy = (s) => s.replace(
    /\s*(<\/?(?:p|li|ul|ol|blockquote|h[1-6]|pre|table|thead|tbody|tr|th|td|hr|div)\b[^>]*>)\s*/g,
    '$1').replace(/<br><\/br>\s+/g, '<br></br>').trim();
  const parser = new DOMParser();
  return examples.map((example) => {
    const box = document.createElement('div');
    let got;
    try {
      box.append(window.markdown.renderMarkdown(example.markdown, { decorate: false }));
      got = tidy(canon(box, false));
    } catch (error) {
      got = 'THREW ' + error;
    }
    const want = tidy(canon(parser.parseFromString(example.html, 'text/html').body, false));
    return { number: example.number, section: example.section, pass: got === want, got, want };
  });
}
"""


def test_commonmark_examples(page: Any, reports_dir: Path, capsys: Any) -> None:
    examples = commonmark_examples()
    results = open_harness(page).evaluate(RUN_EXAMPLES, examples)
    sections: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for result in results:
        sections[result["section"]][1] += 1
        sections[result["section"]][0] += int(result["pass"])
    (reports_dir / "commonmark.json").write_text(json.dumps(results, ensure_ascii=False, indent=1))

    lines = ["CommonMark 0.31.2 examples, per section (passed / examples):"]
    for section, (passed, total) in sections.items():
        note = "  (not supported: shown as text / as a link)" if section in UNSUPPORTED else ""
        lines.append(f"  {section:<42} {passed:>3} / {total:<3} {100 * passed / total:5.1f}%{note}")
    supported = [sections[s] for s in FLOORS]
    passed, total = sum(p for p, _ in supported), sum(t for _, t in supported)
    lines.append(
        f"  {'supported sections':<42} {passed:>3} / {total:<3} {100 * passed / total:5.1f}%"
    )
    with capsys.disabled():
        print("\n" + "\n".join(lines))

    assert len(results) == 652
    below = {
        section: (tuple(sections[section]), floor)
        for section, floor in FLOORS.items()
        if tuple(sections[section]) < floor or sections[section][1] != floor[1]
    }
    failing = [
        (r["number"], r["section"], r["want"], r["got"])
        for r in results
        if not r["pass"] and r["section"] in below
    ]
    assert not below, f"below the floor: {below}\n{failing[:10]}"
