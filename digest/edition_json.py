"""Edition <-> JSON: the stored form of an edition, and what `digest build --json` prints."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from digest.types import Edition, EditionStatus, Section, Source, Story, Window


def edition_to_dict(edition: Edition) -> dict[str, Any]:
    return {
        "topic": edition.topic,
        "topic_title": edition.topic_title,
        "date": edition.date.isoformat(),
        "window": {
            "start": edition.window.start.isoformat(),
            "end": edition.window.end.isoformat(),
        },
        "status": edition.status,
        "sections": [
            {
                "key": section.key,
                "title": section.title,
                "stories": [_story_to_dict(story) for story in section.stories],
            }
            for section in edition.sections
        ],
        **({"note": edition.note} if edition.note else {}),
    }


def _story_to_dict(story: Story) -> dict[str, Any]:
    return {
        "title": story.title,
        "url": story.url,
        "summary": story.summary,
        "published": story.published.isoformat(),
        "section": story.section,
        "score": round(story.score, 4),
        "sources": [
            {
                "feed": source.feed,
                "title": source.title,
                "url": source.url,
                "published": source.published.isoformat(),
                "item_id": source.item_id,
                **({"outlet": source.outlet} if source.outlet else {}),
            }
            for source in story.sources
        ],
    }


def edition_from_dict(
    data: dict[str, Any],
    *,
    status: str | None = None,
    edition_id: int | None = None,
    built_at: datetime | None = None,
) -> Edition:
    return Edition(
        topic=data["topic"],
        topic_title=data.get("topic_title", data["topic"]),
        date=date.fromisoformat(data["date"]),
        window=Window(
            start=datetime.fromisoformat(data["window"]["start"]),
            end=datetime.fromisoformat(data["window"]["end"]),
        ),
        sections=tuple(
            Section(
                key=section["key"],
                title=section["title"],
                stories=tuple(_story_from_dict(story) for story in section["stories"]),
            )
            for section in data["sections"]
        ),
        status=EditionStatus(status or data.get("status", "draft")),
        note=str(data.get("note") or ""),
        id=edition_id,
        built_at=built_at,
    )


def _story_from_dict(data: dict[str, Any]) -> Story:
    return Story(
        title=data["title"],
        url=data["url"],
        summary=data["summary"],
        published=datetime.fromisoformat(data["published"]),
        section=data["section"],
        score=float(data.get("score", 0.0)),
        sources=tuple(
            Source(
                item_id=int(source.get("item_id", 0)),
                feed=source["feed"],
                title=source["title"],
                url=source["url"],
                published=datetime.fromisoformat(source["published"]),
                outlet=str(source.get("outlet") or ""),
            )
            for source in data["sources"]
        ),
    )
