"""A page that serves frontend/ from a made-up origin through Playwright's request routing,
so that modules of the page can be tested alone in Chromium without starting a server."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
# localhost is a secure context (the Clipboard API works); routing answers before any network.
ORIGIN = "http://localhost:48080"
HARNESS = b"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>harness</title>
<link rel="stylesheet" href="/css/base.css"><link rel="stylesheet" href="/css/messages.css">
<link rel="stylesheet" href="/css/markdown.css">
</head><body><main><div id="out" class="msg"><div class="text markdown"></div></div></main>
<script type="module">
import * as markdown from '/js/markdown.js';
window.markdown = markdown;
window.harnessReady = true;
</script></body></html>"""


def serve_static(route: Any) -> None:
    path = route.request.url.removeprefix(ORIGIN).split("?", 1)[0]
    if path in ("", "/", "/harness.html"):
        route.fulfill(status=200, body=HARNESS, content_type="text/html; charset=utf-8")
        return
    file = (FRONTEND / path.lstrip("/")).resolve()
    if FRONTEND not in file.parents or not file.is_file():
        route.fulfill(status=404, body=b"not found")
        return
    kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    if file.suffix == ".js":
        kind = "text/javascript"
    route.fulfill(status=200, body=file.read_bytes(), content_type=kind)


def open_harness(page: Any) -> Any:
    """``page`` at the harness, with ``window.markdown`` (js/markdown.js) loaded."""
    page.route(f"{ORIGIN}/**", serve_static)
    page.goto(f"{ORIGIN}/harness.html")
    page.wait_for_function("() => window.harnessReady === true")
    return page
