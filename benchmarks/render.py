"""Email rendering benchmark: size against Gmail's clip, and render-once vs per-subscriber cost.

    python benchmarks/render.py [--subscribers N]

Builds synthetic editions (a quiet day, a busy day, an absurd day) in memory and prints, for each:
the HTML and text sizes after personalization, how many stories the email shows, the time to
render the edition once, the time to personalize it for one subscriber, and their ratio (the
baseline run in the same process: a full render per subscriber would cost the ratio times more).
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, date, datetime, timedelta

from digest.render import EditionRenderer
from digest.types import Edition, Section, Source, Story, Window

GMAIL_CLIP = 102 * 1024


def edition(sections: int, stories: int, words: int, outlets: int) -> Edition:
    start = datetime(2026, 3, 9, 6, 0, tzinfo=UTC)
    built = []
    for s in range(sections):
        items = []
        for n in range(stories):
            url = f"https://news.example.com/s{s}/story-{n}-about-the-dispute"
            items.append(
                Story(
                    title=f"Story {s}-{n}: officials weigh the next step on export rules",
                    url=url,
                    summary=" ".join(["officials"] * words),
                    published=start + timedelta(minutes=n),
                    section=f"s{s}",
                    score=float(-n),
                    sources=tuple(
                        Source(n * 100 + m, f"Outlet {m}", "t", f"{url}?m={m}", start)
                        for m in range(outlets)
                    ),
                )
            )
        built.append(Section(key=f"s{s}", title=f"Section {s}", stories=tuple(items)))
    return Edition(
        topic="bench",
        topic_title="Benchmark topic",
        date=date(2026, 3, 10),
        window=Window(start, start + timedelta(days=1)),
        sections=tuple(built),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=2000)
    args = parser.parse_args()
    renderer = EditionRenderer(
        digest_name="Benchmark Brief", base_url="https://digest.example", contact_line="1 Street"
    )
    renderer.render(edition(1, 1, 10, 1))  # compile the templates first
    days = {
        "quiet (2 sections x 3)": edition(2, 3, 60, 2),
        "busy (6 sections x 12)": edition(6, 12, 70, 4),
        "absurd (20 sections x 300)": edition(20, 300, 400, 15),
    }
    for name, day in days.items():
        started = time.perf_counter()
        rendered = renderer.render(day)
        render_s = time.perf_counter() - started
        started = time.perf_counter()
        for i in range(args.subscribers):
            email = rendered.personalize(
                unsubscribe_url=f"https://digest.example/u/{i}.{'t' * 60}",
                preferences_url=f"https://digest.example/preferences/{i}.{'p' * 60}",
            )
        each_s = (time.perf_counter() - started) / args.subscribers
        size = len(email.html.encode("utf-8"))
        print(
            f"{name:28} html {size / 1024:6.1f} KiB ({size / GMAIL_CLIP:4.0%} of the clip)  "
            f"text {len(email.text.encode()) / 1024:5.1f} KiB  stories {email.html.count('<h3'):3}"
            f"  render {render_s * 1000:6.1f} ms  personalize {each_s * 1e6:6.1f} us"
            f"  ratio {render_s / each_s:6.0f}x"
        )


if __name__ == "__main__":
    main()
