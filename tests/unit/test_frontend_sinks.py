"""The page never turns text into markup: no HTML-parsing sink appears in frontend/js."""

from __future__ import annotations

import re
from pathlib import Path

FRONTEND_JS = Path(__file__).resolve().parents[2] / "frontend" / "js"

# Each of these parses a string as HTML or code; model, user and title text must only ever
# reach the page as text nodes, textContent or fixed attributes.
SINKS = re.compile(
    r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|DOMParser|createContextualFragment"
    r"|srcdoc|\beval\s*\(|new\s+Function\b|setAttribute\(\s*['\"]on"
)


def test_no_html_sinks_in_the_page_scripts() -> None:
    scripts = sorted(FRONTEND_JS.rglob("*.js"))
    assert len(scripts) >= 10, "the page's scripts were not found"
    found = [
        f"{path.relative_to(FRONTEND_JS)}:{n}: {line.strip()}"
        for path in scripts
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if SINKS.search(line)
    ]
    assert found == []


def test_the_sink_pattern_catches_each_sink() -> None:
    for line in (
        "el.innerHTML = text;",
        "el.outerHTML = x",
        "el.insertAdjacentHTML('beforeend', x)",
        "document.write(x)",
        "new DOMParser().parseFromString(x, 'text/html')",
        "range.createContextualFragment(x)",
        "frame.srcdoc = x",
        "eval(x)",
        "new Function(x)",
        "a.setAttribute('onclick', x)",
    ):
        assert SINKS.search(line), line
