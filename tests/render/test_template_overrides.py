"""Templates editors own: `[digest] templates` puts a folder in front of the bundled templates,
and `digest templates copy DIR` gives them a starting point."""

from __future__ import annotations

from pathlib import Path

from digest.app import make_app
from digest.config import load_settings
from digest.render.templates import templates_dir
from tests.conftest import Workspace
from tests.render.conftest import sample_edition

FOOTER = """{% extends "bundled/email/digest.html.j2" %}
{% block footer %}
<tr><td class="footer"><p>Sent by the Harbour Street newsroom.</p>
<p><a href="{{ preferences_url }}">Preferences</a> · <a href="{{ unsubscribe_url }}">Leave</a></p>
</td></tr>
{% endblock %}
"""


def render(workspace: Workspace) -> tuple[str, str]:
    with make_app(load_settings(workspace.config)) as app:
        email = app.renderer().render_preview(sample_edition())
    return email.html, email.text


def test_an_override_changes_one_block_and_keeps_the_rest(workspace: Workspace):
    plain_html, plain_text = render(workspace)
    mine = workspace.folder / "my-templates"
    (mine / "email").mkdir(parents=True)
    (mine / "email" / "digest.html.j2").write_text(FOOTER)
    workspace.write_config(templates="my-templates")  # relative to the config file
    html, text = render(workspace)
    assert "Sent by the Harbour Street newsroom." in html
    assert "You are receiving this because you subscribed" not in html
    assert "You are receiving this because you subscribed" in plain_html
    # everything before the footer is the bundled template's, unchanged
    cut = plain_html.index('<td class="footer"')
    assert html[: html.index('<td class="footer"')] == plain_html[:cut]
    assert text == plain_text  # the text part was not overridden
    # the confirmation email and the web pages are bundled too: still there
    (mine / "web").mkdir()
    (mine / "web" / "message.html.j2").write_text(
        '{% extends "bundled/message.html.j2" %}{% block title %}Our own{% endblock %}'
    )
    from digest.web.app import create_web_app

    with make_app(load_settings(workspace.config)) as app:
        page = create_web_app(app).test_client().get("/u/not-a-token")
    assert page.status_code == 400 and "<title>Our own</title>" in page.text


def test_templates_copy_gives_every_bundled_file_and_refuses_to_overwrite(workspace: Workspace):
    result = workspace.invoke("templates", "copy", "edit-me")
    copied = sorted(p.relative_to("edit-me") for p in Path("edit-me").rglob("*") if p.is_file())
    bundled = sorted(
        p.relative_to(templates_dir()) for p in templates_dir().rglob("*") if p.is_file()
    )
    assert copied == bundled and Path("email/digest.html.j2") in copied
    assert f"copied {len(copied)} files" in result.stdout
    again = workspace.invoke("templates", "copy", "edit-me", code=2)
    assert "already exists" in again.stderr


def test_a_missing_templates_folder_is_a_one_line_error(workspace: Workspace):
    workspace.write_config(templates="nowhere")
    result = workspace.invoke("preview", code=None)
    assert result.exit_code != 0 and "nowhere is not a folder" in result.stderr
    assert "Traceback" not in result.output
