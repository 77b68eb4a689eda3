"""`digest preview --serve`: run the editor's desk on a local address until interrupted."""

from __future__ import annotations

import secrets
import socket
from collections.abc import Callable
from datetime import date

from werkzeug.serving import make_server

from digest.app import App
from digest.errors import UsageError
from digest.web.desk import LOCAL_HOSTS, create_desk_app

__all__ = ["serve_desk"]


def serve_desk(
    app: App,
    *,
    host: str = "127.0.0.1",
    port: int = 8025,
    day: date | None = None,
    echo: Callable[[str], None] = print,
) -> None:
    """Serve the desk on ``host:port``. Bound to a non-local address, it accepts any Host."""
    local = host in LOCAL_HOSTS
    desk = create_desk_app(
        app, csrf_token=secrets.token_urlsafe(32), allowed_hosts=LOCAL_HOSTS if local else None
    )
    # Bind here: werkzeug would print its own message and exit on a busy port.
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.create_server((host, port), family=family)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    server = make_server(host, port, desk, threaded=False, fd=listener.fileno())
    shown = f"[{host}]" if ":" in host else host
    path = f"/edition/{day.isoformat()}" if day else "/"
    echo(f"Editor's desk on http://{shown}:{server.port}{path} (Ctrl-C to stop)")
    if not local:
        echo("warning: the desk is reachable from other machines; it has no login")
    try:
        server.serve_forever()
    finally:
        server.server_close()
        listener.close()
