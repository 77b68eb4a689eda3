"""digest feeds add | list | remove | import | export."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Workspace


def test_add_list_remove(workspace: Workspace):
    workspace.invoke("feeds", "add", "https://one.example/feed.xml", "https://two.example/rss")
    listed = workspace.json("feeds", "list")
    assert [feed["url"] for feed in listed] == [
        "https://one.example/feed.xml",
        "https://two.example/rss",
    ]
    assert listed[0]["last_status"] is None and listed[0]["items"] == 0
    again = workspace.invoke("feeds", "add", "https://one.example/feed.xml", code=2)
    assert "already added" in again.stderr
    bad = workspace.invoke("feeds", "add", "file:///etc/passwd", code=2)
    assert "http://" in bad.stderr
    workspace.invoke("feeds", "remove", "https://one.example/feed.xml")
    assert [feed["url"] for feed in workspace.json("feeds", "list")] == ["https://two.example/rss"]
    missing = workspace.invoke("feeds", "remove", "https://nowhere.example/", code=2)
    assert "no such feed" in missing.stderr


def test_opml_import_export_round_trip(workspace: Workspace, isolated: Path):
    opml = isolated / "feeds.opml"
    opml.write_text(
        """<?xml version="1.0"?>
<opml version="2.0"><head><title>mine</title></head><body>
  <outline text="News"><outline text="Wire" type="rss" xmlUrl="https://wire.example/rss"/>
  <outline text="Gazette &amp; Co" type="rss" xmlUrl="https://gazette.example/atom"/></outline>
  <outline text="dup" type="rss" xmlUrl="https://wire.example/rss"/>
</body></opml>"""
    )
    result = workspace.invoke("feeds", "import", str(opml))
    assert "added 2 feeds" in result.stdout
    assert "added 0 feeds" in workspace.invoke("feeds", "import", str(opml)).stdout
    exported = workspace.invoke("feeds", "export").stdout
    assert 'xmlUrl="https://wire.example/rss"' in exported
    assert "Gazette &amp; Co" in exported
    # what was exported imports into a fresh workspace unchanged
    copy = isolated / "copy"
    copy.mkdir()
    other = Workspace(copy, workspace.smtp_port)
    (copy / "exported.opml").write_text(exported)
    other.invoke("feeds", "import", str(copy / "exported.opml"))
    assert [f["url"] for f in other.json("feeds", "list")] == [
        f["url"] for f in workspace.json("feeds", "list")
    ]
    broken = isolated / "broken.opml"
    broken.write_text("<opml><body><outline")
    assert "not a valid OPML" in workspace.invoke("feeds", "import", str(broken), code=2).stderr


def test_feeds_list_json_is_valid_for_scripts(workspace: Workspace):
    assert json.loads(workspace.invoke("feeds", "list", "--json").stdout) == []
