"""Feeds of one outlet count as one outlet; admins name outlets (feeds add --name, rename)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from digest.editorial.build import build_edition
from digest.editorial.topic import load_topic
from digest.outlets import outlets_of
from digest.store.database import open_database
from digest.types import Feed, Item, Window
from tests.conftest import Workspace
from tests.databases import run_sql
from tests.servers import FeedHTTPServer
from tests.test_schedule_migration import database_at

DAY = "2025-06-02"


def feed(feed_id: int, url: str, title: str, outlet: str | None = None) -> Feed:
    return Feed(id=feed_id, url=url, title=title, outlet=outlet)


# --- the rules, pure ------------------------------------------------------------------------


def test_two_feeds_of_one_site_are_one_outlet():
    found = outlets_of(
        [
            feed(1, "https://feeds.a.ledger.example/rss/world.xml", "Ledger: World"),
            feed(2, "https://www.ledger.example/markets/rss", "Ledger: Markets"),
            feed(3, "https://feeds.othertimes.example/rss", "Other Times"),
        ]
    )
    assert found[1].key == found[2].key == "site:ledger.example"
    assert found[3].key != found[1].key
    assert (found[1].name, found[2].name) == ("Ledger: World", "Ledger: Markets")


def test_item_links_decide_the_site_over_where_the_feed_is_served():
    # both served from one feed service (or one loopback host), their articles on two sites
    feeds = [
        feed(1, "https://feeds.service.example/a", "A"),
        feed(2, "https://feeds.service.example/b", "B"),
        feed(3, "http://127.0.0.1:8000/c.xml", "C"),
        feed(4, "http://127.0.0.1:8000/d.xml", "D"),
    ]
    links = {
        1: ["https://a-news.example/x", "https://a-news.example/y"],
        2: ["https://www.b-news.example/z", "https://other.example/odd-one"],
        3: ["https://www.a-news.example/w"],
    }
    found = outlets_of(feeds, links)
    assert found[1].key == "site:a-news.example"
    assert found[2].key == "site:b-news.example"  # by majority... and a tie: stable
    assert found[3].key == found[1].key  # a mirror of A's articles is A
    assert found[4].key == "feed:4"  # loopback and no links: an outlet of its own


def test_an_admins_name_names_the_site_and_can_split_it():
    world = feed(1, "https://feeds.ledger.example/world", "Ledger: World", "The Ledger")
    markets = feed(2, "https://feeds.ledger.example/markets", "Ledger: Markets")
    found = outlets_of([world, markets])
    assert found[1] == found[2]
    assert found[2].name == "The Ledger"
    # two publications on one host are told apart by naming them differently
    blog = feed(2, "https://feeds.ledger.example/markets", "Ledger: Markets", "Markets Blog")
    found = outlets_of([world, blog])
    assert found[1].key != found[2].key
    assert (found[1].name, found[2].name) == ("The Ledger", "Markets Blog")
    # names are compared without case
    same = feed(2, "https://elsewhere.example/rss", "Elsewhere", "the ledger")
    assert outlets_of([world, same])[2].key == outlets_of([world, same])[1].key


# --- the ranking counts outlets, not feeds --------------------------------------------------


def _item(item_id: int, feed_id: int, feed_title: str, outlet: str, hours: int) -> Item:
    when = datetime(2025, 6, 1, 8 + hours, tzinfo=UTC)
    return Item(
        id=item_id,
        feed_id=feed_id,
        feed_title=feed_title,
        guid=f"g{item_id}",
        url=f"https://{outlet.split(':')[-1]}/story-{item_id}",
        canonical_url=f"https://{outlet.split(':')[-1]}/story-{item_id}",
        title="US widens curbs on advanced AI chip exports to China",
        summary_html="",
        text=(
            "The Commerce Department on Tuesday widened export controls on advanced artificial "
            "intelligence chips to China, closing gaps left by last year's rules."
        ),
        published=when,
        fetched=when,
        outlet=outlet,
    )


def test_a_story_in_two_feeds_of_one_outlet_counts_that_outlet_once():
    topic = load_topic("us-china-trade")
    window = Window(datetime(2025, 6, 1, 6, tzinfo=UTC), datetime(2025, 6, 2, 6, tzinfo=UTC))

    def story(items: list[Item]):
        edition = build_edition(items, topic, edition_date=window.end.date(), window=window)
        (only,) = edition.stories
        return only

    one_outlet_twice = story(
        [
            _item(1, 1, "Ledger: World", "site:ledger.example", 0),
            _item(2, 2, "Ledger: Markets", "site:ledger.example", 1),
        ]
    )
    assert len(one_outlet_twice.sources) == 2
    assert one_outlet_twice.outlets == ("Ledger: World",)
    two_outlets = story(
        [
            _item(1, 1, "Ledger: World", "site:ledger.example", 0),
            _item(2, 3, "Other Times", "site:othertimes.example", 1),
        ]
    )
    assert two_outlets.outlets == ("Ledger: World", "Other Times")
    # agreement across outlets lifts a story; a second feed of the same outlet does not
    assert two_outlets.score > one_outlet_twice.score


# --- end to end: the command line, the store, the email -------------------------------------

_RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>{title}</title><link>https://{site}/</link>
<description>news</description>
<item><guid>{site}-1</guid><title>{headline}</title><link>https://{site}/2025/06/01/chips</link>
<pubDate>Sun, 01 Jun 2025 {hour}:00:00 +0000</pubDate>
<description>{text}</description></item>
</channel></rss>"""


_TEXT = (
    "The Commerce Department on Sunday widened export controls on advanced artificial "
    "intelligence chips to China, closing gaps left by last year's rules. Chipmakers including "
    "Nvidia will need licences to ship the affected processors."
)


def _serve(feed_http: FeedHTTPServer, folder: Path, name: str, **values: str) -> str:
    path = folder / f"{name}.xml"
    path.write_text(_RSS.format(text=_TEXT, **values), encoding="utf-8")
    return feed_http.serve_file(f"/{name}.xml", path)


def _sources(workspace: Workspace) -> list[dict[str, str]]:
    edition = workspace.json("build", "--date", DAY)
    stories = [story for section in edition["sections"] for story in section["stories"]]
    assert len(stories) == 1, stories
    return stories[0]["sources"]


def test_feeds_of_one_site_are_one_outlet_in_the_email_and_admins_name_them(
    workspace: Workspace, feed_http: FeedHTTPServer, isolated: Path
):
    headline = "US widens curbs on advanced AI chip exports to China"
    world = _serve(
        feed_http,
        isolated,
        "world",
        title="Ledger World",
        site="www.ledger.example",
        headline=headline,
        hour="09",
    )
    markets = _serve(
        feed_http,
        isolated,
        "markets",
        title="Ledger Markets",
        site="markets.ledger.example",
        headline="Washington tightens AI chip export curbs on China",
        hour="10",
    )
    other = _serve(
        feed_http,
        isolated,
        "other",
        title="Other Times",
        site="othertimes.example",
        headline="New US export controls on AI chips to China",
        hour="11",
    )
    workspace.invoke("feeds", "add", world, markets, other)
    workspace.invoke("fetch")
    sources = _sources(workspace)
    assert len(sources) == 3
    keys = {source["feed"]: source["outlet"] for source in sources}
    assert keys["Ledger World"] == keys["Ledger Markets"] != keys["Other Times"]

    workspace.invoke("preview", "--date", DAY, "--out", "previews")
    text = (isolated / "previews" / f"digest-{DAY}.txt").read_text()
    # the headline's outlet is not "also reported by" itself through its second feed
    assert "  Ledger World · 1 Jun 09:00 UTC" in text
    also = [line.strip() for line in text.splitlines() if "Also reported by:" in line]
    assert also == ["Also reported by: Other Times"]
    assert "Ledger Markets" not in text

    # the admin names the outlet: its feeds show that name, and say it in `feeds list`
    result = workspace.invoke("feeds", "rename", world, "  The   Ledger ")
    assert result.stdout.strip() == f"renamed {world}: The Ledger"
    listed = {f["url"]: f for f in workspace.json("feeds", "list")}
    assert listed[world]["outlet"] == "The Ledger"
    assert listed[markets]["outlet"] is None
    names = {source["feed"] for source in _sources(workspace)}
    assert names == {"The Ledger", "Other Times"}  # the site's other feed takes the name

    # a feed added with --name
    extra = _serve(
        feed_http,
        isolated,
        "blog",
        title="Ledger Blog",
        site="blogs.ledger.example",
        headline="AI chip curbs: what the new US export rules mean for China",
        hour="12",
    )
    added = workspace.invoke("feeds", "add", extra, "--name", "Ledger Blogs")
    assert added.stdout.strip() == f"added {extra} (Ledger Blogs)"
    assert {f["url"]: f for f in workspace.json("feeds", "list")}[extra]["outlet"] == (
        "Ledger Blogs"
    )


def test_rename_refuses_bad_input_with_one_line(workspace: Workspace):
    workspace.invoke("feeds", "add", "https://one.example/feed.xml")
    missing = workspace.invoke("feeds", "rename", "https://nowhere.example/", "X", code=2)
    assert missing.stderr.strip() == "digest: error: no such feed: https://nowhere.example/"
    empty = workspace.invoke("feeds", "rename", "https://one.example/feed.xml", "  ", code=2)
    assert "must not be empty" in empty.stderr and len(empty.stderr.strip().splitlines()) == 1
    long = workspace.invoke("feeds", "rename", "https://one.example/feed.xml", "x" * 201, code=2)
    assert "at most 200" in long.stderr
    bad_add = workspace.invoke("feeds", "add", "https://two.example/rss", "--name", "", code=2)
    assert "must not be empty" in bad_add.stderr
    # nothing was half-done
    listed = workspace.json("feeds", "list")
    assert [(f["url"], f["outlet"]) for f in listed] == [("https://one.example/feed.xml", None)]


def test_upgrade_keeps_feeds_and_adds_the_outlet_column(database_url: str):
    url = database_at(database_url, "0007")
    run_sql(
        url,
        "insert into feeds (url, title, consecutive_failures, created_at) "
        "values ('https://one.example/rss', 'One', 0, '2026-03-01 05:00:00')",
    )
    with open_database(url):  # upgrades to the latest schema
        pass
    rows = run_sql(url, "select url, title, outlet from feeds")
    assert rows == [("https://one.example/rss", "One", None)]


def test_headline_agreement_counts_outlets_not_feeds():
    from digest.editorial.build import choose_headline
    from digest.editorial.relevance import analyze

    def item(item_id: int, title: str, text: str, outlet: str) -> Item:
        when = datetime(2025, 6, 1, 8 + item_id, tzinfo=UTC)
        link = f"https://news.example/{item_id}"
        return Item(
            id=item_id,
            feed_id=item_id,
            feed_title=outlet,
            guid=str(item_id),
            url=link,
            canonical_url=link,
            title=title,
            summary_html="",
            text=text,
            published=when,
            fetched=when,
            outlet=outlet,
        )

    ledger = ("Washington blacklists Huawei suppliers", "Washington blacklisted Huawei suppliers.")
    other = (
        "US adds Chinese chip firms to trade blacklist",
        "The US added Chinese chip firms to its trade blacklist, including Huawei suppliers.",
    )
    third = (
        "Chinese chip firms added to US blacklist",
        "Chinese chip firms were added to a US trade blacklist on Tuesday.",
    )

    def headline(second_feed_outlet: str) -> str:
        items = [
            item(1, *other, "site:other.example"),
            item(2, *ledger, "site:ledger.example"),
            item(3, *ledger, second_feed_outlet),
            item(4, *third, "site:third.example"),
        ]
        return items[choose_headline([analyze(i) for i in items])].title

    # as two outlets, the ledger's title is the most shared; as one, its echo no longer counts
    assert headline("site:ledger-two.example") == "Washington blacklists Huawei suppliers"
    assert headline("site:ledger.example") == "US adds Chinese chip firms to trade blacklist"
