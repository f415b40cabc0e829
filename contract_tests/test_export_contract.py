"""``azuchi sessions export`` over every registered storage adapter: a user's chats are
theirs to take, whatever holds them."""

from __future__ import annotations

import json
from contextlib import AsyncExitStack
from pathlib import Path

import anyio
import pytest

from adapters.bootstrap import build_app
from adapters.settings import Settings
from contract_tests.backends import AdapterUnderTest
from contract_tests.providers import new_id
from core.domain import MessageDraft, Role, Session
from core.errors import SessionNotFound
from core.ports import ChatStore
from core.protocol import message_frame
from core.services.export import PAGE, export_session, to_json, to_markdown
from handlers.cli import main

# (adapter name, test name) -> why that adapter is allowed to fail that test.
KNOWN_DIVERGENCES: dict[tuple[str, str], str] = {
    (
        "inprocess",
        "test_the_command_exports_what_the_settings_point_at",
    ): "in-process storage lives and dies with its process: a new one has nothing to export",
}


async def _conversation(store: ChatStore, turns: int) -> Session:
    session = Session(new_id(), created_at=1_764_000_000_000)
    await store.create_session(session)
    await store.set_session_title(session.session_id, "Trip to Kyoto 京都")
    for i in range(turns):
        await store.append_message(
            MessageDraft(session.session_id, Role.USER, "CONVERSATION", f"question {i}")
        )
        await store.append_message(
            MessageDraft(session.session_id, Role.AGENT, "CONVERSATION", f"answer {i}", model="m")
        )
    await store.append_message(
        MessageDraft(session.session_id, Role.AGENT, "AGENT_LOG", "calculate(12 * 7) → 84 ```")
    )
    return session


@pytest.mark.anyio
async def test_a_session_exports_whole_in_order_past_one_page(
    storage_adapter: AdapterUnderTest, exit_stack: AsyncExitStack
) -> None:
    store = await exit_stack.enter_async_context(storage_adapter.open())
    session = await _conversation(store, turns=PAGE // 2 + 5)  # 211 messages: two pages
    other = await _conversation(store, turns=1)

    export = await export_session(store, session.session_id)
    texts = [m.message for m in export.messages]
    assert len(texts) == PAGE + 11 and texts[:2] == ["question 0", "answer 0"]
    assert texts[-1].startswith("calculate(12 * 7)")
    assert [m.created_at for m in export.messages] == sorted(
        {m.created_at for m in export.messages}
    )
    assert all(m.session_id == session.session_id for m in export.messages)
    assert export.session.title == "Trip to Kyoto 京都"

    document = json.loads(to_json(export))
    assert document["sessionId"] == session.session_id and document["version"] == 1
    assert document["messages"] == [message_frame(m) for m in export.messages]
    markdown = to_markdown(export)
    assert markdown.startswith("# Trip to Kyoto 京都\n")
    assert "## You · " in markdown and "question 0" in markdown
    assert "## Assistant (tool step) · " in markdown and "\n````\ncalculate" in markdown
    assert other.session_id not in markdown

    with pytest.raises(SessionNotFound):
        await export_session(store, new_id())


def test_the_command_exports_what_the_settings_point_at(
    storage_adapter: AdapterUnderTest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``azuchi sessions export`` builds its app from settings as ``azuchi serve`` does: what
    one app stored, a later one finds through the same settings."""
    env = {
        **storage_adapter.provider.environment(),
        "AZUCHI_STORAGE": storage_adapter.name,
        "AZUCHI_LOCK": "inprocess",
        "AZUCHI_AGENT_MEMORY": "inprocess",
    }

    async def write() -> Session:
        async with build_app(Settings.from_env(env)) as app:
            return await _conversation(app.store, turns=2)

    session = anyio.run(write)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    out = tmp_path / "exports" / "kyoto.md"
    with pytest.raises(SystemExit) as exited:
        main(["sessions", "export", session.session_id, "--format", "markdown", "-o", str(out)])
    assert exited.value.code == 0, capsys.readouterr().err
    markdown = out.read_text(encoding="utf-8")
    assert markdown.startswith("# Trip to Kyoto 京都\n")
    assert markdown.count("## You · ") == 2 and "answer 1" in markdown

    with pytest.raises(SystemExit) as exited:
        main(["sessions", "export", session.session_id])
    assert exited.value.code == 0
    assert len(json.loads(capsys.readouterr().out)["messages"]) == 5
