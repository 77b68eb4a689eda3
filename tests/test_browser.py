"""A person clicks the unsubscribe link of a real sent email, in a real headless browser."""

from __future__ import annotations

import re
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.support.expected_conditions import text_to_be_present_in_element
from selenium.webdriver.support.wait import WebDriverWait

from digest.app import make_app
from digest.config import load_settings
from digest.loopback import free_port
from tests.browser import click_to_load, headless_chromium, serving
from tests.conftest import Workspace


def test_unsubscribe_by_clicking_the_link_in_a_sent_email(
    workspace: Workspace, fixture_feeds, smtp_server, tmp_path: Path
):
    from digest.web.app import create_web_app

    port = free_port()
    workspace.write_config(extra="")
    workspace.config.write_text(
        workspace.config.read_text().replace(
            'base_url = "https://news.example"', f'base_url = "http://127.0.0.1:{port}"'
        )
    )
    workspace.invoke("feeds", "add", *fixture_feeds.values())
    workspace.invoke("subscribers", "add", "ada@example.com", "--name", "Ada")
    workspace.invoke("run", "--any-date", "--date", "2025-06-02")
    (message,) = smtp_server.handler.parsed()
    html = message.get_body(("html",)).get_content()
    link = re.search(r'href="(http://127\.0\.0\.1:\d+/u/[^"]+)"', html).group(1)

    with (
        make_app(load_settings(workspace.config)) as app,
        serving(create_web_app(app), port),
        headless_chromium() as browser,
    ):
        browser.get(link)
        assert "Unsubscribe" in browser.title
        assert "ada@example.com" in browser.page_source
        assert app.subscribers.find("ada@example.com").status == "active"  # GET: no change
        browser.save_screenshot(str(tmp_path / "unsubscribe.png"))
        click_to_load(browser, browser.find_element(By.CSS_SELECTOR, "form button[type=submit]"))
        # the click loads a new page: wait for it rather than read the old one
        WebDriverWait(browser, 10).until(
            text_to_be_present_in_element((By.TAG_NAME, "h1"), "You are unsubscribed")
        )
        assert app.subscribers.find("ada@example.com").status == "unsubscribed"
        browser.get(f"http://127.0.0.1:{port}/archive/2025-06-02")
        assert "US–China" in browser.page_source
    assert workspace.json("send", "--any-date", "--date", "2025-06-02")["counts"]["sent"] == 1
    assert len(smtp_server.handler.messages) == 1


def test_confirm_then_preferences_then_leave_from_real_emails(
    workspace: Workspace, fixture_feeds, smtp_server, tmp_path: Path
):
    """Double opt-in from the confirmation email, then the digest's preferences link."""
    from selenium.webdriver.support.select import Select

    from digest.web.app import create_web_app

    port = free_port()
    workspace.config.write_text(
        workspace.config.read_text().replace(
            'base_url = "https://news.example"', f'base_url = "http://127.0.0.1:{port}"'
        )
    )
    workspace.invoke("feeds", "add", *fixture_feeds.values())
    workspace.invoke("subscribers", "add", "bob@example.com", "--name", "Bob", "--confirm")
    (confirmation,) = smtp_server.handler.parsed()
    confirm_html = confirmation.get_body(("html",)).get_content()
    confirm_link = re.search(r'href="(http://127\.0\.0\.1:\d+/confirm/[^"]+)"', confirm_html)

    with (
        make_app(load_settings(workspace.config)) as app,
        serving(create_web_app(app), port),
        headless_chromium() as browser,
    ):
        wait = WebDriverWait(browser, 10)
        browser.get(confirm_link.group(1))
        assert app.subscribers.find("bob@example.com").status == "pending"
        click_to_load(browser, browser.find_element(By.CSS_SELECTOR, "form button[type=submit]"))
        wait.until(text_to_be_present_in_element((By.TAG_NAME, "h1"), "You are subscribed"))
        assert app.subscribers.find("bob@example.com").status == "active"

        workspace.invoke("run", "--any-date", "--date", "2025-06-02")
        digest = smtp_server.handler.parsed()[-1]
        html = digest.get_body(("html",)).get_content()
        link = re.search(r'href="(http://127\.0\.0\.1:\d+/preferences/[^"]+)"', html)
        browser.get(link.group(1))
        assert "bob@example.com" in browser.page_source
        browser.find_element(By.CSS_SELECTOR, "input[value=tariffs]").click()  # untick
        browser.find_element(By.CSS_SELECTOR, "input[name=format][value=text]").click()
        Select(browser.find_element(By.ID, "timezone")).select_by_value("Asia/Tokyo")
        browser.find_element(By.ID, "paused").click()
        click_to_load(browser, browser.find_element(By.ID, "save"))
        wait.until(text_to_be_present_in_element((By.CLASS_NAME, "notice"), "saved"))
        browser.save_screenshot(str(tmp_path / "preferences.png"))
        bob = app.subscribers.find("bob@example.com")
        assert "tariffs" not in bob.sections and bob.sections
        assert (bob.format, bob.timezone, bob.paused) == ("text", "Asia/Tokyo", True)
        assert list(app.subscribers.iter_active()) == []

        click_to_load(browser, browser.find_element(By.ID, "leave"))
        wait.until(text_to_be_present_in_element((By.TAG_NAME, "h1"), "You are unsubscribed"))
        assert app.subscribers.find("bob@example.com").status == "unsubscribed"
