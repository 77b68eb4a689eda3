"""The signing key is safe: `init --force` keeps it, `init --rotate-key` keeps the old one valid,
and the suppression list is keyed with a key that never rotates."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from digest.app import make_app
from digest.cli import cli
from digest.config import load_settings
from digest.web.app import create_web_app
from subscribers.tokens import UNSUBSCRIBE

T0 = datetime(2025, 6, 2, 6, 0, tzinfo=UTC)


def init(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli, ["init", *args])
    assert result.exit_code == code, result.output
    return result.output


def keys(path: Path) -> dict[str, object]:
    return tomllib.loads(path.read_text())["digest"]


def unsubscribe_link_works(config: Path, token: str, email: str) -> bool:
    with make_app(load_settings(config)) as app:
        client = create_web_app(app).test_client()
        response = client.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"})
        found = app.subscribers.find(email)
        return response.status_code == 200 and found is not None and found.status == "unsubscribed"


def a_token_for(config: Path, email: str) -> str:
    with make_app(load_settings(config)) as app:
        subscriber = app.subscribers.add(email, now=T0)
        return app.signer().make(UNSUBSCRIBE, subscriber.id)


def test_init_force_keeps_links_already_sent_working(isolated: Path):
    config = isolated / "digest.toml"
    init()
    token = a_token_for(config, "ada@example.com")
    assert "kept its secret key" in init("--force")
    assert unsubscribe_link_works(config, token, "ada@example.com")


def test_rotate_key_keeps_old_links_and_the_rest_of_the_file(isolated: Path):
    config = isolated / "digest.toml"
    init()
    before = keys(config)
    config.write_text(config.read_text().replace('name = "US–China', 'name = "My own'))
    token = a_token_for(config, "ada@example.com")
    init("--rotate-key")
    after = keys(config)
    assert after["secret_key"] != before["secret_key"]
    assert after["old_secret_keys"] == [before["secret_key"]]
    assert after["suppression_key"] == before["suppression_key"]
    assert after["name"] == "My own Trade Digest"  # the editor's change is still there
    assert "# Keys the suppression list" in config.read_text()  # and the comments
    assert unsubscribe_link_works(config, token, "ada@example.com")
    with make_app(load_settings(config)) as app:
        assert app.signer().make(UNSUBSCRIBE, 1) != token  # new links use the new key


def test_a_suppressed_address_stays_suppressed_after_rotation_and_dropping_old_keys(
    isolated: Path,
):
    config = isolated / "digest.toml"
    init()
    with make_app(load_settings(config)) as app:
        app.subscribers.suppress("gone@example.com", now=T0)
        app.subscribers.add("erase.me@example.com", now=T0)
        app.subscribers.erase("erase.me@example.com", now=T0)
    init("--rotate-key")
    init("--rotate-key")
    text = config.read_text()
    start = text.index("old_secret_keys = [")
    config.write_text(text[:start] + "old_secret_keys = []" + text[text.index("]", start) + 1 :])
    assert keys(config)["old_secret_keys"] == []
    with make_app(load_settings(config)) as app:
        assert app.subscribers.is_suppressed("gone@example.com")
        assert app.subscribers.is_suppressed("erase.me@example.com")


def test_an_installation_from_before_the_suppression_key_keeps_its_suppressions(
    isolated: Path,
):
    """Its suppressions were hashed with the secret key: init pins that key as the suppression
    key, so rotating and later dropping the old secret key forgets nobody."""
    config = isolated / "digest.toml"
    init()
    legacy = "\n".join(
        line for line in config.read_text().splitlines() if not line.startswith("suppression_key")
    )
    config.write_text(legacy)
    first_secret = keys(config)["secret_key"]
    with make_app(load_settings(config)) as app:
        app.subscribers.suppress("gone@example.com", now=T0)
    init("--force")
    assert keys(config)["suppression_key"] == first_secret
    init("--rotate-key")
    text = config.read_text()
    config.write_text(text.replace(f'"{first_secret}"', '"dropped"', 1))  # old key forgotten
    with make_app(load_settings(config)) as app:
        assert app.subscribers.is_suppressed("gone@example.com")


def test_rotating_without_a_config_is_a_one_line_error(isolated: Path):
    result = CliRunner().invoke(cli, ["init", "--rotate-key"])
    assert result.exit_code == 2
    assert "no key to rotate" in result.stderr and "Traceback" not in result.output
