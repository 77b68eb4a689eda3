"""Real servers on loopback for the tests: an HTTP feed server and an aiosmtpd SMTP server."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller

from digest.loopback import free_port


@dataclass
class Route:
    body: bytes
    status: int = 200
    content_type: str = "application/rss+xml; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha1(self.body).hexdigest()[:16] + '"'


class FeedHTTPServer:
    """Serves routes set by the test; honours If-None-Match with 304; records every request."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

            def do_GET(self) -> None:  # noqa: N802
                server.requests.append((self.path, dict(self.headers.items())))
                route = server.routes.get(self.path)
                if route is None:
                    self.send_error(404)
                    return
                if route.status == 200 and self.headers.get("If-None-Match") == route.etag:
                    self.send_response(304)
                    self.send_header("ETag", route.etag)
                    self.end_headers()
                    return
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(len(route.body)))
                if route.status == 200:
                    self.send_header("ETag", route.etag)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(route.body)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def serve_file(self, path: str, file: Path, **kwargs: object) -> str:
        self.routes[path] = Route(body=file.read_bytes(), **kwargs)  # type: ignore[arg-type]
        return self.url(path)

    def url(self, path: str) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}{path}"

    def requests_for(self, path: str) -> list[dict[str, str]]:
        return [headers for p, headers in self.requests if p == path]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class RecordingHandler:
    """Accepts messages and keeps them. Recipients in ``refuse`` get a 550 at RCPT; a message
    to a recipient in ``drop`` has its connection closed before the reply to DATA.

    Fault injection: ``faults[recipient]`` is a list of what the next attempts for that
    recipient get, one per attempt, then it is accepted: an SMTP reply to RCPT ("421 ...",
    "451 ...", "452 ...", "550 ..."), "drop" (connection closed before the DATA reply) or
    "stall" (no DATA reply for ``stall_seconds``, past the client's timeout; not accepted).
    ``delay`` slows every DATA reply down (a slow relay). A 421 closes the connection.
    With ``hold_after`` set, messages beyond that many wait before their DATA reply until
    ``release`` is set: the relay stalls while the test does something to the sender.
    """

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.refuse: set[str] = set()
        self.drop: set[str] = set()
        self.faults: dict[str, list[str]] = {}
        self.stall_seconds = 3.0
        self.delay = 0.0
        #: Connections greeted (EHLO), to see reconnects.
        self.connections = 0
        #: Every fault answered, as (recipient, fault).
        self.injected: list[tuple[str, str]] = []
        self.hold_after: int | None = None
        self.release = threading.Event()
        self._holding = 0
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        with self._lock:
            self.connections += 1
            self._arrived.notify_all()
        session.host_name = hostname
        return responses

    def _next_fault(self, address: str, stage: str) -> str | None:
        with self._lock:
            queue = self.faults.get(address)
            if not queue:
                return None
            fault = queue[0]
            at_data = fault in ("drop", "stall")
            if at_data != (stage == "data"):
                return None
            queue.pop(0)
            self.injected.append((address, fault))
            return fault

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        fault = self._next_fault(address, "rcpt")
        if fault is not None:
            if fault.startswith("421"):
                await server.push(fault)
                server.transport.close()
            return fault
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.delay:
            await asyncio.sleep(self.delay)
        with self._lock:
            held = self.hold_after is not None and len(self.messages) >= self.hold_after
            self._holding += held
        if not held:
            return await self._data(server, envelope)
        try:
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 60)
            return await self._data(server, envelope)
        finally:
            with self._lock:
                self._holding -= 1
                self._arrived.notify_all()

    async def _data(self, server, envelope) -> str:
        if self.drop & set(envelope.rcpt_tos):
            server.transport.close()
            return "421 4.3.0 going away"  # never reaches the client: the connection is gone
        for rcpt in envelope.rcpt_tos:
            fault = self._next_fault(rcpt, "data")
            if fault == "drop":
                server.transport.close()
                return "421 4.3.0 going away"
            if fault == "stall":
                await asyncio.sleep(self.stall_seconds)
                server.transport.close()
                return "421 4.3.0 too late"
        with self._lock:
            self.messages.append(
                (envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
            )
            self._arrived.notify_all()
        return "250 2.0.0 queued"

    def release_held(self, timeout: float = 60.0) -> bool:
        """Let held messages through and wait until each has its answer."""
        self.release.set()
        with self._arrived:
            return self._arrived.wait_for(lambda: self._holding == 0, timeout)

    def wait_for(self, count: int, timeout: float = 60.0) -> bool:
        """Wait until ``count`` messages have been accepted; False if ``timeout`` ran out."""
        with self._arrived:
            return self._arrived.wait_for(lambda: len(self.messages) >= count, timeout)

    def wait_for_connections(self, count: int, timeout: float = 60.0) -> bool:
        """Wait until ``count`` connections have been greeted; False if ``timeout`` ran out."""
        with self._arrived:
            return self._arrived.wait_for(lambda: self.connections >= count, timeout)

    def parsed(self) -> list[EmailMessage]:
        return [
            BytesParser(policy=default_policy).parsebytes(data)  # type: ignore[misc]
            for _, _, data in self.messages
        ]

    def recipients(self) -> list[str]:
        return [rcpt for _, rcpts, _ in self.messages for rcpt in rcpts]

    def message_ids(self) -> list[str]:
        """The Message-ID of every accepted message, in order."""
        ids = []
        for _, _, data in list(self.messages):
            head = data.split(b"\r\n\r\n", 1)[0]
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"message-id:"):
                    ids.append(line.split(b":", 1)[1].strip().decode())
        return ids


class SmtpServer:
    def __init__(self) -> None:
        self.handler = RecordingHandler()
        self.port = free_port()
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()
