"""Configuration from the environment (DIGEST_<SECTION>__<KEY>, _FILE secrets), seen through
`digest config show --json`, and `digest config check`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from digest.cli import cli
from digest.config import load_settings


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


def show(env: dict[str, str] | None = None) -> dict[str, Any]:
    result = run("config", "show", "--json", env=env)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def entry(data: dict[str, Any], table: str, key: str) -> tuple[Any, str]:
    found = data["settings"][table][key]
    return found["value"], found["source"]


def test_environment_wins_over_file_over_default_typed_like_the_file(isolated: Path):
    (isolated / "digest.toml").write_text(
        '[digest]\nsecret_key = "from-file"\n[smtp]\nhost = "relay.file.example"\nport = 2525\n'
        "[fetch]\nconcurrency = 4\n"
    )
    data = show(
        {
            "DIGEST_SMTP__PORT": "587",
            "DIGEST_FETCH__ALLOW_PRIVATE_ADDRESSES": "yes",
            "DIGEST_DELIVERY__RATE_PER_SECOND": "2.5",
            "DIGEST_DIGEST__OLD_SECRET_KEYS": "k1, k2",
            "DIGEST_WEB__BASE_URL": "https://news.example",
        }
    )
    path = str((isolated / "digest.toml").resolve())
    assert data["file"] == path
    assert entry(data, "smtp", "port") == (587, "environment DIGEST_SMTP__PORT")
    assert entry(data, "smtp", "host") == ("relay.file.example", f"file {path}")
    assert entry(data, "fetch", "concurrency") == (4, f"file {path}")
    assert entry(data, "schedule", "quiet_day") == ("note", "default")
    assert entry(data, "fetch", "allow_private_addresses")[0] is True
    assert entry(data, "delivery", "rate_per_second")[0] == 2.5
    assert entry(data, "web", "base_url")[0] == "https://news.example"
    # secrets are masked: shown as set, never printed
    assert entry(data, "digest", "secret_key") == ("********", f"file {path}")
    assert entry(data, "digest", "old_secret_keys")[0] == ["********", "********"]
    assert "from-file" not in json.dumps(data) and "k1" not in json.dumps(data)


def test_secrets_from_files_as_docker_secrets_are_given(isolated: Path, tmp_path: Path):
    secret = tmp_path / "secret_key"
    secret.write_text("key-from-a-file\n")
    password = tmp_path / "smtp_password"
    password.write_text("hunter2")
    env = {
        "DIGEST_DIGEST__SECRET_KEY_FILE": str(secret),
        "DIGEST_SMTP_PASSWORD_FILE": str(password),  # the short name works too
        "DIGEST_SMTP__HOST": "relay.example",
    }
    data = show(env)  # no digest.toml at all: the environment is the configuration
    assert data["file"] is None
    assert entry(data, "digest", "secret_key") == (
        "********",
        "file named by DIGEST_DIGEST__SECRET_KEY_FILE",
    )
    assert entry(data, "smtp", "password") == (
        "********",
        "file named by DIGEST_SMTP_PASSWORD_FILE",
    )

    settings = load_settings(None, env)
    assert settings.secret_key == "key-from-a-file"  # the final newline is not the key
    assert settings.smtp.password == "hunter2"


def test_bad_environment_values_are_one_line_errors_naming_the_variable(isolated: Path):
    (isolated / "digest.toml").write_text('[digest]\nsecret_key = "k"\n')
    cases = {
        "DIGEST_FETCH__CONCURRENCY": ("lots", "DIGEST_FETCH__CONCURRENCY must be a whole number"),
        "DIGEST_DELIVERY__TTL_HOURS": ("nan", "must be a finite number"),
        "DIGEST_WEB__PORT": ("8080.5", "DIGEST_WEB__PORT must be a whole number"),
        "DIGEST_SCHEDULE__QUIET_DAY": ("loud", 'quiet_day must be "skip" or "note"'),
        "DIGEST_FETCH__CONCURRENCY_": ("1", None),  # not a key: a warning only
    }
    for name, (value, message) in cases.items():
        result = run("config", "check", env={name: value})
        if message is None:
            assert result.exit_code == 0, result.output
            assert f"{name} names no setting" in result.stdout
            continue
        assert result.exit_code == 2, (name, result.output)
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    both = run(
        "config", "check", env={"DIGEST_SECRET_KEY": "a", "DIGEST_SECRET_KEY_FILE": "/nowhere"}
    )
    assert both.exit_code == 2 and "not both" in both.stderr
    missing = run("config", "check", env={"DIGEST_SMTP__PASSWORD_FILE": "/nowhere/at/all"})
    assert missing.exit_code == 2 and "cannot read /nowhere/at/all" in missing.stderr


def test_config_check_finds_what_would_fail_at_run_time(isolated: Path):
    (isolated / "digest.toml").write_text(
        '[digest]\nsecret_key = "k"\nsuppression_key = "s"\n[smtp]\nca_file = "missing.pem"\n'
    )
    result = run("config", "check")
    assert result.exit_code == 1
    assert "ca_file missing.pem is not a file" in result.stdout
    fixed = run("config", "check", env={"DIGEST_SMTP__CA_FILE": ""})
    # an empty variable counts as unset, so the file's value stays
    assert fixed.exit_code == 1
    (isolated / "digest.toml").write_text('[digest]\nsecret_key = ""\n')
    no_key = run("config", "check")
    assert no_key.exit_code == 1 and "secret_key is empty" in no_key.stdout
    assert run("config", "check", env={"DIGEST_SECRET_KEY": "k"}).exit_code == 0
