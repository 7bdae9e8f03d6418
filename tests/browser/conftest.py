"""Tests in a real browser: Debian's Chromium driven by Playwright, against a live server.

They skip, naming what is missing, where Chromium or Playwright is not installed; `.ci/run`
installs both, so they run in CI. Never a downloaded browser: only the system's Chromium.
"""

import shutil

import pytest
from django.conf import settings
from django.test import Client

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def browser(live_server, monkeypatch):
    """Start Chromium for one test; it is gone before the test's database is cleaned."""
    if CHROMIUM is None:
        pytest.skip("needs Chromium (Debian package chromium) for browser tests")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("needs Playwright for Python (the playwright package) for browser tests")
    # Playwright's sync API runs an event loop in this thread while it is started; the test's
    # own ORM calls are ordinary synchronous code all the same. Set per test, so it reaches no
    # other test (manage.py check --deploy refuses it, rightly).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def signed_in(browser, live_server):
    """Open a page signed in as ``user`` at the given width; close it afterwards.

    The session is made as the test client makes one, so a test is about its page, not about
    signing in (which has tests of its own).
    """
    contexts = []

    def sign_in(user, *, width=1280):
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        context = browser.new_context(viewport={"width": width, "height": 900})
        context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
        contexts.append(context)
        return context.new_page()

    yield sign_in
    for context in contexts:
        context.close()
