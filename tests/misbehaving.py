"""A real loopback HTTP server whose routes are functions: for servers that misbehave
(slow, endless, lying about sizes, redirect loops...), which a fixed-body route cannot do."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Handler = Callable[[BaseHTTPRequestHandler], None]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64


class MisbehavingServer:
    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.hits: list[str] = []
        self.stop_event = threading.Event()
        server = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

            def do_GET(self) -> None:  # noqa: N802
                server.hits.append(self.path)
                route = server.routes.get(self.path)
                if route is None:
                    self.send_error(404)
                    return
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    route(self)  # a client that gives up, as it should, breaks the pipe

        self._httpd = _Server(("127.0.0.1", 0), RequestHandler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}{path}"

    def count(self, path: str) -> int:
        return self.hits.count(path)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self._httpd.shutdown()
        self._httpd.server_close()


def respond(
    body: bytes,
    status: int = 200,
    content_type: str = "application/rss+xml",
    headers: dict[str, str] | None = None,
) -> Handler:
    def handle(request: BaseHTTPRequestHandler) -> None:
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(body)

    return handle


def redirect(location: str, status: int = 301) -> Handler:
    return respond(b"", status=status, content_type="text/plain", headers={"Location": location})
