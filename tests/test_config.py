"""digest init and configuration discovery, checking and secrets."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from digest.cli import cli
from digest.config import load_settings, settings_from_dict
from digest.errors import ConfigError


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env)


def test_init_writes_commented_config_with_a_secret_and_creates_the_database(isolated: Path):
    result = run("init")
    assert result.exit_code == 0, result.output
    text = (isolated / "digest.toml").read_text()
    assert text.count("#") > 10  # commented for a person to edit
    data = tomllib.loads(text)
    assert len(data["digest"]["secret_key"]) >= 32
    assert (isolated / "digest.db").exists()
    assert len(data["digest"]["suppression_key"]) >= 32
    assert data["digest"]["suppression_key"] != data["digest"]["secret_key"]
    # a second init refuses to overwrite, and --force rewrites the file keeping its keys
    again = run("init")
    assert again.exit_code == 2 and "already exists" in again.stderr
    assert run("init", "--force").exit_code == 0
    rewritten = tomllib.loads((isolated / "digest.toml").read_text())["digest"]
    assert rewritten["secret_key"] == data["digest"]["secret_key"]
    assert rewritten["suppression_key"] == data["digest"]["suppression_key"]


def test_commands_find_config_in_folder_then_option_then_environment(isolated: Path):
    assert run("feeds", "list").exit_code == 2  # nothing to find yet
    assert "digest init" in run("feeds", "list").stderr
    assert run("init").exit_code == 0
    assert run("feeds", "list").exit_code == 0  # ./digest.toml
    other = isolated / "elsewhere"
    other.mkdir()
    (isolated / "digest.toml").rename(other / "custom.toml")
    assert run("feeds", "list").exit_code == 2
    assert run("--config", str(other / "custom.toml"), "feeds", "list").exit_code == 0
    assert run("feeds", "list", env={"DIGEST_CONFIG": str(other / "custom.toml")}).exit_code == 0
    # the relative database path is relative to the config file's folder, not the cwd
    settings = load_settings(other / "custom.toml")
    assert settings.digest.database == f"sqlite:///{(other / 'digest.db').resolve()}"


def test_unknown_keys_warn_with_a_suggestion_and_still_run(isolated: Path):
    (isolated / "digest.toml").write_text(
        '[digest]\ntimezon = "UTC"\n[smtp]\nhost = "localhost"\n[future]\nx = 1\n'
    )
    result = run("feeds", "list")
    assert result.exit_code == 0, result.output
    assert "unknown key 'timezon' in [digest]" in result.stderr
    assert "did you mean 'timezone'" in result.stderr
    assert "unknown section [future]" in result.stderr


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[digest]\ntimezone = "Mars/Olympus"', "unknown time zone"),
        ('[digest]\nsend_time = "25:00"', "send_time"),
        ('[smtp]\nsecurity = "tls"', "security must be one of"),
        ('[smtp]\nport = "twenty-five"', "port must be int"),
        ("[digest\n", "not valid TOML"),
    ],
)
def test_bad_values_are_one_line_errors_with_exit_2(isolated: Path, toml: str, message: str):
    (isolated / "digest.toml").write_text(toml)
    result = run("feeds", "list")
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_secrets_come_from_the_environment():
    settings = settings_from_dict({"digest": {"secret_key": "from-file"}})
    assert settings.secret_key == "from-file"
    path_settings = load_settings(
        None, {"DIGEST_SECRET_KEY": "from-env", "DIGEST_SMTP_PASSWORD": "pw"}
    )
    assert path_settings.secret_key == "from-env"
    assert path_settings.smtp.password == "pw"
    with pytest.raises(ConfigError):
        settings_from_dict({"smtp": {"password": 3}, "digest": {"send_time": "6am"}})
    # the password is never read from the file, only warned about
    assert "unknown key 'password'" in settings_from_dict({"smtp": {"password": "x"}}).warnings[0]


@pytest.mark.parametrize(
    "sender",
    ["Digest <digest@news.example>", "digest@news.example", '"Trade, Daily" <d@x.example>'],
)
def test_sender_may_be_an_address_or_name_and_address(sender):
    assert settings_from_dict({"smtp": {"sender": sender}}).smtp.sender == sender


@pytest.mark.parametrize(
    ("table", "value"),
    [("smtp", {"sender": "not an address"}), ("web", {"unsubscribe_mailto": "mailto:x y@z"})],
)
def test_bad_addresses_in_config_are_config_errors(table, value):
    with pytest.raises(ConfigError):
        settings_from_dict({table: value})


def test_unknown_topic_is_a_one_line_error(isolated: Path):
    (isolated / "digest.toml").write_text('[digest]\ntopic = "no-such-topic"\n')
    result = run("build", "--date", "2025-06-02")
    assert result.exit_code == 2
    assert "no-such-topic" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
