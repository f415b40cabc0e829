"""`azuchi package`: one folder per function that imports on its own, with only what that
function needs; and the frontend upload with its config.json.

The build uses this interpreter's wheels (``--platform local``) so that the folders can be
imported here; `make package` builds the same folders from Lambda's arm64 wheels.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from handlers.build_facts import BuildFacts
from handlers.functions import BY_NAME
from tooling import package
from tooling.package import BOTOCORE_SERVICES, CODE_EXCLUDED, CODE_PACKAGES, ROOT

FUNCTIONS = list(BY_NAME)

pytestmark = pytest.mark.timeout(
    1200
)  # the first test builds the folders (`built`): minutes on a busy machine

# Adapter packages whose every module each folder must import, by what its settings pick
# in the redis profile with an OpenAI model (the build below).
ALL_FUNCTIONS = ["adapters.dynamodb", "adapters.redis", "adapters.apigateway"]
WORKER = [*ALL_FUNCTIONS, "adapters.openai"]

IMPORT_ALL = """
import importlib, pkgutil, sys
folder, handler_module, *packages = sys.argv[1:]
sys.path.insert(0, folder)
module = importlib.import_module(handler_module)
assert callable(module.handler), handler_module
for name in packages:
    pkg = importlib.import_module(name)
    for info in pkgutil.walk_packages(pkg.__path__, name + "."):
        importlib.import_module(info.name)
outside = sorted(
    m.__name__ for m in list(sys.modules.values())
    if getattr(m, "__file__", None) and "site-packages" in m.__file__
)
assert not outside, outside
print("ok")
"""


def test_the_size_table_lists_every_function(built: tuple[Path, str]) -> None:
    out, table = built
    for function in FUNCTIONS:
        assert f"{function} " in table and str(out / function) in table


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_folder_imports_its_handler_with_nothing_else_on_the_path(
    built: tuple[Path, str], function: str
) -> None:
    out, _ = built
    packages = WORKER if BY_NAME[function].talks_to_model else ALL_FUNCTIONS
    command = [sys.executable, "-I", "-S", "-B", "-c", IMPORT_ALL, str(out / function)]
    result = subprocess.run(
        [*command, f"handlers.{function}", *packages],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_only_the_worker_carries_the_model_sdk_and_no_folder_carries_local_code(
    built: tuple[Path, str],
) -> None:
    out, _ = built
    assert (out / "reply_worker" / "openai").is_dir()
    for function in FUNCTIONS:
        folder = out / function
        assert (folder / "openai").exists() == BY_NAME[function].talks_to_model, function
        assert (folder / "redis").is_dir()  # the redis profile's lock and memory
        for absent in ("tests", "infra", "frontend", "bin", "adapters/local_gateway"):
            assert not (folder / absent).exists(), f"{function}/{absent}"
        assert not (folder / "handlers" / "cli.py").exists()
        for checkout_only in ("tooling", "load_tests", "costmodel"):
            assert not (folder / checkout_only).exists(), f"{function}/{checkout_only}"
        assert (folder / "handlers" / "functions.py").is_file()  # routes read it at import


def test_every_module_ships_its_bytecode_unchecked(built: tuple[Path, str]) -> None:
    """/var/task is read-only: a module without its .pyc is compiled on every cold start.
    Unchecked-hash bytecode is loaded whatever the zip did to the source's mtime."""
    out, _ = built
    tag = sys.implementation.cache_tag
    for function in FUNCTIONS:
        folder = out / function
        sources = list(folder.rglob("*.py"))
        # the SDKs are in where the function's AWS client is the SDK (the worker)
        assert len(sources) > (300 if BY_NAME[function].aws_client == "sdk" else 100), function
        missing = [
            s for s in sources if not (s.parent / "__pycache__" / f"{s.stem}.{tag}.pyc").is_file()
        ]
        assert missing == [], missing[:5]
        pyc = folder / "handlers" / "__pycache__" / f"{function}.{tag}.pyc"
        flags = int.from_bytes(pyc.read_bytes()[4:8], "little")
        assert flags == 0b01, "hash-based, unchecked (PEP 552)"


def test_each_folder_records_what_it_was_built_for(built: tuple[Path, str]) -> None:
    out, _ = built
    for function in FUNCTIONS:
        facts = BuildFacts.read(out / function)
        assert facts is not None
        assert (facts.function, facts.profile, facts.model) == (function, "redis", "openai")
        assert facts.azuchi_version == metadata.version("azuchi")


def test_a_lambda_build_without_a_python_313_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(package, "_python_313_candidates", lambda: [])
    with pytest.raises(package.PackageError, match="--bytecode-python"):
        package.bytecode_interpreter("lambda", None)
    with pytest.raises(package.PackageError, match=r"is not a CPython 3\.13"):
        package.bytecode_interpreter(
            "lambda", sys.executable if sys.version_info[:2] != (3, 13) else "/nonexistent"
        )


def test_botocore_keeps_only_the_services_azuchi_calls_and_can_build_their_clients(
    built: tuple[Path, str],
) -> None:
    out, _ = built
    data = out / "reply_worker" / "botocore" / "data"
    assert sorted(p.name for p in data.iterdir() if p.is_dir()) == sorted(BOTOCORE_SERVICES)
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); import botocore.session as s\n"
        "session = s.get_session()\n"
        "for name in sys.argv[2:]:\n"
        "    session.create_client(name, region_name='us-east-1',"
        " aws_access_key_id='x', aws_secret_access_key='x')\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-B",
            "-c",
            script,
            str(out / "reply_worker"),
            *BOTOCORE_SERVICES,
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_every_excluded_path_is_local_only_code_that_exists() -> None:
    # A moved module would leave its entry behind, excluding nothing or a newcomer.
    for excluded in CODE_EXCLUDED:
        assert excluded.split("/")[0] in CODE_PACKAGES, excluded
        assert (ROOT / excluded).exists(), f"{excluded} is gone: drop it from CODE_EXCLUDED"


def test_lean_functions_need_no_redis() -> None:
    lean = package.requirements("put_message", "lean", "bedrock")
    assert not any(r.startswith(("redis==", "openai==")) for r in lean)


def test_only_functions_declared_with_the_sdk_get_aioboto3() -> None:
    for function in FUNCTIONS:
        reqs = package.requirements(function, "lean", "bedrock")
        sdk = BY_NAME[function].aws_client == "sdk"
        assert any(r.startswith("aioboto3==") for r in reqs) == sdk, function
        forced = package.requirements(function, "lean", "bedrock", aws_client="sdk")
        assert any(r.startswith("aioboto3==") for r in forced), function
    assert BY_NAME["reply_worker"].aws_client == "sdk"  # Bedrock needs the SDK
    small = ["connect", "disconnect", "default", "stop_generation", "rename_session"]
    small += ["reply_failures", "delete_session", "get_messages", "put_message"]
    assert all(BY_NAME[f].aws_client == "lite" for f in small)


PYTHON_ISOLATED = [sys.executable, "-I", "-S", "-B", "-c"]
SDK_MODULES = ("botocore", "aiobotocore", "aiohttp", "aioboto3", "boto3")

# Lambda's init with the lean profile's AWS adapters on the lite client: the app built and
# its clients opened (no call made), then the SDK's modules that got imported.
LITE_INIT = """
import sys
sys.path.insert(0, sys.argv[1])
import importlib
module = importlib.import_module(sys.argv[2])
import handlers.lambda_runtime as rt
assert rt._app is not None
loaded = {m.split(".")[0] for m in sys.modules}
print(rt._app.settings.aws_client, sorted(loaded & set(sys.argv[3:])))
"""


def _aws_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "AWS_LAMBDA_FUNCTION_NAME": "azuchi-test",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AK",
        "AWS_SECRET_ACCESS_KEY": "SK",
        "AWS_SESSION_TOKEN": "T",
        "AZUCHI_PROFILE": "redis",
        "AZUCHI_STORAGE": "dynamodb",
        "AZUCHI_LIMITS": "dynamodb",
        "AZUCHI_LOCK": "inprocess",
        "AZUCHI_AGENT_MEMORY": "inprocess",
        "AZUCHI_TRANSPORT": "apigateway",
        "AZUCHI_APIGW_ENDPOINT": "https://abc.execute-api.us-east-1.amazonaws.com/prod",
        "AZUCHI_REPLY_LAUNCHER": "lambda",
        "AZUCHI_REPLY_FUNCTION": "azuchi-test-worker",
        "XDG_DATA_HOME": str(tmp_path / "data"),
        **extra,
    }


@pytest.mark.parametrize(
    "function", [f for f in FUNCTIONS if BY_NAME[f].aws_client == "lite" and BY_NAME[f].ports]
)
def test_a_small_function_ships_and_imports_no_aws_sdk(
    built: tuple[Path, str], function: str, tmp_path: Path
) -> None:
    """Its folder holds no botocore, aiobotocore or aiohttp, and its init (app built, clients
    opened, as inside Lambda) imports none: they were two thirds of its cold start."""
    out, _ = built
    folder = out / function
    for name in SDK_MODULES:
        assert not (folder / name).exists(), f"{function} ships {name}"
    result = subprocess.run(
        [*PYTHON_ISOLATED, LITE_INIT, str(folder), f"handlers.{function}", *SDK_MODULES],
        capture_output=True,
        text=True,
        env=_aws_env(tmp_path),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["lite", "[]"]


# What no small function's init needs (README, "Cold starts"): the YAML parser (the price
# table ships parsed), SQLite, the entry-point scan over every installed distribution,
# anyio's process pool (the calculator tool's), the in-process adapters it does not select.
UNNEEDED_AT_INIT = (
    "yaml",
    "sqlite3",
    "importlib.metadata",
    "anyio.to_process",
    "adapters.sqlite.database",
    "adapters.inprocess.store",
)
MODULES_AT_INIT = """
import sys
sys.path.insert(0, sys.argv[1])
import importlib
importlib.import_module(sys.argv[2])
import handlers.lambda_runtime as rt
assert rt._app is not None
print(sorted(set(sys.argv[3:]) & set(sys.modules)))
"""


@pytest.mark.parametrize("function", ["connect", "disconnect", "default", "reply_failures"])
def test_a_small_function_imports_only_the_adapters_its_settings_select(
    built: tuple[Path, str], function: str, tmp_path: Path
) -> None:
    out, _ = built
    folder = out / function
    assert (folder / "adapters" / "pricing" / "prices.json").is_file()
    result = subprocess.run(
        [*PYTHON_ISOLATED, MODULES_AT_INIT, str(folder), f"handlers.{function}", *UNNEEDED_AT_INIT],
        capture_output=True,
        text=True,
        env=_aws_env(tmp_path),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"


def test_the_worker_keeps_the_sdk(built: tuple[Path, str]) -> None:
    out, _ = built
    for name in ("botocore", "aiobotocore", "aiohttp", "aioboto3"):
        assert (out / "reply_worker" / name).is_dir(), name


def test_forcing_the_sdk_on_a_lite_folder_refuses_at_init_saying_how(
    built: tuple[Path, str], tmp_path: Path
) -> None:
    out, _ = built
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", INIT, str(out / "connect"), "handlers.connect"],
        capture_output=True,
        text=True,
        env=_aws_env(tmp_path, AZUCHI_AWS_CLIENT="sdk"),
    )
    assert result.returncode != 0
    assert "AZUCHI_AWS_CLIENT=sdk" in result.stderr and "--aws-client sdk" in result.stderr


def _args(**values: object) -> argparse.Namespace:
    defaults = {"frontend": True, "ws_url": None, "out": None, "profile": "lean"}
    return argparse.Namespace(**{**defaults, **values})


def test_the_frontend_upload_carries_the_stacks_websocket_url(tmp_path: Path) -> None:
    url = "wss://abc123.execute-api.us-east-1.amazonaws.com/prod"
    assert package.run(_args(out=tmp_path / "site", ws_url=url)) == 0
    assert json.loads((tmp_path / "site" / "config.json").read_text()) == {"websocketUrl": url}
    assert (tmp_path / "site" / "index.html").is_file()
    # ...and the page prefers that file to its own origin (the local default).
    page = (ROOT / "frontend" / "js" / "config.js").read_text()
    assert "fetch('config.json'" in page and "config.websocketUrl" in page


def test_a_frontend_without_a_websocket_url_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert package.run(_args(out=tmp_path / "site", ws_url="https://example.com")) == 2
    assert "--ws-url" in capsys.readouterr().err
    assert not (tmp_path / "site").exists()


INIT = (
    "import sys; sys.path.insert(0, sys.argv[1]); import importlib;"
    "importlib.import_module(sys.argv[2])"
)


def _init(folder: Path, module: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Imports ``module`` from ``folder`` alone, as Lambda's init does."""
    return subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", INIT, str(folder), module],
        capture_output=True,
        text=True,
        env={"AWS_LAMBDA_FUNCTION_NAME": "azuchi-test", "AWS_REGION": "us-east-1", **env},
    )


def test_an_artefact_deployed_with_another_profile_refuses_at_init_naming_both(
    built: tuple[Path, str],
) -> None:
    out, _ = built
    result = _init(out / "connect", "handlers.connect", AZUCHI_PROFILE="lean")
    assert result.returncode != 0
    assert "BuildMismatch" in result.stderr
    assert "built for profile 'redis'" in result.stderr
    assert "Profile parameter is 'lean'" in result.stderr
    assert "make package PROFILE=lean" in result.stderr


def test_the_worker_built_for_another_model_refuses_at_init(built: tuple[Path, str]) -> None:
    out, _ = built
    result = _init(
        out / "reply_worker",
        "handlers.reply_worker",
        AZUCHI_PROFILE="redis",
        AZUCHI_MODEL="bedrock",
    )
    assert result.returncode != 0
    assert "built for model 'openai'" in result.stderr
    assert "ModelProvider parameter is 'bedrock'" in result.stderr


def test_a_matching_artefact_builds_its_app_at_init(
    built: tuple[Path, str], tmp_path: Path
) -> None:
    """Lambda imports the handler module during init: the app is built there, not on the
    first event (the in-process adapters need no backend to be built)."""
    out, _ = built
    check = (
        "import sys; sys.path.insert(0, sys.argv[1]); import handlers.get_messages;"
        "import handlers.lambda_runtime as rt; assert rt._app is not None; print('built')"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", check, str(out / "get_messages")],
        capture_output=True,
        text=True,
        env={
            "AWS_LAMBDA_FUNCTION_NAME": "azuchi-test",
            "AZUCHI_PROFILE": "redis",
            # A clean environment names no data home: without these the durable default
            # would open the machine's own ~/.local/share/azuchi/azuchi.db.
            "AZUCHI_STORAGE": "inprocess",
            "AZUCHI_LOCK": "inprocess",
            "AZUCHI_AGENT_MEMORY": "inprocess",
            "XDG_DATA_HOME": str(tmp_path / "data"),
        },
    )
    assert not (tmp_path / "data").exists(), "the app opened a database it was not given"
    assert result.returncode == 0, result.stderr[-2000:]
    assert "built" in result.stdout
