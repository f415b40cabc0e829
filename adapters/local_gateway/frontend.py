"""The frontend's files, ``/config.json`` (where to connect) and ``/healthz``."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from aiohttp import web

DEFAULT_FRONTEND_DIR = Path(__file__).resolve().parents[2] / "frontend"
NO_CACHE = {"Cache-Control": "no-cache"}  # local edits show on the next reload
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
}


class Frontend:
    def __init__(self, root: Path, stage: str) -> None:
        self._root = root.resolve()
        self._stage = stage

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Registers the catch-all file route: add it after every other route."""
        router.add_get("/healthz", self.healthz)
        router.add_get("/config.json", self.config)
        router.add_get("/", self.index)
        router.add_get("/{path:.+}", self.file)

    async def healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def config(self, request: web.Request) -> web.Response:
        """The WebSocket URL as the browser reached this server (so it works from any host)."""
        https = request.secure or request.headers.get("X-Forwarded-Proto") == "https"
        scheme = "wss" if https else "ws"
        return web.json_response(
            {"websocketUrl": f"{scheme}://{request.host}/{self._stage}"}, headers=NO_CACHE
        )

    async def index(self, request: web.Request) -> web.StreamResponse:
        return self._serve(self._root / "index.html")

    async def file(self, request: web.Request) -> web.StreamResponse:
        path = (self._root / request.match_info["path"]).resolve()
        if not path.is_relative_to(self._root):
            raise web.HTTPNotFound()
        if path.is_dir():
            path = path / "index.html"
        return self._serve(path)

    def _serve(self, path: Path) -> web.StreamResponse:
        if not path.is_file():
            raise web.HTTPNotFound(text="Not found\n")  # no server path in it
        content_type = CONTENT_TYPES.get(path.suffix.lower())
        if content_type is None:
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return web.FileResponse(path, headers={**NO_CACHE, "Content-Type": content_type})
