"""The screenshots in the README: the page on a desktop and a phone, light and dark, with
a conversation that shows what it renders (markdown, code, a table, a plan, a tool step,
reasoning) and a chat list. Written to reports/; with AZUCHI_WRITE_SCREENSHOTS=1 to
docs/screenshots/ (what the README shows)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.browser.fake_server import ROUTES, FakeServer, open_app
from tests.browser.page_support import STORED_REPLY, expect, sent_and_stored

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
REPLY = """Here is a plan for **Saturday**:

| time | what |
|---|---|
| 10:00 | Kinkaku-ji |
| 13:00 | Lunch in Nishiki market |

```python
print("weather: sunny")
```

- [x] Book the train
- [ ] Pack a picnic
"""


def dress(page: Any, fake: FakeServer) -> None:
    sent_and_stored(page, "Plan a Saturday in Kyoto")
    asked = fake.stored[-1]["createdAt"]
    fake.push(fake.store("AGENT", "The user wants a one-day plan.", "REASONING"))
    fake.push(fake.store("AGENT", "Plan:\n1. Check the weather\n2. Pick sights", "PLAN"))
    fake.push(fake.store("AGENT", "→ current_time({})", "AGENT_LOG"))
    fake.reply(
        REPLY,
        replyTo=asked,
        model="claude-sonnet-4",
        usage={"inputTokens": 1234, "outputTokens": 310},
        costUsd=0.0084,
    )
    expect(page.locator(STORED_REPLY)).to_have_count(1)
    fake.push({"type": "session", "title": "Saturday in Kyoto"})


@pytest.mark.parametrize(("name", "viewport"), [("desktop", (1280, 800)), ("phone", (390, 844))])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshot(
    new_page: Any, reports_dir: Path, name: str, viewport: tuple[int, int], scheme: str
) -> None:
    page = new_page(viewport=viewport, color_scheme=scheme)
    fake = FakeServer(routes=[*ROUTES, "regenerate", "editMessage"])
    others = [("Tax questions", 3), ("Picnic plans", 2), ("WebSockets in two sentences", 1)]
    entries = [{"sessionId": fake.new_session(t), "title": t, "updatedAt": n} for t, n in others]
    page.add_init_script(f"localStorage.setItem('azuchi.sessions', JSON.stringify({entries}))")
    open_app(page, fake)
    dress(page, fake)
    page.locator("#composer").click()
    # Nothing sticks out sideways; the composer stays on screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport[0]
    expect(page.locator("#composer")).to_be_in_viewport()
    target = DOCS if os.environ.get("AZUCHI_WRITE_SCREENSHOTS") == "1" else reports_dir
    target.mkdir(parents=True, exist_ok=True)
    path = target / f"{name}-{scheme}.png"
    page.screenshot(path=str(path))
    assert path.stat().st_size > 0
    if name == "phone":  # and the chat list opened as a drawer
        page.locator("#menu").click()
        expect(page.locator("#chat-list .chat-link").first).to_be_in_viewport()
        page.wait_for_timeout(250)  # the drawer's slide-in
        drawer = target / f"phone-list-{scheme}.png"
        page.screenshot(path=str(drawer))
