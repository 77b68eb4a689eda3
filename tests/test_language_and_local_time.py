"""The email's language ([digest] language) and story times in each subscriber's own zone, on a
real send: fixture feeds over loopback HTTP, a SQLite file, the aiosmtpd sink."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from babel.messages.pofile import read_po

from digest.i18n import LOCALE_DIR, available_languages, translations
from tests.conftest import Workspace
from tests.test_editions_zones import bodies, text_of, zone_send

TIME = re.compile(
    r"^  (?P<outlet>.+) · (?:(?P<day>\d{1,2}) (?P<month>[A-Z][a-z]{2}) )?"
    r"(?P<hh>\d\d):(?P<mm>\d\d) (?P<zone>\S+)$",
    re.MULTILINE,
)
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def setup(workspace: Workspace, feeds: dict[str, str], **digest: str) -> None:
    workspace.write_config(**digest)
    workspace.invoke("feeds", "add", *feeds.values())
    workspace.invoke("fetch")
    workspace.invoke("subscribers", "add", "ada@example.com")
    workspace.invoke("subscribers", "add", "kei@example.jp")
    workspace.invoke("subscribers", "set", "kei@example.jp", "--timezone", "Asia/Tokyo")


def story_times(text: str) -> dict[str, tuple[datetime, str]]:
    """Headline -> (local day and time, in a fixed year; zone abbreviation) of each story."""
    found = {}
    text = text.replace("\r\n", "\n")
    lines = text.splitlines()
    for match in TIME.finditer(text):
        index = lines.index(match.group(0))
        headline = lines[index - 1].lstrip("* ").strip()
        # the window spans two days, so every byline names its day
        assert match["day"], match.group(0)
        month = MONTHS.index(match["month"]) + 1
        when = datetime(2000, month, int(match["day"]), int(match["hh"]), int(match["mm"]))
        found[headline] = (when, match["zone"])
    return found


def test_each_subscriber_sees_story_times_in_their_own_zone(workspace, fixture_feeds, smtp_server):
    setup(workspace, fixture_feeds)
    zone_send(workspace, "Asia/Tokyo")
    zone_send(workspace, "")
    got = bodies(smtp_server)
    utc = story_times(text_of(got["ada@example.com"]))
    tokyo = story_times(text_of(got["kei@example.jp"]))
    assert utc and tokyo
    assert {zone for _, zone in utc.values()} == {"UTC"}
    assert {zone for _, zone in tokyo.values()} == {"JST"}
    shared = set(utc) & set(tokyo)
    assert shared, "the two editions share no story"
    for headline in shared:
        gap = tokyo[headline][0] - utc[headline][0]
        assert gap == timedelta(hours=9), headline
    html = next(
        p.get_payload(decode=True).decode()
        for p in got["kei@example.jp"].walk()
        if p.get_content_type() == "text/html"
    )
    assert " JST</p>" in html and " UTC</p>" not in html


def test_a_french_edition_has_french_dates_and_text(workspace, fixture_feeds, smtp_server):
    setup(workspace, fixture_feeds, language="fr")
    zone_send(workspace, "")
    message = bodies(smtp_server)["ada@example.com"]
    text = text_of(message)
    assert "lundi 2 juin 2025" in text  # DAY, a Monday
    assert "Aujourd’hui en bref :" in text and "Se désabonner :" in text
    assert "Today in brief" not in text and "Unsubscribe:" not in text
    assert ", 2 juin: " in message["Subject"]
    html = next(
        p.get_payload(decode=True).decode()
        for p in message.walk()
        if p.get_content_type() == "text/html"
    )
    assert '<html lang="fr">' in html and "Gérer vos préférences" in html
    assert "Lire cette édition en ligne" in html


def test_the_confirmation_email_is_in_the_language_too(workspace: Workspace, smtp_server):
    workspace.write_config(language="fr")
    workspace.invoke("subscribers", "add", "ada@example.com", "--confirm")
    (message,) = smtp_server.handler.parsed()
    assert message["Subject"] == "Confirmez votre abonnement à US–China Trade Digest"
    text = " ".join(message.get_body(("plain",)).get_content().split())  # unwrapped
    assert "Le lien est valable 72 heures." in text
    assert "a demandé à recevoir US–China Trade Digest à l’adresse ada@example.com" in text
    html = message.get_body(("html",)).get_content()
    assert '<html lang="fr">' in html and "Confirmer mon abonnement" in html


def test_every_catalogue_translates_every_string_and_keeps_its_placeholders():
    english = translations("en")
    for language in available_languages()[1:]:
        catalogue = translations(language)
        for singular, plural in (("%(num)d story", "%(num)d stories"),):
            assert catalogue.ngettext(singular, plural, 2) != english.ngettext(singular, plural, 2)
        with (LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
            catalog = read_po(po)
        for message in catalog:
            if not message.id:
                continue
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            assert all(strings), f"{language}: {ids[0]!r} is not translated"
            wanted = set(re.findall(r"%\(\w+\)[sd]", ids[-1]))
            for string in strings:
                assert set(re.findall(r"%\(\w+\)[sd]", string)) <= wanted | {"%(num)d"}, string


def test_an_unknown_language_is_a_one_line_error(workspace: Workspace):
    workspace.write_config(language="xx")
    result = workspace.invoke("subscribers", "list", code=2)
    assert "[digest] language must be one of en, fr, not 'xx'" in result.stderr
