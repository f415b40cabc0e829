"""``azuchi cost`` as a user runs it: bad input is one clear line and exit code 2; a good
run prints both profiles' bills and writes the same numbers as JSON."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from adapters.pricing.table import load_price_table
from handlers.cli import main
from tests.cost.test_cost_model import RECORD

ROOT = Path(__file__).resolve().parents[2]
AZUCHI = Path(sys.executable).with_name("azuchi")


@pytest.fixture(autouse=True)
def default_settings(monkeypatch):
    for name in list(os.environ):
        if name.startswith("AZUCHI_"):
            monkeypatch.delenv(name)


def write(path: Path, data: Any) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def run_cost(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(["cost", *args])
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


def broken(change) -> dict[str, Any]:
    record = copy.deepcopy(RECORD)
    change(record["operations"])
    return record


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ({"sessions": 5, "replies": 10}, "no 'operations' record"),
        ([1, 2, 3], "no 'operations' record"),
        ("{not json", "is not JSON"),
        (broken(lambda o: o.update(turns="many")), "operations.turns must be a number above 0"),
        (broken(lambda o: o.update(turns=0)), "the run completed no reply"),
        (broken(lambda o: o.pop("apigw")), "operations.apigw is missing"),
        (broken(lambda o: o.update(apigw=[1])), "operations.apigw must be an object, not [1]"),
        (
            broken(lambda o: o["apigw"].update(outbound_messages=-3)),
            "operations.apigw.outbound_messages must be a number ≥ 0",
        ),
        (
            broken(lambda o: o["lambda"].update(reply_worker=7)),
            "operations.lambda.reply_worker must be an object, not 7",
        ),
        (
            broken(lambda o: o["lambda"]["put_message"].update(duration_ms=True)),
            "operations.lambda.put_message.duration_ms must be a number",
        ),
        (
            broken(lambda o: o["lambda"].update(warmer={"invocations": 1, "duration_ms": 5})),
            "operations.lambda.warmer has no memory_mb and is not a function of the template",
        ),
        (
            broken(lambda o: o["model"].update(model_id=42)),
            "operations.model.model_id must be a model id string",
        ),
    ],
)
def test_a_record_it_cannot_use_is_one_clear_line_and_exit_2(tmp_path, capsys, content, named):
    path = write(tmp_path / "load.json", content)
    code, out, err = run_cost(capsys, "--from", str(path))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("azuchi cost: ")
    assert named in lines[0] and str(path) in lines[0]
    assert out == ""  # no half-printed bill


def test_unreadable_inputs_are_named(tmp_path, capsys):
    code, _, err = run_cost(capsys, "--from", str(tmp_path / "missing.json"))
    assert code == 2 and "cannot read" in err and "missing.json" in err
    code, _, err = run_cost(capsys, "--from", str(tmp_path))  # a directory
    assert code == 2 and "cannot read" in err
    record = write(tmp_path / "load.json", RECORD)
    traffic = write(tmp_path / "traffic.yaml", "name: x\nturns_per_month: lots\n")
    code, _, err = run_cost(capsys, "--from", str(record), "--traffic", str(traffic))
    assert code == 2 and "turns_per_month must be a number ≥ 0, not 'lots'" in err
    prices = write(tmp_path / "prices.yaml", "aws: [1, 2]\n")
    code, _, err = run_cost(capsys, "--from", str(record), "--prices", str(prices))
    assert code == 2 and "aws must be a mapping" in err


def test_a_prices_override_changes_what_it_costs(tmp_path, capsys):
    record = write(tmp_path / "load.json", RECORD)
    base_json, cheap_json = tmp_path / "base.json", tmp_path / "cheap.json"
    assert run_cost(capsys, "--from", str(record), "--json", str(base_json))[0] == 0
    built_in = load_price_table().aws_price("lambda_arm64", "per_gb_second")
    prices = write(
        tmp_path / "prices.yaml", f"aws:\n  lambda_arm64:\n    per_gb_second: {built_in / 2}\n"
    )
    code, _, _ = run_cost(
        capsys, "--from", str(record), "--prices", str(prices), "--json", str(cheap_json)
    )
    assert code == 0

    def duration(path: Path) -> float:
        items = json.loads(path.read_text())["profiles"]["lean"]["items"]
        return next(i["per_1000_turns"] for i in items if i["label"] == "Lambda duration")

    assert duration(cheap_json) == pytest.approx(duration(base_json) / 2)
    # the rest of the table still applies: requests are priced as before
    base = json.loads(base_json.read_text())["profiles"]["lean"]
    cheap = json.loads(cheap_json.read_text())["profiles"]["lean"]

    def requests(bill: dict[str, Any]) -> dict[str, Any]:
        return next(i for i in bill["items"] if i["label"] == "Lambda requests")

    assert requests(cheap) == requests(base)
    assert cheap["infra_per_month"] < base["infra_per_month"]


def test_the_command_prints_both_bills_and_writes_the_same_numbers(tmp_path):
    record = write(tmp_path / "load.json", RECORD)
    out_json = tmp_path / "cost.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZUCHI_")}
    done = subprocess.run(
        [
            str(AZUCHI),
            "cost",
            "--from",
            str(record),
            "--json",
            str(out_json),
            "--turns-per-month",
            "50000",
        ],
        cwd=tmp_path,  # the command must not depend on running from the repository
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(out_json.read_text())
    assert f"prices as of {load_price_table().as_of}" in done.stdout
    assert "lean profile" in done.stdout and "redis profile" in done.stdout
    assert "seed 1 estimated $2.30/month plus tokens" in done.stdout
    assert report["traffic"]["turns_per_month"] == 50_000
    for name in ("lean", "redis"):
        bill = report["profiles"][name]
        months = [i["per_month"] for i in bill["items"]]
        assert sum(months) == pytest.approx(bill["per_month"])
        assert f"{bill['infra_per_month']:,.2f}" in done.stdout
    assert report["profiles"]["lean"]["idle_floor_per_month"] < 0.01
    prices = load_price_table()
    cache = "elasticache_serverless_valkey"
    floor = prices.hours_per_month * (
        prices.aws_price(cache, "minimum_gb") * prices.aws_price(cache, "per_gb_hour")
        + prices.aws_price("nat_gateway", "per_hour")
        + prices.aws_price("public_ipv4", "per_hour")
    )  # the default traffic profile: one NAT gateway and its IPv4 address, no endpoint
    stored = report["profiles"]["lean"]["idle_floor_per_month"]  # both keep the same data
    assert report["profiles"]["redis"]["idle_floor_per_month"] == pytest.approx(floor + stored)


def test_without_a_run_it_says_it_uses_the_reference_record(capsys):
    code, out, _ = run_cost(capsys, "--profile", "lean")
    assert code == 0
    assert "the built-in reference run (docs/cost.md; pass --from for yours)" in out
    assert "lean profile" in out and "redis profile" not in out


def test_model_reprices_the_runs_tokens(tmp_path, capsys):
    record = write(tmp_path / "load.json", RECORD)
    cheap = tmp_path / "cheap.json"
    assert (
        run_cost(capsys, "--from", str(record), "--model", "gpt-5-nano", "--json", str(cheap))[0]
        == 0
    )
    tokens = json.loads(cheap.read_text())["profiles"]["redis"]["tokens_per_month"]
    nano = load_price_table().model("gpt-5-nano")
    assert nano is not None
    per_turn = (2000 * nano.input + 25 * nano.output + 1000 * nano.cache_read) / 1e6
    assert tokens == pytest.approx(per_turn * 30_000, rel=1e-6)  # the default traffic's turns
    code, out, _ = run_cost(capsys, "--from", str(record), "--model", "my-local-llama")
    assert code == 0 and "no price for 'my-local-llama'" in out
