"""Settings from AZUCHI_* variables, and adapters found through the plugin registry."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from adapters.bootstrap import build_app, plugin_manager
from adapters.inprocess import InProcessChatStore
from adapters.registry import UnknownAdapter, adapters_for, find_adapter
from adapters.settings import Settings, SettingsError
from adapters.sqlite.agent_memory import SqliteAgentMemory
from adapters.sqlite.lock import SqliteSessionLock
from adapters.sqlite.plugin import sqlite_path
from adapters.sqlite.store import SqliteChatStore
from testsupport.profiles import IN_PROCESS


@pytest.fixture
def no_settings(tmp_path: Path) -> dict[str, str]:
    """A user who set nothing azuchi reads, with a data home of this test's own."""
    return {"XDG_DATA_HOME": str(tmp_path / "data")}


@pytest.mark.anyio
async def test_no_settings_keep_chats_in_one_sqlite_file_under_the_data_home(
    no_settings: dict[str, str],
) -> None:
    async with build_app(Settings.from_env(no_settings)) as app:
        assert isinstance(app.store, SqliteChatStore)
        assert isinstance(app.lock, SqliteSessionLock)
        assert isinstance(app.agent_memory, SqliteAgentMemory)
        assert app.model.model_id == "azuchi-scripted"
        assert set(app.tools) == {"current_time", "calculate", "search_messages"}
    assert (Path(no_settings["XDG_DATA_HOME"]) / "azuchi" / "azuchi.db").is_file()


def test_the_database_file_is_the_setting_else_under_xdg_data_home_else_home() -> None:
    assert sqlite_path({"AZUCHI_SQLITE_PATH": "~/chats.db"}) == Path.home() / "chats.db"
    assert sqlite_path({"XDG_DATA_HOME": "/data"}) == Path("/data/azuchi/azuchi.db")
    assert sqlite_path({}) == Path.home() / ".local" / "share" / "azuchi" / "azuchi.db"


def test_the_in_process_adapters_stay_for_tests_and_experiments() -> None:
    app = build_app(Settings.from_env(IN_PROCESS))
    assert isinstance(app.store, InProcessChatStore)


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"AZUCHI_COALESCE_MS": "fast"}, "AZUCHI_COALESCE_MS='fast' is not an integer"),
        ({"AZUCHI_MAX_MESSAGE_BYTES": "0"}, "AZUCHI_MAX_MESSAGE_BYTES=0 must be at least 1"),
        ({"AZUCHI_TITLES": "maybe"}, "AZUCHI_TITLES='maybe' is not a boolean"),
        ({"AZUCHI_HEARTBEAT_MS": "20000"}, "AZUCHI_HEARTBEAT_MS must be at most half"),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], words: str) -> None:
    with pytest.raises(SettingsError, match=words.replace("(", r"\(")):
        Settings.from_env(env)


def test_an_unknown_adapter_is_a_startup_error_listing_the_known_ones() -> None:
    with pytest.raises(UnknownAdapter) as caught:
        build_app(Settings.from_env({"AZUCHI_STORAGE": "cassandra"}))
    assert "AZUCHI_STORAGE='cassandra'" in str(caught.value)
    assert "inprocess" in str(caught.value)


def test_every_port_has_a_built_in_adapter() -> None:
    manager = plugin_manager()
    for port, name in [
        ("storage", "inprocess"),
        ("lock", "inprocess"),
        ("agent_memory", "inprocess"),
        ("model", "scripted"),
        ("transport", "inprocess"),
        ("launcher", "background"),
        ("launcher", "inline"),
        ("launcher", "lambda"),
    ]:
        assert find_adapter(manager, port, name).name == name


def test_the_old_names_still_work_for_one_release_with_a_warning() -> None:
    with pytest.warns(DeprecationWarning, match="AZUCHI_MEMORY is now AZUCHI_AGENT_MEMORY"):
        settings = Settings.from_env(
            {"AZUCHI_MEMORY": "memory", "AZUCHI_STORAGE": "memory", "AZUCHI_LOCK": "memory"}
        )
    assert (settings.storage, settings.agent_memory) == ("inprocess", "inprocess")
    app = build_app(settings)
    assert isinstance(app.store, InProcessChatStore)


def test_the_root_chooses_the_launcher_for_its_runtime() -> None:
    assert type(build_app(Settings.from_env(IN_PROCESS)).launcher).__name__ == (
        "BackgroundReplyLauncher"
    )
    lambda_app = build_app(Settings.from_env(IN_PROCESS), runtime="lambda")
    assert type(lambda_app.launcher).__name__ == "InlineReplyLauncher"
    with pytest.raises(SettingsError, match="cannot run replies under lambda"):
        build_app(
            Settings.from_env({**IN_PROCESS, "AZUCHI_REPLY_LAUNCHER": "background"}),
            runtime="lambda",
        )
    with pytest.raises(SettingsError, match="AZUCHI_REPLY_FUNCTION"):
        build_app(
            Settings.from_env({**IN_PROCESS, "AZUCHI_REPLY_LAUNCHER": "lambda"}), runtime="lambda"
        )
    with pytest.raises(UnknownAdapter, match="AZUCHI_REPLY_LAUNCHER='queue'"):
        build_app(
            Settings.from_env({**IN_PROCESS, "AZUCHI_REPLY_LAUNCHER": "queue"}), runtime="lambda"
        )


@pytest.mark.anyio
async def test_the_app_starts_its_launcher_and_closes_what_factories_registered(
    no_settings: dict[str, str],
) -> None:
    app = build_app(Settings.from_env(no_settings))
    closed: list[str] = []

    async def close() -> None:
        closed.append("client")

    app.resources.on_close(close)
    async with app:
        await app.launcher.launch("no-such-session")  # runs in the app's task group
    assert closed == ["client"]


def test_a_third_party_adapter_joins_through_the_entry_point_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "azuchi_fake_store.py").write_text(
        textwrap.dedent(
            """
            from adapters.inprocess import InProcessChatStore
            from adapters.registry import AdapterSpec, hookimpl

            class FakeStore(InProcessChatStore):
                pass

            @hookimpl
            def azuchi_adapters():
                return [AdapterSpec("storage", "fake", lambda ctx: FakeStore(ctx.clock))]
            """
        )
    )
    dist = tmp_path / "azuchi_fake_store-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: azuchi-fake-store\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[azuchi.plugins]\nfake = azuchi_fake_store\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert "fake" in adapters_for(plugin_manager(), "storage")
        app = build_app(Settings.from_env({**IN_PROCESS, "AZUCHI_STORAGE": "fake"}))
        assert type(app.store).__name__ == "FakeStore"
        # On Lambda a packaged folder holds azuchi's plugins alone: the scan of every
        # installed distribution is made only when the setting asks for it.
        with pytest.raises(UnknownAdapter, match="AZUCHI_STORAGE='fake'"):
            build_app(Settings.from_env({**IN_PROCESS, "AZUCHI_STORAGE": "fake"}), runtime="lambda")
        asked = {**IN_PROCESS, "AZUCHI_STORAGE": "fake", "AZUCHI_PLUGIN_ENTRY_POINTS": "true"}
        app = build_app(Settings.from_env(asked), runtime="lambda")
        assert type(app.store).__name__ == "FakeStore"
        with pytest.raises(SettingsError, match="AZUCHI_PLUGIN_ENTRY_POINTS='maybe'"):
            build_app(Settings.from_env({**IN_PROCESS, "AZUCHI_PLUGIN_ENTRY_POINTS": "maybe"}))
    finally:
        sys.modules.pop("azuchi_fake_store", None)
