"""Servers on the loopback interface for the demo (and the tests): feed files over HTTP and an
SMTP server (aiosmtpd) that saves every message it accepts as an .eml file."""

from __future__ import annotations

import functools
import socket
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import Envelope, Session


class _QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def guess_type(self, path: Any) -> str:
        if str(path).endswith(".xml"):
            return "application/rss+xml; charset=utf-8"
        return super().guess_type(path)


class _Server(ThreadingHTTPServer):
    # The default backlog of 5 drops connections when a fetch opens 8 at once (a 1 s SYN retry).
    request_queue_size = 128
    daemon_threads = True


class FeedServer:
    """Serves the files of a folder on 127.0.0.1 (with Last-Modified / 304 support)."""

    def __init__(self, folder: Path) -> None:
        handler = functools.partial(_QuietFiles, directory=str(folder))
        self._server = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def url(self, name: str) -> str:
        return f"{self.base_url}/{name}"

    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


class _SaveToFolder:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.saved: list[Path] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        with self._lock:
            for recipient in envelope.rcpt_tos:
                number = len(self.saved) + 1
                safe = "".join(c if c.isalnum() or c in "@.-_" else "_" for c in recipient)
                path = self.folder / f"{number:03d}-{safe}.eml"
                path.write_bytes(data)
                self.saved.append(path)
        return "250 2.0.0 Message accepted for delivery"


class SmtpSink:
    """A real SMTP server on 127.0.0.1 that writes each accepted message to ``folder``."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.handler = _SaveToFolder(folder)
        self.port = free_port()
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def saved(self) -> list[Path]:
        return list(self.handler.saved)

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
