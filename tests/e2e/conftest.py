"""Browser test harness: Playwright for Python driving Debian's /usr/bin/chromium headless.

The app is served by pytest-django's live server (a thread on a free loopback port, against the
test database). Sign-in is done by planting a real session cookie, so each test starts fast;
one test uses the login form itself. Screenshots go to test-artifacts/screenshots/.
"""

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import require

# Playwright's sync API runs an event loop in this thread; the ORM calls tests make are safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(settings.BASE_DIR) / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    require(Path(CHROMIUM).exists(), f"chromium not found at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, live_server):
    """new_page(user=None, lang=None) → a page; signed in as `user` when given."""
    contexts = []

    def _open(user=None, lang=None):
        from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
        from django.contrib.sessions.backends.db import SessionStore

        context = browser.new_context(viewport={"width": 1366, "height": 860}, locale="zh-CN")
        context.set_default_timeout(15_000)
        cookies = []
        if user is not None:
            session = SessionStore()
            session[SESSION_KEY] = str(user.pk)
            session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
            session[HASH_SESSION_KEY] = user.get_session_auth_hash()
            session.save()
            cookies.append({"name": settings.SESSION_COOKIE_NAME, "value": session.session_key, "url": live_server.url})
        if lang:
            cookies.append({"name": settings.LANGUAGE_COOKIE_NAME, "value": lang, "url": live_server.url})
        if cookies:
            context.add_cookies(cookies)
        contexts.append(context)
        page = context.new_page()
        page.base_url = live_server.url
        return page

    yield _open
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot():
    def _shot(page, name):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return _shot
