"""Bad input gets one clear line and a non-zero exit, changes nothing, and shows no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from digest.cli import cli
from tests.conftest import Workspace
from tests.databases import on_postgres


def one_line(result: Result, code: int) -> str:
    assert result.exit_code == code, (result.exit_code, result.output)
    assert "Traceback" not in result.output and "internal error" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_a_list_for_an_unknown_topic_is_refused(workspace: Workspace):
    line = one_line(workspace.invoke("lists", "add", "chips", "--topic", "nope", code=None), 2)
    assert "unknown topic 'nope'" in line and "us-china-trade" in line
    assert "chips" not in [lst["name"] for lst in workspace.json("lists", "list")]
    # the configured topic by its key is fine
    workspace.invoke("lists", "add", "trade", "--topic", "us-china-trade")
    missing = workspace.invoke("lists", "add", "x", "--topic", "gone/topic.toml", code=None)
    assert "gone/topic.toml not found" in one_line(missing, 2)


def test_erasing_an_unknown_address_says_so_and_suppresses_nothing(workspace: Workspace):
    result = workspace.invoke("subscribers", "erase", "nobody@example.com", "--yes", code=None)
    line = one_line(result, 2)
    assert "no subscriber nobody@example.com" in line and "erased" not in result.stdout
    workspace.invoke("subscribers", "add", "nobody@example.com")  # not suppressed by the typo


def test_a_read_only_database_is_one_line_without_items_or_addresses(
    workspace: Workspace, fixture_feeds
):
    workspace.invoke("feeds", "add", fixture_feeds["wire"])
    workspace.invoke("fetch")
    workspace.invoke("subscribers", "add", "ada@example.com", "--name", "Ada Lovelace")
    titles = [title for (title,) in workspace.sql("select title from items")]
    assert titles
    if on_postgres():  # a role or replica that may only read
        read_only = f"{workspace.database}?options=-c%20default_transaction_read_only%3Don"
    else:
        # SQLite's read-only mode: what a database file the user cannot write looks like
        # (chmod does not stop root, which may run this suite).
        read_only = (
            f"sqlite:///file:{workspace.database.removeprefix('sqlite:///')}?mode=ro&uri=true"
        )
    workspace.write_config(database=read_only)
    assert workspace.json("subscribers", "list")[0]["email"] == "ada@example.com"  # reads work
    for args in (
        ("subscribers", "add", "bob@example.com"),
        ("build", "--date", "2025-06-02"),
        ("feeds", "add", "https://news.example/feed.xml"),
    ):
        result = workspace.invoke(*args, code=None)
        line = one_line(result, 1)
        assert "readonly database" in line or "read-only transaction" in line, line
        assert "@example.com" not in result.output and "Lovelace" not in result.output
        assert not any(title in result.output for title in titles)
        # no statement (PostgreSQL's own message names the command, "cannot execute INSERT")
        assert "INSERT INTO" not in result.output and "[parameters" not in result.output
        assert "[SQL:" not in result.output


def test_an_unknown_topic_is_refused_before_the_database_exists(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
):
    config = isolated / "digest.toml"
    config.write_text('[digest]\ntopic = "nope"\nsecret_key = "k"\n', encoding="utf-8")
    for args in (("feeds", "list"), ("subscribers", "add", "ada@example.com"), ("status",)):
        result = CliRunner().invoke(cli, ["--config", str(config), *args])
        assert "unknown topic 'nope'" in one_line(result, 2)
        assert not (isolated / "digest.db").exists()
    fresh = isolated / "fresh"
    fresh.mkdir()
    monkeypatch.chdir(fresh)
    result = CliRunner().invoke(cli, ["init"], env={"DIGEST_DIGEST__TOPIC": "nope"})
    assert "unknown topic 'nope'" in one_line(result, 2)
    assert not (fresh / "digest.db").exists()


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ("[fetch]\ndeadline_seconds = nan", "deadline_seconds"),
        ("[fetch]\ntimeout_seconds = inf", "timeout_seconds"),
        ("[fetch]\nmax_bytes = -1", "max_bytes"),
        ("[fetch]\nmax_redirects = -1", "max_redirects"),
        ("[smtp]\ntimeout_seconds = -5", "timeout_seconds"),
        ("[smtp]\ntimeout_seconds = nan", "timeout_seconds"),
        ("[web]\nport = -1", "port"),
        ("[delivery]\nrate_per_second = nan", "rate_per_second"),
        ("[delivery]\nttl_hours = inf", "ttl_hours"),
        ("[delivery]\nttl_hours = -inf", "ttl_hours"),
        ("[delivery]\nretry_initial_seconds = -1", "retry_initial_seconds"),
    ],
)
def test_non_numbers_and_negative_numbers_are_refused(isolated: Path, toml: str, key: str):
    (isolated / "digest.toml").write_text(toml, encoding="utf-8")
    line = one_line(CliRunner().invoke(cli, ["config", "show"]), 2)
    assert key in line
    assert not (isolated / "digest.db").exists()


def test_nan_from_the_environment_is_refused_too(isolated: Path):
    result = CliRunner().invoke(
        cli, ["config", "show", "--json"], env={"DIGEST_FETCH__DEADLINE_SECONDS": "nan"}
    )
    assert "DEADLINE_SECONDS must be a finite number" in one_line(result, 2)
    fine = CliRunner().invoke(
        cli, ["config", "show", "--json"], env={"DIGEST_FETCH__DEADLINE_SECONDS": "30"}
    )
    assert json.loads(fine.stdout)["settings"]["fetch"]["deadline_seconds"]["value"] == 30.0
