"""What a Lambda artefact was built for, and the refusal when the stack says otherwise.

``azuchi package`` writes ``azuchi-build.json`` at the root of every function folder: the
function, the profile (``lean`` | ``redis``), the model (``bedrock`` | ``openai`` |
``openai-chat``), azuchi's version, the Python it was compiled for. The stack passes its
``Profile`` parameter to every function as ``AZUCHI_PROFILE`` and its ``ModelProvider`` to
the worker as ``AZUCHI_MODEL``; the Lambda runtime compares them at init
(``handlers.lambda_runtime``), so a lean build deployed with ``Profile=redis`` fails its
first cold start with a sentence naming both, instead of every call with a settings error.

A checkout has no such file (the code runs from source): nothing is checked there. Pure
standard library, like ``handlers.functions``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

FILENAME = "azuchi-build.json"
# handlers/ sits at the root of a function folder, beside the file.
ARTEFACT_ROOT = Path(__file__).resolve().parents[1]


class BuildMismatch(RuntimeError):
    """The artefact was built for other stack parameters than it is deployed with."""


@dataclass(frozen=True, slots=True)
class BuildFacts:
    function: str
    profile: str
    model: str
    azuchi_version: str
    python: str  # the X.Y the bytecode was compiled for
    platform: str  # lambda (manylinux arm64 wheels) or local (this machine's)
    mcp: bool = False  # the worker ships the mcp SDK and a servers file (--mcp-config)

    def write(self, folder: Path) -> Path:
        path = folder / FILENAME
        path.write_text(json.dumps(asdict(self), indent=1) + "\n", encoding="utf-8")
        return path

    @classmethod
    def read(cls, folder: Path = ARTEFACT_ROOT) -> BuildFacts | None:
        """The facts of the artefact ``folder`` is, or None outside an artefact."""
        path = folder / FILENAME
        if not path.is_file():
            return None
        return cls(**json.loads(path.read_text(encoding="utf-8")))

    def mismatches(self, env: Mapping[str, str], *, talks_to_model: bool) -> list[str]:
        """One sentence per stack parameter that disagrees with this build."""
        found = []
        profile = (env.get("AZUCHI_PROFILE") or "").strip().lower()
        if profile and profile != self.profile:
            found.append(
                f"it was built for profile {self.profile!r} (azuchi package --profile "
                f"{self.profile}) but the stack's Profile parameter is {profile!r} "
                "(AZUCHI_PROFILE)"
            )
        mcp = bool((env.get("AZUCHI_MCP_CONFIG") or "").strip())
        if talks_to_model and mcp and not self.mcp:
            found.append(
                "it was built without MCP servers (azuchi package --mcp-config FILE) but the "
                "stack's McpServers parameter is 'packaged' (AZUCHI_MCP_CONFIG)"
            )
        if talks_to_model and self.mcp and not mcp:
            found.append(
                "it was built with MCP servers (azuchi package --mcp-config) but the stack's "
                "McpServers parameter is 'none' (no AZUCHI_MCP_CONFIG): deploy with "
                "McpServers=packaged, or build without --mcp-config"
            )
        model = (env.get("AZUCHI_MODEL") or "").strip().lower()
        if talks_to_model and model and model != self.model:
            found.append(
                f"it was built for model {self.model!r} (azuchi package --model {self.model}) "
                f"but the stack's ModelProvider parameter is {model!r} (AZUCHI_MODEL)"
            )
        return found

    def check(self, env: Mapping[str, str], *, talks_to_model: bool) -> None:
        """Raises ``BuildMismatch`` naming the build and the stack when they disagree."""
        found = self.mismatches(env, talks_to_model=talks_to_model)
        wants_mcp = talks_to_model and bool((env.get("AZUCHI_MCP_CONFIG") or "").strip())
        if found:
            raise BuildMismatch(
                f"The {self.function} artefact (azuchi {self.azuchi_version}) does not match "
                f"this stack: {'; and '.join(found)}. Rebuild with "
                f"`make package PROFILE={env.get('AZUCHI_PROFILE') or self.profile} "
                f"MODEL={(env.get('AZUCHI_MODEL') if talks_to_model else None) or self.model}"
                f"{' MCP_CONFIG=<servers file>' if wants_mcp else ''}` and deploy again."
            )
