"""Locating the templates folder and the Jinja2 environment's rules and filters."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import jinja2
import pytest

import digest.render.templates as templates_module
from digest.errors import RenderError
from digest.render.templates import (
    compact_css,
    long_date,
    make_environment,
    safe_url,
    templates_dir,
    utc_time,
    wrap_text,
)


def test_templates_dir_finds_the_email_templates():
    folder = templates_dir()
    assert folder.is_dir()
    assert (folder / "email" / "digest.html.j2").is_file()
    assert (folder / "email" / "digest.txt.j2").is_file()


def test_packaged_templates_come_first(tmp_path, monkeypatch):
    package = tmp_path / "site-packages" / "digest"
    (package / "templates").mkdir(parents=True)
    (tmp_path / "site-packages" / "templates").mkdir()
    monkeypatch.setattr(templates_module, "_package_root", lambda: package)
    assert templates_dir() == package / "templates"


def test_checkout_templates_next(tmp_path, monkeypatch):
    package = tmp_path / "repo" / "digest"
    package.mkdir(parents=True)
    (tmp_path / "repo" / "templates").mkdir()
    monkeypatch.setattr(templates_module, "_package_root", lambda: package)
    assert templates_dir() == tmp_path / "repo" / "templates"


def test_no_templates_is_a_render_error(tmp_path, monkeypatch):
    package = tmp_path / "repo" / "digest"
    package.mkdir(parents=True)
    monkeypatch.setattr(templates_module, "_package_root", lambda: package)
    with pytest.raises(RenderError, match="templates folder not found"):
        templates_dir()


def test_environment_rules(tmp_path: Path):
    (tmp_path / "page.html.j2").write_text("<p>{{ value }}</p>\n", encoding="utf-8")
    (tmp_path / "page.txt.j2").write_text(
        "{% if true %}\n  {{ value }}\n{% endif %}\n", encoding="utf-8"
    )
    (tmp_path / "missing.txt.j2").write_text("{{ nothing }}", encoding="utf-8")
    env = make_environment(tmp_path)
    assert env.get_template("page.html.j2").render(value="<b>&") == "<p>&lt;b&gt;&amp;</p>\n"
    # plain text is not escaped, and block tags leave no blank lines or indentation behind
    assert env.get_template("page.txt.j2").render(value="<b>&") == "  <b>&\n"
    with pytest.raises(jinja2.UndefinedError):
        env.get_template("missing.txt.j2").render()
    # templates from strings are escaped too
    assert env.from_string("{{ v }}").render(v="<i>") == "&lt;i&gt;"


def test_environment_on_missing_folder(tmp_path):
    with pytest.raises(RenderError):
        make_environment(tmp_path / "nope")


def test_long_date():
    assert long_date(date(2026, 3, 10)) == "Tuesday 10 March 2026"
    assert long_date(date(2026, 1, 1)) == "Thursday 1 January 2026"


def test_utc_time():
    assert utc_time(datetime(2026, 3, 10, 7, 5, tzinfo=UTC)) == "07:05 UTC"
    eastern = timezone(timedelta(hours=-5))
    assert utc_time(datetime(2026, 3, 9, 22, 30, tzinfo=eastern)) == "03:30 UTC"


def test_wrap_text():
    text = "word " * 40 + "https://example.com/" + "x" * 90
    wrapped = wrap_text(text, 72, "  ")
    lines = wrapped.splitlines()
    assert all(line.startswith("  ") for line in lines)
    assert all(len(line) <= 72 for line in lines if "https://" not in line)
    assert any(line.strip() == "https://example.com/" + "x" * 90 for line in lines)  # unbroken
    assert wrap_text("one\n\ntwo  three") == "one\n\ntwo three"


def test_safe_url():
    assert safe_url("https://example.com/a?b=1&c=2") == "https://example.com/a?b=1&c=2"
    assert safe_url("HTTP://example.com") == "HTTP://example.com"
    for bad in (
        "javascript:alert(1)",
        " JavaScript:alert(1)",
        "data:text/html,x",
        "//evil",
        "",
        "https://a b",
    ):
        assert safe_url(bad) == "#"


def test_wrap_text_cuts_overlong_words_but_not_links():
    word = "Z" * 100
    lines = wrap_text(f"a {word} b", 72, "  ").splitlines()
    assert all(len(line) <= 72 for line in lines)
    assert "".join("".join(lines).split()) == f"a{word}b"
    link = "https://example.com/" + "y" * 100
    assert link in wrap_text(f"see {link} now").splitlines()


def test_compact_css_drops_comments_and_white_space_but_keeps_rules():
    css = "/* for editors */\n@media (x) {\n  .a > b { color: #111 !important; }\n}\n"
    assert compact_css(css) == "@media (x) { .a > b { color: #111 !important; } }"


def test_the_emails_style_block_carries_no_comments(tmp_path: Path):
    # the included stylesheet stays markup: a child selector is not escaped on its way in
    (tmp_path / "email").mkdir()
    (tmp_path / "email" / "_base.css").write_text("/* note */ .a > b { color: red; }\n")
    env = make_environment(tmp_path)
    template = env.from_string(
        '<style>{% filter compact_css %}{% include "email/_base.css" %}{% endfilter %}</style>'
    )
    assert template.render() == "<style>.a > b { color: red; }</style>"
