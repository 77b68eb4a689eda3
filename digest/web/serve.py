"""`digest web`'s own listening socket, so a bad or busy address is one line, not a server's
multi-line message and exit (Werkzeug prints its own when it binds)."""

from __future__ import annotations

import socket

from flask import Flask
from werkzeug.serving import get_sockaddr, make_server, select_address_family

from digest.errors import UsageError


def listen(host: str, port: int) -> socket.socket:
    """A socket bound and listening on ``host:port``; a UsageError when that cannot be."""
    if not 1 <= port <= 65535:
        raise UsageError(f"port must be between 1 and 65535, not {port}")
    family = select_address_family(host, port)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(get_sockaddr(host, port, family))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return sock


def serve_forever(site: Flask, sock: socket.socket) -> None:
    """Serve ``site`` on ``sock`` (threaded) until Ctrl-C."""
    host, port = sock.getsockname()[:2]
    server = make_server(host, port, site, threaded=True, fd=sock.fileno())
    sock.close()  # the server holds its own copy of the socket
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
