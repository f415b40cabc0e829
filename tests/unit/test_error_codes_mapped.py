"""Every error code the server can send has a sentence for people, in English and Japanese,
in the page's one string table (frontend/js/strings.js): a new code without one fails here."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STRINGS = ROOT / "frontend" / "js" / "strings.js"
CODE = re.compile(r"""\bcode\s*=\s*["']([A-Z][A-Z0-9_]+)["']""")


def server_codes() -> set[str]:
    codes: set[str] = set()
    for package in ("core", "handlers", "adapters"):
        for path in (ROOT / package).rglob("*.py"):
            codes |= set(CODE.findall(path.read_text()))
    return codes


def table(language: str) -> set[str]:
    text = STRINGS.read_text()
    block = re.search(rf"^const {language} = \{{(.*?)^\}};", text, re.S | re.M)
    assert block, f"no {language} table in strings.js"
    return set(re.findall(r"'error\.([A-Z][A-Z0-9_]+)'", block.group(1)))


def test_the_codes_are_found() -> None:
    assert {"MESSAGE_TOO_LARGE", "MODEL_STREAM_ERROR", "INVALID_TITLE"} <= server_codes()


def test_every_server_error_code_has_a_sentence_in_english_and_japanese() -> None:
    codes = server_codes()
    for language in ("en", "ja"):
        missing = codes - table(language)
        assert not missing, f"strings.js ({language}) has no sentence for {sorted(missing)}"


def test_both_languages_have_the_same_keys() -> None:
    text = STRINGS.read_text()
    keys = {}
    for language in ("en", "ja"):
        block = re.search(rf"^const {language} = \{{(.*?)^\}};", text, re.S | re.M)
        assert block
        keys[language] = set(re.findall(r"^\s*'([^']+)':", block.group(1), re.M))
    assert keys["en"] == keys["ja"], keys["en"] ^ keys["ja"]


def test_no_key_is_written_twice_in_a_table() -> None:
    """A repeated key is silently overridden by its last value in a JS object literal, so
    the sentence people read is not the one a reader of the file would take for it."""
    text = STRINGS.read_text()
    for language in ("en", "ja"):
        block = re.search(rf"^const {language} = \{{(.*?)^\}};", text, re.S | re.M)
        assert block
        keys = re.findall(r"^  '([^']+)':", block.group(1), re.M)
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        assert not repeated, f"strings.js ({language}) repeats {repeated}"
