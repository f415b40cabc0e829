"""DynamoDB's typed attribute values, and item sizes measured before writing.

Only what azuchi stores: strings, integers, a few finite floats (a reply's cost), booleans,
lists and maps. Numbers are read back as ``int`` or ``float``, never ``Decimal``.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from core.errors import MessageRejected

MAX_ITEM_BYTES = 400 * 1024  # DynamoDB's item limit, names and values together

Attr = dict[str, Any]


def to_attr(value: Any) -> Attr:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(f"cannot store {value} in DynamoDB")
        return {"N": format(Decimal(repr(value)), "f")}  # plain digits, no exponent
    if isinstance(value, str):
        return {"S": value}
    if value is None:
        return {"NULL": True}
    if isinstance(value, dict):
        return {"M": {k: to_attr(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [to_attr(v) for v in value]}
    raise TypeError(f"cannot store {type(value).__name__} in DynamoDB")


def to_item(values: dict[str, Any]) -> dict[str, Attr]:
    """A typed item; attributes whose value is None are left out (absent, not NULL)."""
    return {k: to_attr(v) for k, v in values.items() if v is not None}


def from_attr(attr: Attr) -> Any:
    ((kind, value),) = attr.items()
    if kind == "S" or kind == "BOOL":
        return value
    if kind == "N":
        return int(value) if "." not in value and "e" not in value.lower() else float(value)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: from_attr(v) for k, v in value.items()}
    if kind == "L":
        return [from_attr(v) for v in value]
    raise TypeError(f"unexpected DynamoDB type {kind}")


def from_item(item: dict[str, Attr]) -> dict[str, Any]:
    return {k: from_attr(v) for k, v in item.items()}


def _value_size(attr: Attr) -> int:
    ((kind, value),) = attr.items()
    if kind == "S":
        return len(value.encode("utf-8"))
    if kind == "N":
        digits = value.lstrip("-").replace(".", "").strip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode("utf-8")) + _value_size(v) + 1 for k, v in value.items())
    if kind == "L":
        return 3 + sum(_value_size(v) + 1 for v in value)
    raise TypeError(f"unexpected DynamoDB type {kind}")


def item_size(item: dict[str, Attr]) -> int:
    """The item's size as DynamoDB counts it (names plus values plus container overhead),
    rounded up where DynamoDB's own rule is approximate."""
    return sum(len(name.encode("utf-8")) + _value_size(attr) for name, attr in item.items())


def check_size(item: dict[str, Attr], what: str, limit: int = MAX_ITEM_BYTES) -> None:
    """Refuses an item DynamoDB would refuse, before anything is written."""
    size = item_size(item)
    if size > limit:
        raise MessageRejected(
            f"The {what} is {size:,} bytes as a DynamoDB item; the limit is {limit:,} bytes "
            "(400 KB). Nothing was stored.",
            code="ITEM_TOO_LARGE",
        )
