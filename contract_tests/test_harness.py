"""The suites' own machinery: a registered adapter without a provider fails, a missing
backend skips (fails in CI), and known divergences are strict xfails naming real tests."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from adapters.redis.client import RedisOptions, connect
from contract_tests.backends import (
    PROVIDERS,
    REDIS,
    adapter_names,
    adapter_under_test,
    registered,
)
from contract_tests.providers import backend_missing

ROOT = Path(__file__).resolve().parents[1]
SUITES = {
    "storage": ["test_storage_contract", "test_storage_machine"],
    "lock": ["test_lock_contract", "test_lock_machine"],
    "agent_memory": ["test_agent_memory_contract", "test_agent_memory_machine"],
    "model": ["test_model_contract"],
    "transport": ["test_transport_contract"],
}


def test_every_port_has_a_suite_and_an_adapter() -> None:
    for port in SUITES:
        assert registered(port), f"no {port} adapter is registered"


def test_adapter_without_provider_fails_with_instructions() -> None:
    assert ("storage", "no-such-backend") not in PROVIDERS
    with pytest.raises(pytest.fail.Exception) as failed:
        adapter_under_test("storage", "no-such-backend")
    message = "add a backend provider for storage/no-such-backend in contract_tests/backends.py"
    assert message in str(failed.value)


def test_missing_backend_skips_on_a_laptop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no Redis here"):
        backend_missing("no Redis here")


def test_missing_backend_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="no Redis here"):
        backend_missing("no Redis here")


@pytest.mark.anyio
async def test_redis_suites_use_a_server_of_their_own_unless_a_url_names_one() -> None:
    """Never whatever answers on 127.0.0.1:6379: the adapters under test reach the
    ``redis-server`` process the provider started, on a port it chose."""
    named = os.environ.get("AZUCHI_REDIS_URL")
    env = (
        adapter_under_test("lock", "redis")
        .provider.context(registered("lock")["redis"])
        .settings.env
    )
    found = REDIS.found
    assert found is not None
    if named:
        assert (env["AZUCHI_REDIS_URL"], found.shared) == (named, True)
        pytest.skip("AZUCHI_REDIS_URL names the server; this run owns none")
    assert found.owned is not None
    port = urlsplit(env["AZUCHI_REDIS_URL"]).port
    assert port != 6379
    client = connect(RedisOptions.from_env(env))  # how the adapters connect
    try:
        info = await client.info("server")
    finally:
        await client.aclose()
    assert (info["process_id"], info["tcp_port"]) == (found.owned.pid, port)


@pytest.mark.parametrize("port", SUITES)
def test_known_divergences_name_real_adapters_and_tests(port: str) -> None:
    for module_name in SUITES[port]:
        module = importlib.import_module(f"contract_tests.{module_name}")
        for (adapter, test), reason in module.KNOWN_DIVERGENCES.items():
            assert adapter in adapter_names(port), f"{module_name}: no {port} adapter {adapter!r}"
            assert callable(getattr(module, test, None)), f"{module_name}: no test {test!r}"
            assert reason.strip(), f"{module_name}: say why {adapter} diverges in {test}"


def test_harness_end_to_end(tmp_path: Path) -> None:
    """In a separate pytest run: an adapter registered without a provider errors with the
    instructions; a recorded divergence that fails is an xfail; one that passes fails."""
    (tmp_path / "conftest.py").write_text(
        textwrap.dedent(
            """
            import contract_tests.backends as backends
            from adapters.registry import AdapterSpec

            real = backends.adapters_for

            def with_fake(manager, port):
                if port != "storage":
                    return real(manager, port)
                # The in-memory store, and one registered without a provider.
                inprocess = real(manager, port)["inprocess"]
                return {
                    "inprocess": inprocess, "fake": AdapterSpec(port, "fake", lambda ctx: None)
                }

            backends.adapters_for = with_fake
            from contract_tests.conftest import *  # noqa: F403
            from contract_tests.conftest import _stop_backends  # noqa: F401 (not in *)
            """
        )
    )
    (tmp_path / "test_suite.py").write_text(
        textwrap.dedent(
            """
            KNOWN_DIVERGENCES = {
                ("inprocess", "test_diverges"): "the in-process store is known to fail this",
                ("inprocess", "test_was_fixed"): "fixed since, so this entry must go",
            }

            def test_diverges(storage_adapter):
                assert False

            def test_was_fixed(storage_adapter):
                assert True
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("CI", None)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    out = run.stdout + run.stderr
    assert "add a backend provider for storage/fake in contract_tests/backends.py" in out, out
    assert "XFAIL test_suite.py::test_diverges[inprocess]" in out, out
    assert "FAILED test_suite.py::test_was_fixed[inprocess]" in out, out
    assert "[XPASS(strict)] fixed since, so this entry must go" in out, out
    for test in ("test_diverges", "test_was_fixed"):  # errors for the provider-less adapter
        assert f"ERROR test_suite.py::{test}[fake]" in out, out
