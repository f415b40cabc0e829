"""Settings: read once from ``AZUCHI_*`` environment variables (DESIGN §6)."""

from __future__ import annotations

import builtins
import logging
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

from adapters.inprocess.scripted_model import ScriptedSettings
from core.config import DEFAULT_MAX_OUTPUT_TOKENS, ChatConfig
from core.services.limits import LimitsConfig, Rate


class SettingsError(ValueError):
    """A setting has a value azuchi cannot use; the message names it."""


# Storage, lock and agent memory with no settings: one local SQLite file, so a user's first
# restart keeps their chats. The in-process adapters (``inprocess``) are for tests and
# experiments; the AWS template names its own.
DURABLE_DEFAULT = "sqlite"
AWS_CLIENTS = ("sdk", "lite")


@dataclass(frozen=True, slots=True)
class Settings:
    storage: str = DURABLE_DEFAULT
    lock: str = DURABLE_DEFAULT
    agent_memory: str = DURABLE_DEFAULT
    limits: str = DURABLE_DEFAULT  # AZUCHI_LIMITS; unset: the lock's adapter
    limit: LimitsConfig = field(default_factory=LimitsConfig)
    model: str = "scripted"
    transport: str = "inprocess"
    launcher: str | None = None  # None: the runtime's own (background locally, inline on Lambda)
    # AZUCHI_AWS_CLIENT: the AWS adapters' client, aioboto3 ("sdk") or the standard-library
    # one ("lite", adapters/aws/lite); each Lambda function's default is in handlers.functions.
    aws_client: str = "sdk"
    stage: str = "local"
    chat: ChatConfig = field(default_factory=ChatConfig)
    scripted: ScriptedSettings = field(default_factory=ScriptedSettings)
    history_items: int = 20  # agent memory keeps the newest N items
    response_id_ttl_s: int = 1_728_000  # 20 days
    message_ttl_s: int = 7 * 86_400
    connection_ttl_s: int = 86_400
    idle_timeout_s: float = 600.0  # API Gateway: 10 minutes
    max_connection_s: float = 7_200.0  # API Gateway: 2 hours
    send_timeout_s: float = 10.0  # local gateway: a client not reading this long is closed
    prices_file: str | None = None  # overrides the built-in price table (adapters/pricing)
    recovery_sweep_s: float = 30.0  # azuchi serve: how often pending sessions are looked for
    title_model_id: str | None = None  # AZUCHI_TITLE_MODEL_ID: a cheaper model for titles
    env: Mapping[str, str] = field(default_factory=dict)  # everything, for adapter options

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        read = EnvReader(env)
        chat = ChatConfig(
            max_message_bytes=read.int("AZUCHI_MAX_MESSAGE_BYTES", 16 * 1024, low=1),
            coalesce_ms=read.int("AZUCHI_COALESCE_MS", 250, low=0),
            lock_lease_ms=read.int("AZUCHI_LOCK_LEASE_MS", 30_000, low=100),
            heartbeat_ms=read.int("AZUCHI_HEARTBEAT_MS", 1_000, low=10),
            history_items=read.int("AZUCHI_HISTORY_ITEMS", 20, low=1),
            history_token_budget=read.int("AZUCHI_HISTORY_TOKEN_BUDGET", 12_000, low=0),
            # Unset: the price table's window for the model (filled in by the root).
            context_window_tokens=read.optional_int("AZUCHI_CONTEXT_WINDOW_TOKENS", low=256),
            max_output_tokens=read.int(
                "AZUCHI_MAX_OUTPUT_TOKENS", DEFAULT_MAX_OUTPUT_TOKENS, low=1
            ),
            max_agent_steps=read.int("AZUCHI_MAX_AGENT_STEPS", 6, low=1),
            tool_timeout_s=read.float("AZUCHI_TOOL_TIMEOUT_S", 20.0, low=0.01),
            approval_tools=frozenset(
                name.strip()
                for name in (env.get("AZUCHI_TOOLS_REQUIRE_APPROVAL") or "").split(",")
                if name.strip()
            ),
            approval_timeout_s=read.float("AZUCHI_APPROVAL_TIMEOUT_S", 900.0, low=1),
            system_prompt=env.get("AZUCHI_SYSTEM_PROMPT") or ChatConfig().system_prompt,
            make_titles=read.bool("AZUCHI_TITLES", True),
            checkpoint_s=read.float("AZUCHI_CHECKPOINT_SECONDS", 5.0, low=0),
            checkpoint_bytes=read.int("AZUCHI_CHECKPOINT_BYTES", 8 * 1024, low=0),
            lock_retry_s=read.float("AZUCHI_LOCK_RETRY_SECONDS", 120.0, low=0),
        )
        if chat.heartbeat_ms * 2 > chat.lock_lease_ms:
            raise SettingsError("AZUCHI_HEARTBEAT_MS must be at most half of AZUCHI_LOCK_LEASE_MS")
        fail_after = read.int("AZUCHI_SCRIPTED_FAIL_AFTER_TOKENS", -1, low=-1)
        scripted = ScriptedSettings(
            tokens_per_second=read.float("AZUCHI_SCRIPTED_TOKENS_PER_SECOND", 50.0, low=0),
            first_token_delay_ms=read.int("AZUCHI_SCRIPTED_FIRST_TOKEN_DELAY_MS", 0, low=0),
            reply_tokens=read.int("AZUCHI_SCRIPTED_REPLY_TOKENS", 120, low=1),
            fail_after_tokens=None if fail_after < 0 else fail_after,
        )
        lock = read.adapter("AZUCHI_LOCK", DURABLE_DEFAULT)
        aws_client = read.name("AZUCHI_AWS_CLIENT", "sdk")
        if aws_client not in AWS_CLIENTS:
            raise SettingsError(
                f"AZUCHI_AWS_CLIENT={aws_client!r} is not one of {', '.join(AWS_CLIENTS)}"
            )
        return cls(
            storage=read.adapter("AZUCHI_STORAGE", DURABLE_DEFAULT),
            lock=lock,
            limits=read.adapter("AZUCHI_LIMITS", lock),
            limit=limits_config(read),
            agent_memory=read.adapter(
                "AZUCHI_AGENT_MEMORY", DURABLE_DEFAULT, old_key="AZUCHI_MEMORY"
            ),
            model=read.name("AZUCHI_MODEL", "scripted"),
            transport=read.adapter("AZUCHI_TRANSPORT", "inprocess"),
            launcher=read.name("AZUCHI_REPLY_LAUNCHER", "") or None,
            aws_client=aws_client,
            stage=env.get("AZUCHI_STAGE") or "local",
            chat=chat,
            scripted=scripted,
            history_items=chat.history_items,
            response_id_ttl_s=read.int("AZUCHI_RESPONSE_ID_TTL_S", 1_728_000, low=1),
            message_ttl_s=read.int("AZUCHI_MESSAGE_TTL_DAYS", 7, low=1) * 86_400,
            connection_ttl_s=read.int("AZUCHI_CONNECTION_TTL_HOURS", 24, low=1) * 3_600,
            idle_timeout_s=read.float("AZUCHI_IDLE_TIMEOUT_S", 600.0, low=0.1),
            max_connection_s=read.float("AZUCHI_MAX_CONNECTION_S", 7_200.0, low=0.1),
            send_timeout_s=read.float("AZUCHI_SEND_TIMEOUT_S", 10.0, low=0.01),
            prices_file=env.get("AZUCHI_PRICES_FILE") or None,
            recovery_sweep_s=read.float("AZUCHI_RECOVERY_SWEEP_SECONDS", 30.0, low=0),
            title_model_id=(env.get("AZUCHI_TITLE_MODEL_ID") or "").strip() or None,
            env=env,
        )


def limits_config(read: EnvReader) -> LimitsConfig:
    """``AZUCHI_LIMIT_*``: each limit's setting, 0 for off (docs/limits.md)."""
    d = LimitsConfig()

    def rate(name: str, default: Rate) -> Rate:
        per_minute = read.int(f"AZUCHI_LIMIT_{name}_PER_MINUTE", default.per_minute, low=0)
        burst_key = f"AZUCHI_LIMIT_{name.removesuffix('_MESSAGES')}_BURST"
        return Rate(per_minute, read.int(burst_key, default.burst, low=1))

    return LimitsConfig(
        connection_messages=rate("CONNECTION_MESSAGES", d.connection_messages),
        session_messages=rate("SESSION_MESSAGES", d.session_messages),
        queued_messages=read.int("AZUCHI_LIMIT_QUEUED_MESSAGES", d.queued_messages, low=0),
        new_sessions=rate("NEW_SESSIONS", d.new_sessions),
        concurrent_replies=read.int("AZUCHI_LIMIT_CONCURRENT_REPLIES", d.concurrent_replies, low=0),
        session_tokens_per_day=read.int(
            "AZUCHI_LIMIT_SESSION_TOKENS_PER_DAY", d.session_tokens_per_day, low=0
        ),
        spend_per_day_usd=read.float("AZUCHI_LIMIT_SPEND_PER_DAY_USD", d.spend_per_day_usd, low=0),
    )


def deprecated(what: str) -> None:
    """Warns once per call site and logs, so that ``azuchi serve`` users see it too."""
    message = f"{what}; the old name goes in the next release"
    warnings.warn(message, DeprecationWarning, stacklevel=3)
    logging.getLogger("azuchi").warning("deprecated setting: %s", message)


class EnvReader:
    """Reads typed values from an environment mapping; errors name the variable."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def _raw(self, name: str) -> str | None:
        value = self._env.get(name)
        return value.strip() if value is not None and value.strip() else None

    def name(self, key: str, default: str) -> str:
        return (self._raw(key) or default).lower()

    def adapter(self, key: str, default: str, old_key: str | None = None) -> str:
        """An adapter name; the names of the previous release still work, with a warning:
        ``memory`` for ``inprocess`` and ``AZUCHI_MEMORY`` for ``AZUCHI_AGENT_MEMORY``."""
        read_key = key
        if self._raw(key) is None and old_key is not None and self._raw(old_key) is not None:
            deprecated(f"{old_key} is now {key}")
            read_key = old_key
        value = self.name(read_key, default)
        if value == "memory":
            deprecated(f"{read_key}=memory is now {key}=inprocess")
            return "inprocess"
        return value

    def int(self, key: str, default: int, low: int) -> int:
        raw = self._raw(key)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(f"{key}={raw!r} is not an integer") from None
        if value < low:
            raise SettingsError(f"{key}={value} must be at least {low}")
        return value

    def optional_int(self, key: str, low: builtins.int) -> builtins.int | None:
        return None if self._raw(key) is None else self.int(key, 0, low)

    def float(self, key: str, default: float, low: float) -> float:
        raw = self._raw(key)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise SettingsError(f"{key}={raw!r} is not a number") from None
        if value < low:
            raise SettingsError(f"{key}={value} must be at least {low}")
        return value

    def bool(self, key: str, default: bool) -> bool:
        raw = self._raw(key)
        if raw is None:
            return default
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{key}={raw!r} is not a boolean (true/false)")
