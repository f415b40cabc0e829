"""``azuchi package``: the Lambda artefacts the SAM template deploys, and the frontend upload.

    azuchi package [--out build/lambda] [--profile lean|redis] [--model bedrock|openai|openai-chat]
                   [--platform lambda|local]
    azuchi package --frontend --ws-url wss://{api}.execute-api.{region}.amazonaws.com/{stage}

One self-contained folder per function of ``handlers.functions`` (``build/lambda/<name>/``,
the template's CodeUri): azuchi's runtime packages without their local-only modules, and
the third-party packages that function needs, installed as manylinux aarch64 wheels for
CPython 3.13. Why folders and not a shared
layer: the functions differ only in what they may import (openai only in the worker, and
only for an OpenAI model; redis only in the redis profile), one folder is one thing to test
(``python -I -S`` with that folder alone), and duplicated bytes cost nothing at runtime.
Each distinct set of requirements is installed once and hard-linked into the folders.

Every folder ships compiled bytecode (``__pycache__/*.cpython-313.pyc``, unchecked-hash
invalidation): ``/var/task`` is read-only, so without it every cold start compiles each of
the ~470 modules it imports, inside the first event's timeout. Bytecode is CPU-independent
but interpreter-specific, so a Lambda build compiles with a CPython 3.13 (``python3.13`` on
the PATH, pyenv's, or ``--bytecode-python``) and refuses without one. Each folder also
records what it was built for (``azuchi-build.json``, ``handlers.build_facts``), which the
function checks against the stack's parameters at init.

Pins are the versions installed here, so Lambda runs what the tests ran. Only the functions
whose AWS client is the SDK (``LambdaFunction.aws_client``: the reply worker, which calls
Bedrock) ship aioboto3, and with it aiobotocore, botocore and aiohttp; the others use the
standard-library lite client (adapters/aws/lite) and ship none of them (``--aws-client sdk``
puts the SDK in every folder, for ``AZUCHI_AWS_CLIENT=sdk``). botocore ships even though
the runtime has one, because aiobotocore pins it; its service models are cut to the four
services azuchi calls (most of botocore's size).
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from adapters.pricing.table import COMPILED, compile_built_in
from handlers.build_facts import BuildFacts
from handlers.functions import BY_NAME, FUNCTIONS

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "infra" / "template.yaml"  # beside it only in a checkout
BASE_REQUIREMENTS = ("anyio", "pluggy", "pyyaml")
SDK_REQUIREMENTS = ("aioboto3",)  # where the function's AWS client is the SDK
AWS_CLIENT_CHOICES = ("declared", "sdk")
PROFILE_REQUIREMENTS = {"lean": (), "redis": ("redis",)}
MODEL_REQUIREMENTS = {"bedrock": (), "openai": ("openai",), "openai-chat": ("openai",)}
AUTH_REQUIREMENTS = ("PyJWT", "cryptography", "cffi", "pycparser")  # the authorizer only
MCP_REQUIREMENTS = ("mcp",)  # the worker, with --mcp-config: its client and what it pulls in
MCP_FILE = "mcp-servers.json"  # the servers file in the worker's folder (AZUCHI_MCP_CONFIG)
BOTOCORE_SERVICES = ("dynamodb", "apigatewaymanagementapi", "lambda", "bedrock-runtime")

CODE_PACKAGES = ("core", "adapters", "handlers")
CODE_SUFFIXES = (".py", ".yaml", ".json")
# Local-only modules inside the runtime packages: the API Gateway emulator, the table
# command and the CLI. Checkout tooling (tooling/, testsupport/, load_tests/, costmodel/)
# is outside CODE_PACKAGES already.
CODE_EXCLUDED = (
    "adapters/local_gateway",
    "adapters/dynamodb/tables_cli.py",
    "handlers/cli.py",
)
# Lambda's python3.13 runs on Amazon Linux 2023 (glibc 2.34): manylinux_2_28 wheels run
# there too, and cryptography (the authorizer's) ships aarch64 wheels only that new.
LAMBDA_PLATFORM = (
    "--platform",
    "manylinux2014_aarch64",
    "--platform",
    "manylinux_2_28_aarch64",
    "--implementation",
    "cp",
)
LAMBDA_PYTHON = "3.13"
LAMBDA_TASK_ROOT = "/var/task"  # where Lambda unpacks a function: the .pyc's source paths
UNZIPPED_LIMIT = 250 * 1024 * 1024  # Lambda: function and layers, unzipped

EXIT_USAGE = 2
EXIT_FAILED = 1


class PackageError(Exception):
    """A build step failed; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Artefact:
    function: str
    path: Path
    unzipped: int
    zipped: int


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser(
        "package",
        help="build the Lambda folders the SAM template deploys (or the frontend upload)",
        description="Build build/lambda/<function>/ for every function of infra/template.yaml "
        "(azuchi's code and only the packages that function needs), and print their sizes. "
        "With --frontend, copy frontend/ to the upload folder with config.json.",
    )
    parser.add_argument("--out", type=Path, help="folder to build into (default build/lambda)")
    parser.add_argument("--profile", choices=sorted(PROFILE_REQUIREMENTS), default="lean")
    parser.add_argument("--model", choices=sorted(MODEL_REQUIREMENTS), default="bedrock")
    parser.add_argument(
        "--platform",
        choices=["lambda", "local"],
        default="lambda",
        help="lambda: arm64 wheels for Python 3.13; local: this interpreter (tests)",
    )
    parser.add_argument(
        "--aws-client",
        choices=AWS_CLIENT_CHOICES,
        default="declared",
        help="declared: aioboto3 only in the folders of functions whose AWS client is the "
        "SDK (handlers.functions); sdk: in every folder (AZUCHI_AWS_CLIENT=sdk)",
    )
    parser.add_argument(
        "--mcp-config",
        type=Path,
        help="an MCP servers file (docs/mcp.md; streamable HTTP servers only): checked, "
        f"shipped in the reply worker's folder as {MCP_FILE} with the mcp SDK; deploy with "
        "the stack's McpServers=packaged",
    )
    parser.add_argument("--pip-cache", type=Path, default=ROOT / ".cache" / "pip")
    parser.add_argument(
        "--bytecode-python",
        help="the CPython 3.13 that compiles a lambda build's .pyc (default: python3.13 "
        "on the PATH, else pyenv's)",
    )
    parser.add_argument("--frontend", action="store_true", help="build the frontend upload")
    parser.add_argument("--ws-url", help="with --frontend: the stack's WebSocketUrl output")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        if not TEMPLATE.is_file():
            raise PackageError(
                f"azuchi package builds from a checkout of azuchi; {TEMPLATE} is missing "
                "(run it in a clone, after `make .venv/.dev`)"
            )
        if args.frontend:
            site = build_site(args.out or ROOT / "build" / "site", args.ws_url)
            print(f"frontend ready in {site} (config.json -> {args.ws_url})")
            return 0
        if args.ws_url:
            raise ValueError("--ws-url goes with --frontend")
        artefacts = build_functions(
            args.out or ROOT / "build" / "lambda",
            profile=args.profile,
            model=args.model,
            platform=args.platform,
            pip_cache=args.pip_cache,
            bytecode_python=args.bytecode_python,
            aws_client=args.aws_client,
            mcp_config=args.mcp_config,
        )
    except ValueError as error:
        print(f"azuchi package: {error}", file=sys.stderr)
        return EXIT_USAGE
    except PackageError as error:
        print(f"azuchi package: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(size_table(artefacts))
    too_big = [a.function for a in artefacts if a.unzipped > UNZIPPED_LIMIT]
    if too_big:
        print(f"azuchi package: over Lambda's 250 MB unzipped: {too_big}", file=sys.stderr)
        return EXIT_FAILED
    return 0


# --- functions -----------------------------------------------------------------------------


def requirements(
    function: str, profile: str, model: str, aws_client: str = "declared", mcp: bool = False
) -> list[str]:
    """The pinned third-party requirements of one function's folder."""
    if aws_client not in AWS_CLIENT_CHOICES:
        raise ValueError(f"--aws-client {aws_client!r}: one of {', '.join(AWS_CLIENT_CHOICES)}")
    names = [*BASE_REQUIREMENTS, *PROFILE_REQUIREMENTS[profile]]
    if aws_client == "sdk" or BY_NAME[function].aws_client == "sdk":
        names += SDK_REQUIREMENTS
    if BY_NAME[function].talks_to_model:
        names += MODEL_REQUIREMENTS[model]
        if mcp:
            names += MCP_REQUIREMENTS
    if BY_NAME[function].verifies_tokens:
        names += AUTH_REQUIREMENTS
    return [f"{name}=={metadata.version(name)}" for name in names]


def build_functions(
    out: Path,
    *,
    profile: str,
    model: str,
    platform: str,
    pip_cache: Path,
    bytecode_python: str | None = None,
    aws_client: str = "declared",
    mcp_config: Path | None = None,
    only: tuple[str, ...] | None = None,
) -> list[Artefact]:
    """One folder per function of the template (``only``: these functions, for tests)."""
    servers = mcp_servers_json(mcp_config) if mcp_config is not None else None
    python = bytecode_interpreter(platform, bytecode_python)
    out.mkdir(parents=True, exist_ok=True)
    deps_root = out / ".deps"
    artefacts = []
    for function in (f.name for f in FUNCTIONS if only is None or f.name in only):
        with_mcp = servers is not None and BY_NAME[function].talks_to_model
        reqs = requirements(function, profile, model, aws_client, with_mcp)
        deps = install(reqs, deps_root, platform=platform, pip_cache=pip_cache, python=python)
        folder = out / function
        if folder.exists():
            shutil.rmtree(folder)
        _link_tree(deps, folder)
        copy_code(folder)
        compile_bytecode(python, folder, [folder / p for p in CODE_PACKAGES], platform)
        write_sam_makefile(folder)
        if with_mcp and servers is not None:
            (folder / MCP_FILE).write_text(servers, encoding="utf-8")
        BuildFacts(
            function=function,
            profile=profile,
            model=model,
            azuchi_version=metadata.version("azuchi"),
            python=python.version,
            platform=platform,
            mcp=with_mcp,
        ).write(folder)
        artefacts.append(Artefact(function, folder, _tree_size(folder), _zipped_size(folder)))
    return artefacts


def mcp_servers_json(path: Path) -> str:
    """The servers file as the worker reads it (JSON), after the checks azuchi makes at
    start-up on Lambda (streamable HTTP only: no subprocess there). ``${VAR}`` references
    stay as they are: the worker's environment fills them in at init."""
    import json
    import re

    from adapters.mcp.config import McpConfigError, load_servers

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"--mcp-config {path}: {exc.strerror}") from None
    names = re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", text)
    placeholders = {name: "set-at-init" for name in names}
    try:
        load_servers(str(path), placeholders, on_lambda=True)
    except McpConfigError as exc:
        raise ValueError(f"--mcp-config: {exc}") from None
    import yaml

    data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"


# `sam build` with the template's ``Metadata: BuildMethod: makefile`` runs
# ``make build-<LogicalId>`` in a copy of each CodeUri with ARTIFACTS_DIR set. Its default
# Python workflow would rebuild each folder and drop every *.so (aiohttp, yaml, pydantic_core
# ...); this target copies the prebuilt folder as it is instead.
SAM_MAKEFILE = """\
# Written by `azuchi package`. `sam build` (BuildMethod: makefile) copies this prebuilt
# folder as it is: nothing reinstalled, no *.so or .pyc dropped. Build it again with
# `make package PROFILE=... MODEL=...` in the checkout, not here.
build-%:
\tcp -a ./. "$(ARTIFACTS_DIR)/"
\trm -f "$(ARTIFACTS_DIR)/Makefile"
"""


def write_sam_makefile(folder: Path) -> None:
    (folder / "Makefile").write_text(SAM_MAKEFILE, encoding="utf-8")


@dataclass(frozen=True, slots=True)
class Interpreter:
    path: str
    version: str  # "3.13"


def bytecode_interpreter(platform: str, given: str | None) -> Interpreter:
    """The CPython whose .pyc the folders ship: Lambda's 3.13 for a lambda build, this one
    for a local build (whose wheels are this interpreter's too)."""
    if platform == "local" and not given:
        return Interpreter(sys.executable, f"{sys.version_info[0]}.{sys.version_info[1]}")
    candidates = [given] if given else _python_313_candidates()
    for candidate in candidates:
        version = _version_of(candidate) if candidate else None
        if version == LAMBDA_PYTHON or (given and platform == "local" and version):
            return Interpreter(str(candidate), str(version))
    where = f"{given} is not" if given else "no python3.13 was found (PATH, pyenv); none is"
    raise PackageError(
        f"a lambda build ships .pyc compiled for Lambda's Python {LAMBDA_PYTHON}, and {where} "
        f"a CPython {LAMBDA_PYTHON}: install one (pyenv install 3.13, or your system's "
        "python3.13 package) or pass --bytecode-python /path/to/python3.13"
    )


def _python_313_candidates() -> list[str]:
    found = [shutil.which(f"python{LAMBDA_PYTHON}")]
    pyenv = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    found += sorted(glob.glob(f"{pyenv}/versions/{LAMBDA_PYTHON}*/bin/python{LAMBDA_PYTHON}"))
    return [f for f in found if f]


def _version_of(python: str) -> str | None:
    try:
        result = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except OSError:
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def compile_bytecode(python: Interpreter, root: Path, trees: list[Path], platform: str) -> None:
    """Compiles every .py under ``trees`` next to it (``__pycache__``), unchecked-hash: the
    runtime loads the .pyc without comparing the source's timestamp (a zip does not keep
    it exactly) and never tries to rewrite it on read-only ``/var/task``. In a lambda
    build the recorded source paths are ``/var/task/...``, as tracebacks will show them."""
    command = [python.path, "-m", "compileall", "-q", "-j", "0"]
    command += ["--invalidation-mode", "unchecked-hash"]
    if platform == "lambda":
        command += ["-s", str(root), "-p", LAMBDA_TASK_ROOT]
    result = subprocess.run([*command, *map(str, trees)], capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-8:])
        raise PackageError(f"compileall failed in {root}:\n{tail}")


def install(
    reqs: list[str], deps_root: Path, *, platform: str, pip_cache: Path, python: Interpreter
) -> Path:
    """Installs one requirement set into ``deps_root/<hash>`` (once per set, platform and
    bytecode interpreter) and compiles it."""
    key = hashlib.sha256(json.dumps([platform, python.version, sorted(reqs)]).encode()).hexdigest()[
        :16
    ]
    target = deps_root / key
    if (target / ".complete").exists():
        return target
    if target.exists():
        shutil.rmtree(target)
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    command += ["--target", str(target), "--cache-dir", str(pip_cache), "--no-compile"]
    command += ["--only-binary=:all:"]
    if platform == "lambda":
        command += [*LAMBDA_PLATFORM, "--python-version", LAMBDA_PYTHON]
    result = subprocess.run([*command, *reqs], capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-8:])
        raise PackageError(f"pip could not install {' '.join(reqs)}:\n{tail}")
    prune(target)
    compile_bytecode(python, target, [target], platform)
    (target / ".complete").touch()
    return target


def prune(site: Path) -> None:
    """Drops what Lambda never reads: scripts, bytecode for the wrong interpreter, install
    records, test folders, and botocore service models azuchi does not call."""
    shutil.rmtree(site / "bin", ignore_errors=True)
    for path in sorted(site.rglob("*"), reverse=True):
        if path.is_dir() and (path.name == "__pycache__" or _is_test_package(site, path)):
            shutil.rmtree(path)
        elif path.suffix == ".pyc" or (
            path.parent.name.endswith(".dist-info")
            and path.name in ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json")
        ):
            path.unlink()
    data = site / "botocore" / "data"
    if data.is_dir():
        for service in data.iterdir():
            if service.is_dir() and service.name not in BOTOCORE_SERVICES:
                shutil.rmtree(service)


def _is_test_package(site: Path, path: Path) -> bool:
    return path.parent == site and path.name in ("tests", "test")


def copy_code(folder: Path) -> None:
    """azuchi's own packages, without the local-only modules."""
    for package in CODE_PACKAGES:
        for source in sorted((ROOT / package).rglob("*")):
            relative = source.relative_to(ROOT)
            if (
                not source.is_file()
                or source.suffix not in CODE_SUFFIXES
                or "__pycache__" in relative.parts
                or any(relative.as_posix().startswith(x) for x in CODE_EXCLUDED)
            ):
                continue
            destination = folder / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)
    # The price table parsed once here, so that no function parses YAML at init.
    compiled = folder / "adapters" / "pricing" / COMPILED.name
    if compiled.parent.is_dir():
        compile_built_in(compiled)


def _link_tree(source: Path, destination: Path) -> None:
    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:  # another file system: copy
            shutil.copy2(src, dst)

    shutil.copytree(
        source, destination, copy_function=link, ignore=shutil.ignore_patterns(".complete")
    )


def _tree_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _zipped_size(folder: Path) -> int:
    """The size of the zip ``sam build`` would upload (deflate, as zipfile writes it)."""
    archive = folder.with_suffix(".zip.tmp")
    try:
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    zf.write(path, path.relative_to(folder))
        return archive.stat().st_size
    finally:
        archive.unlink(missing_ok=True)


def size_table(artefacts: list[Artefact]) -> str:
    mb = 1024 * 1024
    lines = [f"{'function':<18} {'unzipped MB':>12} {'zipped MB':>10}  folder"]
    for a in artefacts:
        lines.append(f"{a.function:<18} {a.unzipped / mb:>12.1f} {a.zipped / mb:>10.1f}  {a.path}")
    return "\n".join(lines)


# --- frontend ------------------------------------------------------------------------------


def build_site(out: Path, ws_url: str | None) -> Path:
    """Copies frontend/ to ``out`` and writes config.json, which the page reads for its
    WebSocket URL (frontend/js/config.js; locally `azuchi serve` answers /config.json)."""
    if not ws_url or not ws_url.startswith(("wss://", "ws://")):
        raise ValueError(
            f"--ws-url must be the stack's WebSocketUrl output (wss://...), not {ws_url!r}"
        )
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(ROOT / "frontend", out, ignore=shutil.ignore_patterns("config.json"))
    (out / "config.json").write_text(json.dumps({"websocketUrl": ws_url}) + "\n")
    return out
