"""Hand-built editions for the rendering and MIME tests (fictional stories and outlets)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from digest.render import EditionRenderer
from digest.types import Edition, Section, Source, Story, Window

EDITION_DATE = date(2026, 3, 10)
WINDOW = Window(
    start=datetime(2026, 3, 9, 6, 0, tzinfo=UTC),
    end=datetime(2026, 3, 10, 6, 0, tzinfo=UTC),
)
HOSTILE_TITLE = '<script>alert(1)</script> & "quotes" in tariff row'
HOSTILE_OUTLET = '<img src=x onerror="alert(2)">Gazette'
BASE_URL = "https://digest.example.org"

LONG_SUMMARY = (
    "Commerce officials said on Monday that the revised rules would cover advanced "
    "lithography tools and the servicing of machines already installed, closing what they "
    "called a loophole that let suppliers keep maintaining equipment at restricted plants. "
    "Industry groups warned that allies had not yet agreed to matching measures."
)


def when(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 9, hour, minute, tzinfo=UTC)


def make_story(
    title: str,
    url: str,
    *,
    section: str,
    outlets: tuple[str, ...] = ("Harbour Wire",),
    summary: str = LONG_SUMMARY,
    score: float = 1.0,
    published: datetime | None = None,
    first_id: int = 1,
) -> Story:
    published = published or when(9, 30)
    sources = tuple(
        Source(
            item_id=first_id + n,
            feed=outlet,
            title=title,
            url=f"{url}?via={n}",
            published=published + timedelta(minutes=10 * n),
        )
        for n, outlet in enumerate(outlets)
    )
    return Story(
        title=title,
        url=url,
        summary=summary,
        published=published,
        section=section,
        score=score,
        sources=sources,
    )


def make_edition(sections: tuple[Section, ...]) -> Edition:
    return Edition(
        topic="us-china-trade",
        topic_title="US–China trade",
        date=EDITION_DATE,
        window=WINDOW,
        sections=sections,
    )


@pytest.fixture
def edition() -> Edition:
    return sample_edition()


def sample_edition() -> Edition:
    """The fixed edition of the rendering tests (and of the golden files)."""
    chips = Section(
        key="chips",
        title="Export controls & chips",
        stories=(
            make_story(
                "Washington widens curbs on chipmaking tool servicing",
                "https://news.example.com/2026/03/09/chip-tool-curbs",
                section="chips",
                outlets=("Harbour Wire", "Outlet B", "Outlet C", "Harbour Wire"),
                score=9.5,
                published=when(7, 5),
            ),
            make_story(
                "Dutch supplier says new rules will trim 2026 sales",
                "https://news.example.net/markets/dutch-supplier?id=42&ref=rss",
                section="chips",
                outlets=("Lowlands Daily",),
                score=4.0,
                published=when(11, 45),
                first_id=10,
            ),
        ),
    )
    tariffs = Section(
        key="tariffs",
        title="Tariffs",
        stories=(
            make_story(
                HOSTILE_TITLE,
                "https://news.example.org/tariff-row",
                section="tariffs",
                outlets=(HOSTILE_OUTLET, "Outlet <b>Bold</b>"),
                summary='Summary with <em>markup</em> & an "ampersand" that must stay text.',
                score=6.0,
                published=when(14, 20),
                first_id=20,
            ),
        ),
    )
    empty = Section(key="minerals", title="Critical minerals", stories=())
    return make_edition((chips, empty, tariffs))


@pytest.fixture
def empty_edition() -> Edition:
    return make_edition(
        (
            Section(key="chips", title="Export controls & chips", stories=()),
            Section(key="tariffs", title="Tariffs", stories=()),
        )
    )


def _big_edition(stories_per_section: int = 8, sections: int = 5) -> Edition:
    built = []
    for s in range(sections):
        key = f"section-{s}"
        stories = tuple(
            make_story(
                f"Story {s}-{n}: officials weigh the next step in the dispute over supplies",
                f"https://news.example.com/2026/03/09/{key}/story-{n}-with-a-fairly-long-slug",
                section=key,
                outlets=("Harbour Wire", "Outlet B", "Outlet C"),
                score=float(100 - s * 10 - n),
                published=when((5 + n) % 24, (7 * s) % 60),
                first_id=1000 * s + 10 * n,
            )
            for n in range(stories_per_section)
        )
        built.append(Section(key=key, title=f"Section number {s}", stories=stories))
    return make_edition(tuple(built))


@pytest.fixture
def renderer() -> EditionRenderer:
    return sample_renderer()


def sample_renderer() -> EditionRenderer:
    return EditionRenderer(
        digest_name="The Trade Brief",
        base_url=BASE_URL + "/",
        contact_line="The Trade Brief, 1 Example Street, London EC1A 1AA",
    )


@pytest.fixture
def big_edition():
    """Factory: an edition of ``sections`` sections of ``stories_per_section`` stories each."""
    return _big_edition


@pytest.fixture
def hostile_title() -> str:
    return HOSTILE_TITLE


@pytest.fixture
def hostile_outlet() -> str:
    return HOSTILE_OUTLET
