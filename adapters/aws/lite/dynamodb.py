"""DynamoDB's JSON 1.0 protocol: every operation the adapters call, as the SDK's client
offers it (``await client.put_item(TableName=..., Item=...)``), answering the same dicts.

Requests and answers are DynamoDB JSON as botocore passes them, except blobs: a ``B`` (or
each of a ``BS``) goes out base64-encoded from bytes (a str is UTF-8 encoded first, as
botocore does) and comes back as bytes. Where attribute values sit in requests and answers
is written out below (``REQUEST``, ``RESPONSE``), for every operation at once, with the
few keys whose shape differs by operation (``RequestItems``, ``Responses``,
``ItemCollectionMetrics``). Numbers stay strings, as with botocore.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from typing import Any

from adapters.aws.lite.client import LiteService, metadata, service_endpoint
from adapters.aws.lite.errors import AwsConnectionError, AwsError, LiteClientError

TARGET_PREFIX = "DynamoDB_20120810"
CONTENT_TYPE = "application/x-amz-json-1.0"

# Shapes: AV an AttributeValue; AMAP name -> AV; [s] a list of s; ("map", s) key -> s;
# a dict a structure whose listed members have those shapes (others pass as they are).
AV = "AV"
AMAP = "AMAP"
Shape = Any

_KEYED = {"Key": AMAP, "ExpressionAttributeValues": AMAP}
_CONDITION = {"AttributeValueList": [AV], "Value": AV}
_WRITE_REQUEST = {"PutRequest": {"Item": AMAP}, "DeleteRequest": {"Key": AMAP}}
_COLLECTION = {"ItemCollectionKey": AMAP}
REQUEST: dict[str, Shape] = {
    "Item": AMAP,
    "Key": AMAP,
    "ExpressionAttributeValues": AMAP,
    "ExclusiveStartKey": AMAP,
    "Expected": ("map", _CONDITION),
    "AttributeUpdates": ("map", {"Value": AV}),
    "KeyConditions": ("map", _CONDITION),
    "QueryFilter": ("map", _CONDITION),
    "ScanFilter": ("map", _CONDITION),
    "Parameters": [AV],
    "TransactItems": [
        {
            "Get": {"Key": AMAP},
            "Put": {"Item": AMAP, "ExpressionAttributeValues": AMAP},
            "Update": _KEYED,
            "Delete": _KEYED,
            "ConditionCheck": _KEYED,
        }
    ],
}
RESPONSE: dict[str, Shape] = {
    "Item": AMAP,
    "Attributes": AMAP,
    "LastEvaluatedKey": AMAP,
    "Items": [AMAP],
    "ItemCollectionMetrics": _COLLECTION,
    "CancellationReasons": [{"Item": AMAP}],
    "UnprocessedKeys": ("map", {"Keys": [AMAP]}),
    "UnprocessedItems": ("map", [_WRITE_REQUEST]),
}
REQUEST_BY_OPERATION: dict[str, dict[str, Shape]] = {
    "BatchGetItem": {"RequestItems": ("map", {"Keys": [AMAP]})},
    "BatchWriteItem": {"RequestItems": ("map", [_WRITE_REQUEST])},
}
RESPONSE_BY_OPERATION: dict[str, dict[str, Shape]] = {
    "BatchGetItem": {"Responses": ("map", [AMAP])},
    "TransactGetItems": {"Responses": [{"Item": AMAP}]},
    "BatchWriteItem": {"ItemCollectionMetrics": ("map", [_COLLECTION])},
    "TransactWriteItems": {"ItemCollectionMetrics": ("map", [_COLLECTION])},
}


def operation_name(method: str) -> str:
    """``transact_write_items`` -> ``TransactWriteItems``."""
    return "".join(part.capitalize() for part in method.split("_"))


class LiteDynamoClient(LiteService):
    """``await client.<operation>(**params)`` for any DynamoDB operation (snake_case)."""

    def __init__(
        self,
        endpoint: str | None = None,
        region: str = "us-east-1",
        *,
        connect_timeout_s: float = 3.0,
        read_timeout_s: float = 10.0,
        max_connections: int = 50,
    ) -> None:
        super().__init__(
            "dynamodb",
            region,
            "json",
            connect_timeout_s=connect_timeout_s,
            read_timeout_s=read_timeout_s,
            max_connections=max_connections,
        )
        self.endpoint = (endpoint or service_endpoint("dynamodb", "DYNAMODB", region)).rstrip("/")

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_"):
            raise AttributeError(method)
        operation = operation_name(method)

        async def call(**params: Any) -> dict[str, Any]:
            return await self.call(operation, params)

        call.__name__ = method
        return call

    async def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        shape = {**REQUEST, **REQUEST_BY_OPERATION.get(operation, {})}
        body = json.dumps(_walk(params, shape, _encode_value), separators=(",", ":"))
        headers = {
            "Content-Type": CONTENT_TYPE,
            "X-Amz-Target": f"{TARGET_PREFIX}.{operation}",
        }
        out_shape = {**RESPONSE, **RESPONSE_BY_OPERATION.get(operation, {})}
        try:
            response = await self.send(
                operation, "POST", self.endpoint + "/", headers, body.encode()
            )
        except AwsError as error:
            error.response = _walk(error.response, out_shape, _decode_value)
            raise
        crc = response.headers.get("x-amz-crc32")
        if crc is not None and crc.isdigit() and int(crc) != zlib.crc32(response.body):
            raise AwsConnectionError(f"DynamoDB's {operation} answer failed its CRC32 check")
        try:
            parsed = json.loads(response.body) if response.body.strip() else {}
        except ValueError as exc:
            raise AwsConnectionError(f"DynamoDB's {operation} answer is not JSON") from exc
        result: dict[str, Any] = _walk(parsed, out_shape, _decode_value)
        result["ResponseMetadata"] = metadata(response)
        return result


def _walk(value: Any, shape: Shape, convert: Any) -> Any:
    if shape == AV:
        return convert(value)
    if shape == AMAP:
        if isinstance(value, dict):
            return {name: convert(v) for name, v in value.items()}
        return value
    if isinstance(shape, list):
        return [_walk(v, shape[0], convert) for v in value] if isinstance(value, list) else value
    if isinstance(shape, tuple):
        if isinstance(value, dict):
            return {k: _walk(v, shape[1], convert) for k, v in value.items()}
        return value
    if isinstance(shape, dict) and isinstance(value, dict):
        return {k: _walk(v, shape[k], convert) if k in shape else v for k, v in value.items()}
    return value


def _encode_value(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    out = {}
    for kind, inner in value.items():
        if kind == "B":
            inner = _blob_out(inner)
        elif kind == "BS" and isinstance(inner, list | tuple | set | frozenset):
            inner = [_blob_out(b) for b in inner]
        elif kind == "M" and isinstance(inner, dict):
            inner = {k: _encode_value(v) for k, v in inner.items()}
        elif kind == "L" and isinstance(inner, list | tuple):
            inner = [_encode_value(v) for v in inner]
        elif kind in ("SS", "NS") and isinstance(inner, set | frozenset | tuple):
            inner = list(inner)
        out[kind] = inner
    return out


def _blob_out(value: Any) -> str:
    if isinstance(value, str):
        value = value.encode("utf-8")
    if not isinstance(value, bytes | bytearray | memoryview):
        raise LiteClientError(f"a DynamoDB binary value must be bytes, not {type(value).__name__}")
    return base64.b64encode(bytes(value)).decode("ascii")


def _decode_value(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    out = {}
    for kind, inner in value.items():
        if kind == "B" and isinstance(inner, str):
            inner = _blob_in(inner)
        elif kind == "BS" and isinstance(inner, list):
            inner = [_blob_in(b) for b in inner]
        elif kind == "M" and isinstance(inner, dict):
            inner = {k: _decode_value(v) for k, v in inner.items()}
        elif kind == "L" and isinstance(inner, list):
            inner = [_decode_value(v) for v in inner]
        out[kind] = inner
    return out


def _blob_in(text: str) -> bytes:
    try:
        return base64.b64decode(text)
    except (binascii.Error, ValueError) as exc:
        raise AwsConnectionError("DynamoDB answered a binary value that is not base64") from exc
