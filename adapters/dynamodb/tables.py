"""The DynamoDB tables, from their one source: the ``AWS::DynamoDB::Table`` resources of
``infra/template.yaml``.

The adapters need only names (tables, indexes, key attributes); they are constants here and
``table_specs`` refuses a template whose keys differ from them, so the code, the template
and the tables ``azuchi tables create`` makes cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "template.yaml"
DEFAULT_PREFIX = "azuchi-local-"

SESSIONS = "sessions"
CONNECTIONS = "connections"
MESSAGES = "messages"
LOCKS = "locks"
AGENT_MEMORY = "agent_memory"
LIMITS = "limits"
BY_SESSION = "bySession"  # connections GSI: fan a reply out to a session's connections
# Sparse GSIs of signed-in users only: a user's connections, and (on sessions, with
# createdAt) a user's sessions newest first for listSessions.
BY_USER = "byUser"
TTL_ATTRIBUTE = "expireAt"

# What the adapters rely on: (attribute, type) of each key, hash first; GSIs by name.
EXPECTED_KEYS: dict[str, tuple[tuple[str, str], ...]] = {
    SESSIONS: (("sessionId", "S"),),
    CONNECTIONS: (("connectionId", "S"),),
    MESSAGES: (("sessionId", "S"), ("createdAt", "N")),
    LOCKS: (("sessionId", "S"),),
    AGENT_MEMORY: (("sessionId", "S"), ("kind", "S")),
    LIMITS: (("counterKey", "S"),),
}
EXPECTED_INDEXES: dict[str, dict[str, tuple[str, ...]]] = {
    SESSIONS: {BY_USER: ("userId", "createdAt")},
    CONNECTIONS: {BY_SESSION: ("sessionId",), BY_USER: ("userId",)},
}
EXPECTED_TTL = {SESSIONS, CONNECTIONS, MESSAGES, LOCKS, AGENT_MEMORY, LIMITS}


@dataclass(frozen=True, slots=True)
class TableNames:
    """Full table names: ``AZUCHI_TABLE_PREFIX`` + base name."""

    prefix: str = DEFAULT_PREFIX

    def name(self, base: str) -> str:
        return f"{self.prefix}{base}"

    @property
    def sessions(self) -> str:
        return self.name(SESSIONS)

    @property
    def connections(self) -> str:
        return self.name(CONNECTIONS)

    @property
    def messages(self) -> str:
        return self.name(MESSAGES)

    @property
    def locks(self) -> str:
        return self.name(LOCKS)

    @property
    def agent_memory(self) -> str:
        return self.name(AGENT_MEMORY)

    @property
    def limits(self) -> str:
        return self.name(LIMITS)


@dataclass(frozen=True, slots=True)
class CfnTag:
    """A CloudFormation intrinsic (``!Sub``, ``!If``, ``!Ref`` ...), kept as data."""

    name: str
    value: Any


@dataclass(frozen=True, slots=True)
class TableSpec:
    base: str  # e.g. "messages"
    logical_id: str  # e.g. "MessagesTable"
    properties: dict[str, Any]

    @property
    def ttl_attribute(self) -> str | None:
        ttl = self.properties.get("TimeToLiveSpecification") or {}
        return ttl.get("AttributeName") if ttl.get("Enabled") is True else None

    def create_table_args(self, names: TableNames) -> dict[str, Any]:
        """CreateTable parameters. Deployment-only properties (SSE, PITR, tags) are left to
        CloudFormation: DynamoDB encrypts every table at rest regardless."""
        p = self.properties
        args: dict[str, Any] = {
            "TableName": names.name(self.base),
            "AttributeDefinitions": p["AttributeDefinitions"],
            "KeySchema": p["KeySchema"],
            "BillingMode": p.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if p.get("GlobalSecondaryIndexes"):
            args["GlobalSecondaryIndexes"] = [
                {k: v for k, v in gsi.items() if k in ("IndexName", "KeySchema", "Projection")}
                for gsi in p["GlobalSecondaryIndexes"]
            ]
        return args


def _loader() -> Any:
    """A SafeLoader subclass that reads CloudFormation's short-form tags as ``CfnTag``."""
    import yaml

    cfn_loader: Any = type("CfnLoader", (yaml.SafeLoader,), {})

    def tag(loader: Any, suffix: str, node: Any) -> CfnTag:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return CfnTag(suffix, value)

    cfn_loader.add_multi_constructor("!", tag)
    return cfn_loader


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    import yaml

    # a SafeLoader subclass: only plain data and CfnTag come out
    document: dict[str, Any] = yaml.load(path.read_text(encoding="utf-8"), Loader=_loader())
    return document


def _base_name(logical_id: str, table_name: Any) -> str:
    if isinstance(table_name, CfnTag) and table_name.name == "Sub":
        text = str(table_name.value)
        if text.startswith("${TablePrefix}") and "$" not in text[len("${TablePrefix}") :]:
            return text[len("${TablePrefix}") :]
    raise ValueError(f'{logical_id}: TableName must be !Sub "${{TablePrefix}}<name>"')


def table_specs(path: Path = TEMPLATE) -> list[TableSpec]:
    """The template's tables; raises ValueError when they differ from what the code expects."""
    resources = load_template(path).get("Resources", {})
    specs = [
        TableSpec(
            _base_name(logical_id, r["Properties"].get("TableName")), logical_id, r["Properties"]
        )
        for logical_id, r in resources.items()
        if r.get("Type") == "AWS::DynamoDB::Table"
    ]
    problems = drift(specs)
    if problems:
        raise ValueError(f"{path} and adapters/dynamodb/tables.py disagree: " + "; ".join(problems))
    return specs


def drift(specs: list[TableSpec]) -> list[str]:
    """Every difference between the template's tables and what the adapters rely on."""
    problems: list[str] = []
    by_base = {s.base: s for s in specs}
    for base, keys in EXPECTED_KEYS.items():
        spec = by_base.get(base)
        if spec is None:
            problems.append(f"table {base} missing")
            continue
        types = {
            a["AttributeName"]: a["AttributeType"] for a in spec.properties["AttributeDefinitions"]
        }
        schema = tuple(
            (k["AttributeName"], types.get(k["AttributeName"], "?"))
            for k in spec.properties["KeySchema"]
        )
        if schema != keys:
            problems.append(f"{base} keys are {schema}, the code expects {keys}")
        indexes = {
            g["IndexName"]: tuple(k["AttributeName"] for k in g["KeySchema"])
            for g in spec.properties.get("GlobalSecondaryIndexes") or []
        }
        if indexes != EXPECTED_INDEXES.get(base, {}):
            problems.append(
                f"{base} indexes are {indexes}, expected {EXPECTED_INDEXES.get(base, {})}"
            )
        if (spec.ttl_attribute == TTL_ATTRIBUTE) != (base in EXPECTED_TTL):
            problems.append(f"{base} TTL attribute is {spec.ttl_attribute}")
    return problems
