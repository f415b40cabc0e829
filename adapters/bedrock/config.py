"""The Bedrock adapter's settings, read once from the environment mapping of ``Settings``.

The AWS variables are the SDK's own. They are read from the same mapping as every other
setting (``Settings.env``, which is the process environment outside tests) and handed to
the SDK explicitly when present; when absent, botocore's own chain (process environment,
``~/.aws/config`` profiles, container and instance credentials) decides, as it always does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from adapters.model_common import common_model_fields, output_tokens
from adapters.settings import EnvReader, SettingsError

# Claude Sonnet 4.6 through its global cross-Region inference profile: every commercial
# Region can call it, and Claude 4.x models are not served on-demand by bare model id.
# Source: https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-support.html
DEFAULT_MODEL_ID = "global.anthropic.claude-sonnet-4-6"
DEFAULT_REGION = "us-east-1"
MIN_THINKING_BUDGET = 1024  # Claude's smallest extended-thinking budget


@dataclass(frozen=True, slots=True)
class BedrockConfig:
    model_id: str = DEFAULT_MODEL_ID
    max_output_tokens: int = 4096
    temperature: float | None = None  # None: the model's default
    timeout_s: float = 60.0  # connect and read (a read is one wait for the next bytes)
    max_retries: int = 3  # throttling / 5xx, and only before the first event is yielded
    retry_base_s: float = 0.5  # full-jitter backoff: uniform(0, base * 2**retry), capped
    retry_cap_s: float = 8.0
    prompt_cache: bool = True
    thinking_budget_tokens: int = 0  # AZUCHI_THINKING_BUDGET_TOKENS: 0 = extended thinking off
    region: str | None = None  # None: the profile's region, else us-east-1
    endpoint_url: str | None = None  # None: botocore's own resolution
    profile: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> BedrockConfig:
        read = EnvReader(env)

        def text(*keys: str) -> str | None:
            for key in keys:
                value = (env.get(key) or "").strip()
                if value:
                    return value
            return None

        ignore_endpoints = read.bool("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", False)
        common = common_model_fields(env, DEFAULT_MODEL_ID, max_temperature=1.0)
        thinking = read.int("AZUCHI_THINKING_BUDGET_TOKENS", 0, low=0)
        _check_thinking(thinking, common["max_output_tokens"], common["temperature"])
        return cls(
            **common,
            prompt_cache=read.bool("AZUCHI_BEDROCK_PROMPT_CACHE", True),
            thinking_budget_tokens=thinking,
            region=text("AWS_REGION", "AWS_DEFAULT_REGION"),
            # Same precedence as botocore: the service's variable, then the global one.
            endpoint_url=None
            if ignore_endpoints
            else text("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_ENDPOINT_URL"),
            profile=text("AWS_PROFILE"),
            access_key_id=text("AWS_ACCESS_KEY_ID"),
            secret_access_key=text("AWS_SECRET_ACCESS_KEY"),
            session_token=text("AWS_SESSION_TOKEN"),
        )

    def output_tokens(self, requested: int) -> int:
        return output_tokens(self.max_output_tokens, requested)


def _check_thinking(budget: int, max_output_tokens: int, temperature: float | None) -> None:
    """What Claude requires of extended thinking, said at start-up rather than per reply."""
    if not budget:
        return
    if budget < MIN_THINKING_BUDGET:
        raise SettingsError(
            f"AZUCHI_THINKING_BUDGET_TOKENS={budget} must be 0 (off) or at least "
            f"{MIN_THINKING_BUDGET}"
        )
    if budget >= max_output_tokens:
        raise SettingsError(
            f"AZUCHI_THINKING_BUDGET_TOKENS={budget} must be less than "
            f"AZUCHI_MAX_OUTPUT_TOKENS={max_output_tokens}: thinking counts toward the output"
        )
    if temperature is not None:
        raise SettingsError("AZUCHI_TEMPERATURE cannot be set with extended thinking on")
