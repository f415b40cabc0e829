"""The price table and what a reply costs: stored with the message, sent in the done frame."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.bootstrap import build_app
from adapters.pricing.table import PriceTableError, load_price_table
from adapters.settings import SettingsError
from core.domain import Role, Usage
from tests.support import Client, fast_settings, running_app, settle

pytestmark = pytest.mark.anyio


def test_the_packaged_parsed_table_is_read_only_while_it_matches_the_yaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A packaged function reads the table parsed at build time (no YAML parser at init);
    a parsed copy of another YAML than the one beside it is never used."""
    from adapters.pricing import table

    compiled = table.compile_built_in(tmp_path / "prices.json")
    monkeypatch.setattr(table, "COMPILED", compiled)
    assert load_price_table() == table._parse(table._read(table.BUILT_IN), "x")
    stale = compiled.read_text().replace('"input": 3.0,', '"input": 99.0,', 1)
    compiled.write_text(stale)
    assert load_price_table().model("anthropic.claude-sonnet-4-6").input == 99.0  # type: ignore[union-attr]
    compiled.write_text(stale.replace('"sha256": "', '"sha256": "0', 1))
    assert load_price_table().model("anthropic.claude-sonnet-4-6").input == 3.0  # type: ignore[union-attr]


def test_the_built_in_table_is_dated_and_prices_inference_profiles_and_snapshots() -> None:
    table = load_price_table()
    sonnet = table.model("anthropic.claude-sonnet-4-6")
    assert table.as_of >= "2026-01-01"
    assert sonnet is not None and sonnet.input == 3.0 and sonnet.output == 15.0
    # Bedrock inference profiles prefix the model id; OpenAI snapshots suffix a date.
    assert table.model("global.anthropic.claude-sonnet-4-6") == sonnet
    assert table.model("us.anthropic.claude-sonnet-4-6") == sonnet
    assert table.model("gpt-5-mini-2025-08-07") == table.model("gpt-5-mini")
    assert table.model("gpt-5-mini") != table.model("gpt-5")
    assert table.model("my-local-llama") is None
    assert table.reply_cost("my-local-llama", Usage(10, 10)) is None


def test_a_reply_costs_its_tokens_at_the_tables_rates_cache_reads_included() -> None:
    table = load_price_table()
    usage = Usage(input_tokens=2_000, output_tokens=500, cache_read_tokens=10_000)
    price = table.model("global.anthropic.claude-sonnet-4-6")
    assert price is not None
    expected = (2_000 * price.input + 500 * price.output + 10_000 * price.cache_read) / 1e6
    assert table.reply_cost("global.anthropic.claude-sonnet-4-6", usage) == pytest.approx(expected)
    assert price.cache_read == pytest.approx(price.input / 10)  # cache reads are 0.1x


def test_an_override_file_wins_and_falls_back_for_models_it_omits(tmp_path: Path) -> None:
    override = tmp_path / "prices.yaml"
    override.write_text(
        'as_of: "2027-01-01"\nmodels:\n  gpt-5-mini: {input: 9, output: 99}\n'
        "  llama3.2: {input: 0, output: 0}\n"
    )
    table = load_price_table(override)
    assert table.as_of == "2027-01-01"
    assert table.model("gpt-5-mini") is not None and table.model("gpt-5-mini").input == 9
    assert table.reply_cost("llama3.2", Usage(100, 100)) == 0.0
    assert table.model("anthropic.claude-sonnet-4-6") is not None  # still there


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ("models: [1, 2]", "must be a mapping"),
        ("models:\n  m: {input: cheap, output: 1}", "needs numbers"),
        ("- just a list", "must be a mapping"),
        ("models: {m: {input: 1", "not valid YAML"),
    ],
)
def test_a_bad_price_file_is_refused_with_where_and_why(
    tmp_path: Path, content: str, complaint: str
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(content)
    with pytest.raises(PriceTableError, match=complaint):
        load_price_table(bad)


def test_the_app_refuses_to_start_on_a_missing_price_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"AZUCHI_PRICES_FILE.*cannot read"):
        build_app(fast_settings(AZUCHI_PRICES_FILE=str(tmp_path / "nope.yaml")))


async def test_the_done_frame_and_the_stored_reply_carry_the_replys_cost(tmp_path: Path) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text("models:\n  azuchi-scripted: {input: 2.0, output: 10.0}\n")
    async with running_app(fast_settings(AZUCHI_PRICES_FILE=str(prices))) as app:
        client = await Client.connect(app, "c1")
        await client.say("Tell me about castles")
        done = await client.wait_for(lambda f: f["type"] == "done")
        await settle(app)

        usage = done["usage"]
        expected = (usage["inputTokens"] * 2.0 + usage["outputTokens"] * 10.0) / 1e6
        assert usage["outputTokens"] > 0
        assert done["costUsd"] == pytest.approx(expected)
        stored = await app.store.last_messages(client.session_id, 10)
        (reply,) = [m for m in stored if m.role is Role.AGENT and m.message_type == "CONVERSATION"]
        assert reply.cost_usd == pytest.approx(expected)
        final = client.wait_for(lambda f: f["type"] == "message" and f["role"] == "AGENT")
        assert (await final)["costUsd"] == pytest.approx(expected)


async def test_a_model_missing_from_the_table_has_a_null_cost_not_a_made_up_one(
    tmp_path: Path,
) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text("models:\n  azuchi-scripted: null\n")
    async with running_app(fast_settings(AZUCHI_PRICES_FILE=str(prices))) as app:
        client = await Client.connect(app, "c1")
        await client.say("hello")
        done = await client.wait_for(lambda f: f["type"] == "done")
        assert done["costUsd"] is None
        await settle(app)


def test_the_per_reply_table_prints_every_model_and_refuses_a_bad_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from adapters.pricing.__main__ import main

    assert main(["--input", "1000000", "--output", "0", "--cached", "0"]) == 0
    out = capsys.readouterr().out
    table = load_price_table()
    for model_id, price in table.models.items():
        (line,) = [ln for ln in out.splitlines() if ln.startswith(model_id + " ")]
        assert f"{price.input:.5f}" in line  # a million input tokens cost the input rate
    bad = tmp_path / "bad.yaml"
    bad.write_text("models: [")
    assert main(["--prices", str(bad)]) == 2
    assert "not valid YAML" in capsys.readouterr().err
