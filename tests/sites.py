"""What the web tests share: a start time, and the site on a workspace's database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from flask.testing import FlaskClient

from digest.app import App, make_app
from digest.config import load_settings
from tests.clocks import Clock
from tests.conftest import Workspace

T0 = datetime(2025, 6, 2, 6, 0, tzinfo=UTC)


@contextmanager
def web_site(workspace: Workspace, clock: Clock) -> Iterator[tuple[App, FlaskClient]]:
    """The application on the workspace's database and a test client of its web site."""
    from digest.web.app import create_web_app

    app = make_app(load_settings(workspace.config), clock=clock)
    try:
        flask_app = create_web_app(app)
        flask_app.testing = True
        yield app, flask_app.test_client()
    finally:
        app.close()
