"""The email and the editor's desk in a real headless Chromium.

The email is loaded at a phone's width (375 px), at its design width (600 px) and in dark mode;
nothing may overflow sideways and every piece of text must keep a WCAG contrast ratio of at
least 4.5:1 against what is behind it. Screenshots go to ``tests/artifacts/`` (not committed)
or to ``$DIGEST_TEST_ARTIFACTS``.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.expected_conditions import text_to_be_present_in_element
from selenium.webdriver.support.wait import WebDriverWait

from digest.app import make_app
from digest.config import load_settings
from digest.delivery.bodies import fold_newlines
from digest.desk.changes import story_key
from digest.editions.service import Editions
from digest.loopback import free_port
from tests.browser import click_to_load, headless_chromium, serving
from tests.conftest import Workspace
from tests.render.conftest import _big_edition, sample_edition, sample_renderer

ARTIFACTS = Path(
    os.environ.get("DIGEST_TEST_ARTIFACTS") or Path(__file__).resolve().parent / "artifacts"
)

# For every visible element with its own text: its colour, the first opaque background behind
# it, and their WCAG contrast ratio. Returns the worst few.
CONTRAST_JS = r"""
function rgb(s) { const m = s.match(/[\d.]+/g).map(Number); return m.length > 3 ? m : [...m, 1]; }
function lum(c) {
  const [r, g, b] = c.slice(0, 3).map(v => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
function background(el) {
  for (let e = el; e; e = e.parentElement) {
    const c = rgb(getComputedStyle(e).backgroundColor);
    if (c[3] > 0.5) return c;
  }
  return [255, 255, 255, 1];
}
const out = [];
for (const el of document.body.querySelectorAll('*')) {
  const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
  if (!own) continue;
  const style = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  if (style.display === 'none' || style.visibility === 'hidden' || +style.opacity === 0) continue;
  if (box.width <= 1 || box.height <= 1) continue;
  const fg = rgb(style.color), bg = background(el);
  const [a, b] = [lum(fg) + 0.05, lum(bg) + 0.05];
  out.push({ratio: Math.max(a, b) / Math.min(a, b), text: el.textContent.trim().slice(0, 40),
            color: style.color, tag: el.tagName});
}
out.sort((x, y) => x.ratio - y.ratio);
return out.slice(0, 5);
"""

OVERFLOW_JS = """
const d = document.documentElement;
return {scroll: d.scrollWidth, client: d.clientWidth, viewport: window.innerWidth,
        widest: Math.max(...[...document.body.querySelectorAll('*')]
                              .map(e => e.getBoundingClientRect().right))};
"""


def show(browser, width: int, dark: bool) -> None:
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600},
    )
    browser.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]},
    )


@pytest.fixture
def email_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("emails")
    renderer = sample_renderer()
    long_word = "Supercalifragilisticexpialidocious" * 4 + "-tariff-schedule-" * 3
    editions = {
        "sample": replace(sample_edition(), note="A quiet day; talks resume on Thursday."),
        "busy": _big_edition(stories_per_section=12, sections=4),
    }
    chips = editions["sample"].sections[0]
    unbroken = replace(chips.stories[1], title=long_word, summary=long_word * 2)
    editions["long-words"] = replace(
        editions["sample"], sections=(replace(chips, stories=(chips.stories[0], unbroken)),)
    )
    files = {}
    for name, edition in editions.items():
        path = folder / f"{name}.html"
        path.write_text(renderer.render_preview(edition).html, encoding="utf-8")
        files[name] = path
    return files


def test_email_fits_and_stays_readable(email_files):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    cases = [
        (name, width, dark)
        for name in ("sample", "busy", "long-words")
        for width, dark in ((375, False), (600, False), (375, True), (600, True))
    ]
    with headless_chromium(width=800, height=900) as browser:
        for name, width, dark in cases:
            show(browser, width, dark)
            browser.get(email_files[name].as_uri())
            label = f"{name}-{width}px-{'dark' if dark else 'light'}"
            browser.save_screenshot(str(ARTIFACTS / f"email-{label}.png"))
            sizes = browser.execute_script(OVERFLOW_JS)
            assert sizes["viewport"] == width, label
            # (a vertical scrollbar may take a little of the width; nothing may scroll sideways)
            assert sizes["scroll"] <= sizes["client"], (label, sizes)
            assert sizes["widest"] <= sizes["client"] + 0.5, (label, sizes)
            worst = browser.execute_script(CONTRAST_JS)
            assert worst, "no text found"
            assert worst[0]["ratio"] >= 4.5, (label, worst)
            body_bg = browser.execute_script(
                "return getComputedStyle(document.querySelector('.container')).backgroundColor"
            )
            # dark mode really applies (and light mode really is light)
            assert (body_bg == "rgb(255, 255, 255)") != dark, (label, body_bg)
        # the checks themselves catch what they are for
        show(browser, 375, False)
        faint = ARTIFACTS / "faint.html"
        faint.write_text(
            '<meta name="viewport" content="width=device-width">'
            '<p style="color:#aaaaaa">faint grey text</p><div style="width:700px">wide</div>',
            encoding="utf-8",
        )
        browser.get(faint.as_uri())
        assert browser.execute_script(CONTRAST_JS)[0]["ratio"] < 4.5
        sizes = browser.execute_script(OVERFLOW_JS)
        assert sizes["scroll"] > sizes["client"]
        faint.unlink()


# Every element's box and the page's visible text: what folding line breaks must not change.
LAYOUT_JS = """
return {text: document.body.innerText,
        boxes: [...document.querySelectorAll('*')].map(e => {
          const r = e.getBoundingClientRect();
          return [e.tagName, r.x, r.y, r.width, r.height].join(' '); })};
"""


def test_the_email_as_sent_lays_out_exactly_like_the_rendered_one(email_files, tmp_path):
    """The HTML part goes out with its line breaks folded into spaces (fewer lines on the
    wire); a browser must draw the same page from it."""
    with headless_chromium(width=800, height=900) as browser:
        for name in ("sample", "busy"):
            folded = tmp_path / f"{name}-folded.html"
            markup = email_files[name].read_text(encoding="utf-8")
            folded.write_text(fold_newlines(markup), encoding="utf-8")
            assert folded.read_text(encoding="utf-8").count("\n") < markup.count("\n") / 10
            for width in (375, 600):
                show(browser, width, dark=False)
                browser.get(email_files[name].as_uri())
                rendered = browser.execute_script(LAYOUT_JS)
                browser.get(folded.as_uri())
                assert browser.execute_script(LAYOUT_JS) == rendered, (name, width)


def test_desk_exclude_pin_approve(workspace: Workspace, fixture_feeds):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    from digest.web.desk import create_desk_app

    workspace.invoke("feeds", "add", *fixture_feeds.values())
    workspace.invoke("fetch")
    day = date(2025, 6, 2)
    port = free_port()
    with make_app(load_settings(workspace.config)) as app:
        built = Editions(app).get_or_build(Editions(app).key(day))
        gallium = next(story_key(s) for s in built.stories if "gallium" in s.title)
        geneva = next(story_key(s) for s in built.stories if "Geneva" in s.title)
        with (
            serving(create_desk_app(app), port),
            headless_chromium(width=1300, height=1000) as browser,
        ):
            browser.get(f"http://127.0.0.1:{port}/edition/{day}")
            assert "editor's desk" in browser.page_source
            browser.save_screenshot(str(ARTIFACTS / "desk-before.png"))

            def submit(button: object) -> None:
                # Each action reloads the page: the previous page's "Saved" must not
                # satisfy the next wait.
                click_to_load(browser, button)

            def click(key: str, action: str) -> None:
                submit(
                    browser.find_element(
                        By.CSS_SELECTOR, f'tr[data-story="{key}"] button[value="{action}"]'
                    )
                )
                WebDriverWait(browser, 20).until(
                    text_to_be_present_in_element((By.CSS_SELECTOR, ".flash"), "Saved")
                )

            click(gallium, "exclude")
            click(geneva, "pin")
            submit(browser.find_element(By.ID, "approve"))
            WebDriverWait(browser, 20).until(
                text_to_be_present_in_element((By.ID, "status"), "APPROVED")
            )
            # the rendered email on the page reflects the changes
            text_part = browser.find_element(By.ID, "text-part").text
            assert "gallium" not in text_part
            first_story = text_part.split("\n* ", 1)[1]
            assert first_story.startswith("Treasury chief to meet")
            browser.switch_to.frame(browser.find_element(By.TAG_NAME, "iframe"))
            assert "Treasury chief" in browser.find_element(By.CSS_SELECTOR, "h3").text
            browser.switch_to.default_content()
            browser.save_screenshot(str(ARTIFACTS / "desk-after.png"))
        stored = app.store.get_edition(Editions(app).key(day))
        assert stored is not None and stored.status == "approved"
        changes = app.store.get_changes(app.topic.key, day)
        assert changes["exclude"][0] == gallium and changes["pin"][0] == geneva
