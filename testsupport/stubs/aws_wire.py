"""An HTTP server that answers AWS calls with scripted wire answers (status, headers, body,
delay), and records each request, for testing both AWS clients' error handling alike."""

from __future__ import annotations

import http.server
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    hang_up: bool = False  # close the connection after answering, without saying so


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class WireStub:
    """``answers`` are served in order, the last one again and again."""

    def __init__(self) -> None:
        self.answers: list[Answer] = [Answer(200, b"{}")]
        self.requests: list[Seen] = []
        self.connections = 0
        self.url = ""

    def script(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests.clear()

    def _next(self) -> Answer:
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


@contextmanager
def serving_wire(tls: ssl.SSLContext | None = None) -> Iterator[WireStub]:
    """The stub on a free port of 127.0.0.1; HTTPS with ``tls`` (a server context)."""
    stub = WireStub()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            stub.connections += 1

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            stub.requests.append(
                Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            answer = stub._next()
            if answer.delay_s:
                time.sleep(answer.delay_s)
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)
            if answer.hang_up:
                self.close_connection = True

        do_GET = do_POST = do_DELETE = _answer

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    if tls is not None:  # by name: the certificate is localhost's
        server.socket = tls.wrap_socket(server.socket, server_side=True)
        stub.url = f"https://localhost:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
