"""Loads the dated price table (``prices.yaml``) and prices a reply's token usage.

``AZUCHI_PRICES_FILE`` names an override with the same layout; its entries win, models it
does not list fall back to the built-in table, and a model set to ``null`` has no price.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.domain import Usage

BUILT_IN = Path(__file__).with_name("prices.yaml")
# The built-in table already parsed, written beside it by the packager (``azuchi package``):
# a Lambda's init reads it with json instead of importing and running the YAML parser. It
# names the digest of the YAML it was made from and is used only while that still matches.
COMPILED = BUILT_IN.with_name("prices.json")
PER_MILLION = 1_000_000


class PriceTableError(ValueError):
    """The price file cannot be read or has the wrong layout; the message says where."""


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """Dollars per million tokens."""

    input: float
    output: float
    cache_read: float = 0.0
    cache_write: float = 0.0
    context_window: int | None = None  # tokens the model reads at most (prompt + output)

    def cost(self, usage: Usage) -> float:
        total = (
            usage.input_tokens * self.input
            + usage.output_tokens * self.output
            + usage.cache_read_tokens * self.cache_read
            + usage.cache_write_tokens * self.cache_write
        )
        return round(total / PER_MILLION, 8)


@dataclass(frozen=True, slots=True)
class PriceTable:
    as_of: str
    currency: str
    models: Mapping[str, ModelPrice]
    aws: Mapping[str, Mapping[str, float]]
    hours_per_month: float = 730.0

    def model(self, model_id: str) -> ModelPrice | None:
        """The price of ``model_id``: an exact entry, else the longest entry it ends with
        (inference-profile prefixes such as ``us.`` or ``global.``), else the longest entry
        it starts with (dated snapshots such as ``gpt-5-mini-2025-08-07``)."""
        if model_id in self.models:
            return self.models[model_id]
        suffix = [k for k in self.models if model_id.endswith("." + k)]
        if suffix:
            return self.models[max(suffix, key=len)]
        prefix = [k for k in self.models if model_id.startswith(k + "-")]
        if prefix:
            return self.models[max(prefix, key=len)]
        return None

    def reply_cost(self, model_id: str, usage: Usage) -> float | None:
        price = self.model(model_id)
        return None if price is None else price.cost(usage)

    def context_window(self, model_id: str) -> int | None:
        """The model's context window in tokens, when the table lists it."""
        price = self.model(model_id)
        return None if price is None else price.context_window

    def aws_price(self, service: str, item: str) -> float:
        try:
            return float(self.aws[service][item])
        except KeyError:
            raise PriceTableError(f"the price table has no aws.{service}.{item}") from None


def load_price_table(override: str | Path | None = None) -> PriceTable:
    """The built-in table, with ``override`` (a file path) laid over it."""
    data = _read_built_in()
    if override:
        extra = _read(Path(override))
        for key, value in extra.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                merged = dict(data[key])
                for name, entry in value.items():
                    base = merged.get(name)
                    merged[name] = (
                        {**base, **entry}
                        if isinstance(base, dict) and isinstance(entry, dict)
                        else entry
                    )
                data[key] = merged
            else:
                data[key] = value
    return _parse(data, str(override or BUILT_IN))


def _read_built_in() -> dict[str, Any]:
    try:
        compiled = json.loads(COMPILED.read_text(encoding="utf-8"))
        source = BUILT_IN.read_bytes()
    except (OSError, ValueError):
        return _read(BUILT_IN)
    if not isinstance(compiled, dict) or compiled.get("sha256") != _digest(source):
        return _read(BUILT_IN)
    table: dict[str, Any] = compiled["table"]
    return table


def compile_built_in(destination: Path) -> Path:
    """Writes the built-in table, parsed, to ``destination`` (a ``prices.json``)."""
    table = _read(BUILT_IN)
    text = json.dumps({"sha256": _digest(BUILT_IN.read_bytes()), "table": table})
    destination.write_text(text, encoding="utf-8")
    return destination


def _digest(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _read(path: Path) -> dict[str, Any]:
    import yaml  # only where a table is parsed: not at a packaged function's init

    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PriceTableError(f"cannot read the price table {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise PriceTableError(f"the price table {path} is not valid YAML: {exc}") from None
    if not isinstance(loaded, dict):
        raise PriceTableError(f"the price table {path} must be a mapping")
    return loaded


def _parse(data: Mapping[str, Any], where: str) -> PriceTable:
    models: dict[str, ModelPrice] = {}
    for name, entry in _section(data, "models", where).items():
        if entry is None:
            continue  # an override's way to say "no price for this model"
        if not isinstance(entry, dict):
            raise PriceTableError(f"{where}: models.{name} must be a mapping")
        try:
            models[str(name)] = ModelPrice(
                input=float(entry["input"]),
                output=float(entry["output"]),
                cache_read=float(entry.get("cache_read", 0.0)),
                cache_write=float(entry.get("cache_write", 0.0)),
                context_window=None
                if entry.get("context_window") is None
                else int(entry["context_window"]),
            )
        except (KeyError, TypeError, ValueError):
            raise PriceTableError(
                f"{where}: models.{name} needs numbers for input and output "
                "(and optionally cache_read, cache_write), in dollars per million tokens, "
                "and optionally context_window, in tokens"
            ) from None
    aws: dict[str, dict[str, float]] = {}
    for service, items in _section(data, "aws", where).items():
        if not isinstance(items, dict):
            raise PriceTableError(f"{where}: aws.{service} must be a mapping")
        try:
            aws[str(service)] = {str(k): float(v) for k, v in items.items()}
        except (TypeError, ValueError):
            raise PriceTableError(f"{where}: aws.{service} must map names to numbers") from None
    return PriceTable(
        as_of=str(data.get("as_of", "unknown")),
        currency=str(data.get("currency", "USD")),
        models=models,
        aws=aws,
        hours_per_month=float(data.get("hours_per_month", 730)),
    )


def _section(data: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    section = data.get(key) or {}
    if not isinstance(section, dict):
        raise PriceTableError(f"{where}: {key} must be a mapping")
    return section
