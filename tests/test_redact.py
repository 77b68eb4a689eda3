"""A database password never shows: in errors, `config show`, `init`, run history and logs."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from digest.cli import cli
from digest.loopback import free_port
from digest.redact import redact
from digest.schedule import RedactingFormatter

SECRET = "S3cr3t-pw"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            f"cannot open database postgresql://admin:{SECRET}@db:5432/digest: refused",
            "cannot open database postgresql://admin:***@db:5432/digest: refused",
        ),
        (f"postgresql+psycopg://admin:p@{SECRET}@db/x", "postgresql+psycopg://admin:***@db/x"),
        (f"string 'mysql://u:{SECRET}@h' (bad)", "string 'mysql://u:***@h' (bad)"),
        (f"https://:{SECRET}@feeds.example/rss", "https://:***@feeds.example/rss"),
        ("sqlite:////srv/digest/digest.db", "sqlite:////srv/digest/digest.db"),
        ("http://127.0.0.1:8080/feed.xml", "http://127.0.0.1:8080/feed.xml"),
        ("postgresql://admin@db/digest", "postgresql://admin@db/digest"),
    ],
)
def test_redact_hides_only_the_password(text: str, shown: str):
    assert redact(text) == shown


def unreachable_postgres(folder: Path) -> Path:
    """A config whose database is a PostgreSQL URL with a password, on a port nobody serves."""
    config = folder / "digest.toml"
    url = f"postgresql://admin:{SECRET}@127.0.0.1:{free_port()}/digest"
    config.write_text(f'[digest]\ndatabase = "{url}"\nsecret_key = "k"\n', encoding="utf-8")
    return config


@pytest.mark.parametrize(
    "args",
    [("subscribers", "list"), ("status",), ("status", "--json"), ("feeds", "list")],
)
def test_database_errors_are_one_line_without_the_password(isolated: Path, args):
    config = unreachable_postgres(isolated)
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    assert result.exit_code == 1, result.output
    assert SECRET not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "admin:***@127.0.0.1" in lines[0], lines


def test_config_show_hides_the_database_password(isolated: Path):
    config = unreachable_postgres(isolated)
    shown = CliRunner().invoke(cli, ["--config", str(config), "config", "show"])
    assert shown.exit_code == 0 and SECRET not in shown.output
    assert "postgresql://admin:***@127.0.0.1" in shown.output
    data = CliRunner().invoke(cli, ["--config", str(config), "config", "show", "--json"])
    value = json.loads(data.stdout)["settings"]["digest"]["database"]["value"]
    assert SECRET not in value and value.startswith("postgresql://admin:***@")


def test_a_malformed_url_keeps_its_password_hidden(isolated: Path):
    config = isolated / "digest.toml"
    config.write_text(
        f'[digest]\ndatabase = "postgresql://admin:{SECRET}@[::1/x"\nsecret_key = "k"\n',
        encoding="utf-8",
    )
    for args in (("config", "show"), ("subscribers", "list")):
        result = CliRunner().invoke(cli, ["--config", str(config), *args])
        assert SECRET not in result.output, result.output


def test_log_lines_and_tracebacks_hide_the_password():
    formatter = RedactingFormatter("%(levelname)s %(message)s")
    try:
        raise RuntimeError(f"cannot reach postgresql://admin:{SECRET}@db/digest")
    except RuntimeError:
        record = logging.LogRecord(
            "digest.jobs",
            logging.ERROR,
            __file__,
            1,
            "run %s",
            (f"job=send error='postgresql://admin:{SECRET}@db/x'",),
            sys.exc_info(),
        )
    line = formatter.format(record)
    assert SECRET not in line
    assert "postgresql://admin:***@db/x" in line and "RuntimeError" in line
