"""API Gateway's management API (``execute-api``, restJson1): the three @connections calls.

    post_to_connection(ConnectionId, Data)   POST   {endpoint}/@connections/{id}, Data as body
    delete_connection(ConnectionId)          DELETE {endpoint}/@connections/{id}
    get_connection(ConnectionId)             GET    {endpoint}/@connections/{id}

``endpoint`` is the API's https://{apiId}.execute-api.{region}.amazonaws.com/{stage} (the
stage is part of the path, as with the SDK's ``endpoint_url``); the id is percent-encoded
as botocore encodes a URI label.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import quote

from adapters.aws.lite.client import LiteService, metadata


class LiteManagementClient(LiteService):
    def __init__(
        self,
        endpoint: str,
        region: str = "us-east-1",
        *,
        connect_timeout_s: float = 2.0,
        read_timeout_s: float = 5.0,
        max_connections: int = 50,
    ) -> None:
        super().__init__(
            "execute-api",
            region,
            "rest-json",
            connect_timeout_s=connect_timeout_s,
            read_timeout_s=read_timeout_s,
            max_connections=max_connections,
        )
        self.endpoint = endpoint.rstrip("/")

    def _url(self, connection_id: str) -> str:
        return f"{self.endpoint}/@connections/{quote(connection_id.encode(), safe='-._~')}"

    async def post_to_connection(self, *, ConnectionId: str, Data: bytes | str) -> dict[str, Any]:
        body = Data.encode("utf-8") if isinstance(Data, str) else bytes(Data)
        response = await self.send("PostToConnection", "POST", self._url(ConnectionId), {}, body)
        return {"ResponseMetadata": metadata(response)}

    async def delete_connection(self, *, ConnectionId: str) -> dict[str, Any]:
        response = await self.send("DeleteConnection", "DELETE", self._url(ConnectionId), {}, b"")
        return {"ResponseMetadata": metadata(response)}

    async def get_connection(self, *, ConnectionId: str) -> dict[str, Any]:
        response = await self.send("GetConnection", "GET", self._url(ConnectionId), {}, b"")
        body = json.loads(response.body) if response.body.strip() else {}
        result: dict[str, Any] = {}
        for name in ("connectedAt", "lastActiveAt"):
            if isinstance(body.get(name), str):  # botocore: a timestamp, as datetime
                result[name[0].upper() + name[1:]] = datetime.fromisoformat(
                    body[name].replace("Z", "+00:00")
                )
        if isinstance(body.get("identity"), dict):
            identity = body["identity"]
            result["Identity"] = {
                key[0].upper() + key[1:]: identity[key]
                for key in ("sourceIp", "userAgent")
                if key in identity
            }
        result["ResponseMetadata"] = metadata(response)
        return result
