"""Reading infra/template.yaml for the infra tests: its functions, their policy
statements under a profile's conditions, and the logical ids a value refers to."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from adapters.dynamodb.tables import TEMPLATE, CfnTag, load_template, table_specs

ROOT = TEMPLATE.parents[1]
TEMPLATE_DOC = load_template()
RESOURCES: dict[str, Any] = TEMPLATE_DOC["Resources"]
FUNCTION_RESOURCES = {
    name: r["Properties"]
    for name, r in RESOURCES.items()
    if r["Type"] == "AWS::Serverless::Function"
}
LEAN = {"LeanProfile": True, "RedisProfile": False, "BedrockModel": True}
REDIS = {"LeanProfile": False, "RedisProfile": True, "BedrockModel": True}
TABLE_OF = {s.logical_id: s.base for s in table_specs()}  # logical id -> table base name


def refs(value: Any) -> list[str]:
    """Logical ids a !GetAtt / !Sub / !Ref names."""
    if isinstance(value, CfnTag):
        if value.name == "GetAtt":
            return [str(value.value).split(".")[0]]
        if value.name == "Ref":
            return [str(value.value)]
        if value.name == "Sub":
            return [m.split(".")[0] for m in re.findall(r"\$\{([^}]+)\}", str(value.value))]
    if isinstance(value, list):
        return [ref for item in value for ref in refs(item)]
    return []


def handler_module(props: dict[str, Any]) -> str:
    module, attribute = str(props["Handler"]).rsplit(".", 1)
    assert attribute == "handler"
    return module


def when(value: Any, conditions: dict[str, bool]) -> Any:
    """``value`` with a top-level ``!If`` resolved (None for ``AWS::NoValue``)."""
    if isinstance(value, CfnTag) and value.name == "If":
        condition, when_true, when_false = value.value
        value = when_true if conditions[condition] else when_false
    if isinstance(value, CfnTag) and value.name == "Ref" and value.value == "AWS::NoValue":
        return None
    return value


def statements(props: dict[str, Any], conditions: dict[str, bool]) -> Iterator[dict[str, Any]]:
    for policy in props.get("Policies", []):  # none: only the role's log rights (authorizer)
        for statement in policy["Statement"]:
            if (resolved := when(statement, conditions)) is not None:
                yield resolved
