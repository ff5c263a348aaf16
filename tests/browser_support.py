"""Browser fixtures, shared by every browser test: one headless Debian chromium per session (a second
sync Playwright in the same process is refused), a fresh context and page per test.

The pages are served by pytest-django's ``live_server`` (a real threaded server over the transactional test
database). Playwright's sync API runs an event loop in the test thread, so Django would refuse ORM calls made
from the test body ("SynchronousOnlyOperation"); tests are the documented place for DJANGO_ALLOW_ASYNC_UNSAFE.
"""

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PASSWORD = "pw-for-tests-1"  # what tests/conftest.py's make_member sets
TIMEOUT_MS = 15_000

expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    # From here on Playwright's event loop runs in the test thread (see the module's docstring).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Browser, live_server) -> Iterator[Page]:
    """A fresh context (no cookies, no session) and page, its relative URLs resolved against the live server."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1400, "height": 900},
                                  accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def logged_in_page(page: Page) -> Callable[..., Page]:
    """``logged_in_page(user)``: log ``user`` in through the real form at /login/ and return the page."""

    def log_in(user, password: str = PASSWORD) -> Page:
        page.goto("/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(lambda url: "/login/" not in url)
        expect(page.get_by_text(user.username, exact=False).first).to_be_visible()
        return page

    return log_in


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def screenshot(artifacts: Path) -> Callable[[Page, str], Path]:
    """``screenshot(page, "name")``: a full-page PNG in tests/artifacts/ for a reviewer to look at."""

    def take(page: Page, name: str) -> Path:
        path = artifacts / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
