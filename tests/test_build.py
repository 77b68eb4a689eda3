"""digest build: the edition for a date, from the items stored in its window."""

from __future__ import annotations

from tests.conftest import Workspace

DAY = "2025-06-02"


def fetched(workspace: Workspace, fixture_feeds: dict[str, str]) -> None:
    workspace.invoke("feeds", "add", *fixture_feeds.values())
    workspace.invoke("fetch", code=0)


def test_build_json_has_the_documented_shape_and_every_source(workspace, fixture_feeds):
    fetched(workspace, fixture_feeds)
    edition = workspace.json("build", "--date", DAY)
    assert set(edition) >= {"topic", "date", "window", "status", "sections"}
    assert edition["topic"] == "us-china-trade"
    assert edition["date"] == DAY
    assert edition["window"] == {
        "start": "2025-06-01T06:00:00+00:00",
        "end": "2025-06-02T06:00:00+00:00",
    }
    assert edition["status"] == "draft"
    stories = [story for section in edition["sections"] for story in section["stories"]]
    for section in edition["sections"]:
        assert section["key"] in {
            "export-controls",
            "tariffs",
            "investment",
            "minerals",
            "diplomacy",
            "companies",
        }
        assert section["title"] and section["stories"]  # empty sections are not listed
    for story in stories:
        assert set(story) >= {"title", "url", "summary", "published", "sources"}
        assert story["sources"] and story["summary"]
        for source in story["sources"]:
            assert set(source) >= {"feed", "title", "url", "published"}
    sources = [source for story in stories for source in story["sources"]]
    urls = [source["url"] for source in sources]
    assert len(urls) == len(set(urls))  # an item is in one story only
    # the on-topic items of the window, and none of the off-topic ones or older ones
    assert any("entity-list?utm_source=rss" in url for url in urls)  # link as the feed gave it
    titles = " ".join(source["title"] for source in sources).lower()
    for off_topic in ("rovers", "smartphone", "recipe"):
        assert off_topic not in titles
    in_window = {
        url
        for (url,) in workspace.sql(
            "select url from items where published >= '2025-06-01 06:00:00' "
            "and published < '2025-06-02 06:00:00'"
        )
    }
    assert set(urls) <= in_window
    # the same event from Test Wire and Test Gazette is one story with both outlets
    merged = [story for story in stories if len({s["feed"] for s in story["sources"]}) > 1]
    assert len(merged) == 2
    assert {s["feed"] for s in merged[0]["sources"]} == {"Test Wire", "Test Gazette"}


def test_rebuild_replaces_the_draft_and_a_sent_edition_is_never_rebuilt(workspace, fixture_feeds):
    fetched(workspace, fixture_feeds)
    first = workspace.json("build", "--date", DAY)
    again = workspace.json("build", "--date", DAY)
    assert again["sections"] == first["sections"]
    assert workspace.sql("select count(*) from editions") == [(1,)]
    workspace.sql("update editions set status = 'sent'")
    result = workspace.invoke("build", "--date", DAY, code=1)
    assert "already sent" in result.stderr


def test_build_of_an_empty_day_is_an_empty_edition(workspace):
    edition = workspace.json("build", "--date", "2020-01-01")
    assert edition["sections"] == []
    assert "no on-topic stories" in workspace.invoke("build", "--date", "2020-01-01").stdout


def test_bad_date_is_a_usage_error(workspace):
    result = workspace.invoke("build", "--date", "yesterday", code=2)
    assert "is not a date" in result.stderr


def test_window_follows_send_time_and_time_zone(workspace, fixture_feeds):
    workspace.write_config(timezone="America/New_York", send_time="07:30")
    edition = workspace.json("build", "--date", "2025-06-02")
    # 07:30 in New York in June is 11:30 UTC (EDT)
    assert edition["window"]["end"] == "2025-06-02T11:30:00+00:00"
    assert edition["window"]["start"] == "2025-06-01T11:30:00+00:00"
    spring = workspace.json("build", "--date", "2025-03-09")  # the clocks go forward that night
    assert spring["window"] == {
        "start": "2025-03-08T12:30:00+00:00",
        "end": "2025-03-09T11:30:00+00:00",
    }


def test_preview_writes_html_and_text_files(workspace, fixture_feeds, isolated):
    fetched(workspace, fixture_feeds)
    result = workspace.invoke("preview", "--date", DAY, "--out", "previews")
    html = (isolated / "previews" / f"digest-{DAY}.html").read_text()
    text = (isolated / "previews" / f"digest-{DAY}.txt").read_text()
    assert "digest-2025-06-02.html" in result.stdout
    assert html.lstrip().lower().startswith("<!doctype html")
    edition = workspace.json("build", "--date", DAY)
    for section in edition["sections"]:
        for story in section["stories"]:
            assert story["title"] in text
    assert "<script" not in html.lower()
