"""A real headless Chromium (Debian's chromium + chromium-driver) driven by Selenium."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def require_browser() -> None:
    """In CI the browser must be there (.ci/run installs it); elsewhere say how to get it."""
    if os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER):
        return
    message = (
        "browser tests need Chromium and ChromeDriver (apt-get install chromium chromium-driver)"
    )
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def headless_chromium(width: int = 1000, height: int = 900) -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    require_browser()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    with tempfile.TemporaryDirectory() as profile:
        for flag in (
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
        ):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
        try:
            yield driver
        finally:
            driver.quit()


@contextmanager
def serving(wsgi_app: object, port: int) -> Iterator[None]:
    """``wsgi_app`` served on 127.0.0.1:``port`` from a thread, for a browser to visit."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", port, wsgi_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield
    finally:
        server.shutdown()


def click_to_load(browser: object, element: object, timeout: float = 20) -> None:
    """Click something that loads a new page, and wait until the old page is gone.

    Reading the page straight after the click can find the old page, or fail while the
    document is being swapped or is still loading ("Node ... does not belong to the
    document"), under load.
    """
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    page = browser.find_element(By.TAG_NAME, "html")  # type: ignore[attr-defined]
    element.click()  # type: ignore[attr-defined]

    def old_page_gone(_browser: object) -> bool:
        try:
            page.is_enabled()  # type: ignore[attr-defined]
        except StaleElementReferenceException:
            return True
        except WebDriverException as exc:
            # Mid-swap, ChromeDriver reports the old node as foreign to the (new) document
            # rather than stale: gone all the same.
            if "does not belong to the document" in (exc.msg or ""):
                return True
            raise
        return False

    wait = WebDriverWait(browser, timeout)
    wait.until(old_page_gone)
    # ChromeDriver can renumber the new document's nodes until it has loaded: an element found
    # before then may fail with the same error when clicked.
    wait.until(lambda b: b.execute_script("return document.readyState") == "complete")
