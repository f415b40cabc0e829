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
from pathlib import Path

import pytest

from handlers.functions import BY_NAME
from tooling import package
from tooling.package import BOTOCORE_SERVICES, CODE_EXCLUDED, CODE_PACKAGES, ROOT

FUNCTIONS = list(BY_NAME)

pytestmark = pytest.mark.timeout(300)

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


BUILD = ["--profile", "redis", "--model", "openai", "--platform", "local"]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("lambda")
    result = subprocess.run(
        [sys.executable, "-m", "handlers.cli", "package", "--out", str(out), *BUILD],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return out, result.stdout


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
        assert not list(folder.rglob("__pycache__")), function


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
    assert any(r.startswith("aioboto3==") for r in lean)


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
