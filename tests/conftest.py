"""Shared fixtures: an isolated home and folder per test, real loopback servers, a workspace."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest
from click.testing import CliRunner, Result

from digest.cli import cli
from tests.databases import fresh_database, run_sql
from tests.misbehaving import MisbehavingServer
from tests.servers import FeedHTTPServer, SmtpServer

FIXTURES = Path(__file__).parent / "fixtures"
FEEDS = FIXTURES / "feeds"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test runs in its own empty folder with its own home and no digest variables."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in (
        "DIGEST_CONFIG",
        "DIGEST_SECRET_KEY",
        "DIGEST_SMTP_PASSWORD",
        "DIGEST_IMAP_PASSWORD",
        "DIGEST_DEBUG",
    ):
        monkeypatch.delenv(name, raising=False)
    for name in [name for name in os.environ if name.startswith("DIGEST_") and "__" in name]:
        monkeypatch.delenv(name)  # DIGEST_<SECTION>__<KEY> settings
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


class _Server(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


_S = TypeVar("_S", bound=_Server)


def _running(server: _S) -> Iterator[_S]:
    """A fixture's body for a loopback server: started for the test, stopped after it."""
    server.start()
    yield server
    server.stop()


@pytest.fixture
def feed_http() -> Iterator[FeedHTTPServer]:
    yield from _running(FeedHTTPServer())


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    yield from _running(SmtpServer())


@pytest.fixture
def misbehaving() -> Iterator[MisbehavingServer]:
    """A loopback HTTP server whose routes each test sets to answer as badly as it needs."""
    yield from _running(MisbehavingServer())


class Workspace:
    """A folder with a digest.toml pointing at the test's SMTP server, driven through the CLI.

    Its database is SQLite's digest.db in the folder, or the test's PostgreSQL database when
    the tests run on PostgreSQL (tests/databases.py); ``sql`` reads and writes it either way.
    """

    def __init__(self, folder: Path, smtp_port: int, database: str | None = None) -> None:
        self.folder = folder
        self.config = folder / "digest.toml"
        #: The database's SQLAlchemy URL.
        self.database = database or f"sqlite:///{folder / 'digest.db'}"
        self.smtp_port = smtp_port
        self.write_config()

    def sql(self, statement: str, params: Any = None, **named: Any) -> list[Any]:
        """Run one statement on the workspace's database (committed); its rows as tuples.
        ``params`` may be a list of mappings: the statement runs once for each."""
        return run_sql(self.database, statement, params if params is not None else named)

    def write_config(self, extra: str = "", **digest: str) -> None:
        values = {
            "timezone": "UTC",
            "send_time": "06:00",
            "database": self.database,
            "secret_key": "test-secret-key",
            **digest,
        }
        digest_lines = "".join(f'{key} = "{value}"\n' for key, value in values.items())
        self.config.write_text(
            f"""
[digest]
{digest_lines}
[fetch]
allow_private_addresses = true
timeout_seconds = 5

[smtp]
host = "127.0.0.1"
port = {self.smtp_port}
sender = "Trade Digest <digest@news.example>"
timeout_seconds = 5

[web]
base_url = "https://news.example"
unsubscribe_mailto = "leave@news.example"
{extra}
""",
            encoding="utf-8",
        )

    def invoke(self, *args: str, code: int | None = 0, env: dict[str, str] | None = None) -> Result:
        result = CliRunner().invoke(cli, ["--config", str(self.config), *args], env=env)
        if code is not None:
            assert result.exit_code == code, (
                f"exit {result.exit_code}, wanted {code}\nstdout: {result.stdout}\n"
                f"stderr: {result.stderr}\nexception: {result.exception!r}"
            )
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.invoke(*args, "--json").stdout)


@pytest.fixture
def database_url(isolated: Path) -> Iterator[str]:
    """This test's own empty database: SQLite in its folder, or one on the PostgreSQL server."""
    with fresh_database(f"sqlite:///{isolated / 'digest.db'}") as url:
        yield url


@pytest.fixture
def workspace(isolated: Path, smtp_server: SmtpServer, database_url: str) -> Workspace:
    return Workspace(isolated, smtp_server.port, database_url)


@pytest.fixture
def fixture_feeds(feed_http: FeedHTTPServer) -> dict[str, str]:
    """The fixture feeds served over loopback HTTP: name -> URL."""
    return {
        name: feed_http.serve_file(f"/{name}.xml", FEEDS / f"{name}.xml")
        for name in ("wire", "gazette", "hostile", "broken")
    }


def copy_fixture(name: str, target: Path) -> Path:
    return Path(shutil.copy(FEEDS / name, target))
