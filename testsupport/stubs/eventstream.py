"""An encoder for AWS event-stream messages (``application/vnd.amazon.eventstream``), the
framing of Bedrock's ConverseStream, written from the format itself so that the stub does
not borrow the decoder it is meant to test.

    message  = prelude, headers, payload, message CRC
    prelude  = total length (uint32 BE), headers length (uint32 BE), prelude CRC (uint32 BE)
    header   = name length (uint8), name (UTF-8), type (uint8; 7 = string),
               value length (uint16 BE), value (UTF-8)
    CRCs     = CRC-32 (IEEE): the prelude CRC covers the first 8 bytes, the message CRC
               every byte before it (prelude CRC included)
"""

from __future__ import annotations

import binascii
import json
import struct
from collections.abc import Mapping
from typing import Any

STRING_HEADER = 7
PRELUDE_BYTES = 12
CRC_BYTES = 4
# Bedrock pads every event's JSON with a "p" member of arbitrary letters so that the size of
# an encrypted frame does not reveal the size of the text in it; clients ignore it.
PADDING = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def encode_headers(headers: Mapping[str, str]) -> bytes:
    out = bytearray()
    for name, value in headers.items():
        raw_name, raw_value = name.encode(), value.encode()
        out += struct.pack(">B", len(raw_name)) + raw_name
        out += struct.pack(">BH", STRING_HEADER, len(raw_value)) + raw_value
    return bytes(out)


def encode_message(headers: Mapping[str, str], payload: bytes) -> bytes:
    raw_headers = encode_headers(headers)
    total = PRELUDE_BYTES + len(raw_headers) + len(payload) + CRC_BYTES
    prelude = struct.pack(">II", total, len(raw_headers))
    prelude += struct.pack(">I", binascii.crc32(prelude))
    body = prelude + raw_headers + payload
    return body + struct.pack(">I", binascii.crc32(body))


def event(event_type: str, body: Mapping[str, Any], padding: int = 0) -> bytes:
    """An event message, its JSON padded the way Bedrock pads it."""
    data = dict(body)
    if padding:
        data["p"] = (PADDING * (padding // len(PADDING) + 1))[:padding]
    headers = {
        ":event-type": event_type,
        ":content-type": "application/json",
        ":message-type": "event",
    }
    return encode_message(headers, json.dumps(data, separators=(",", ":")).encode())


def exception(exception_type: str, message: str, **extra: Any) -> bytes:
    """An exception message: ``exception_type`` is the event stream's member name
    (``throttlingException``, ``modelStreamErrorException`` ...)."""
    headers = {
        ":exception-type": exception_type,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    payload = json.dumps({"message": message, **extra}, separators=(",", ":")).encode()
    return encode_message(headers, payload)
