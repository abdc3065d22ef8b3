"""Shared personas and helpers. Personas are the same everywhere, so tests read as sentences:

team A: manager_a manages it; rep_a and rep_b work in it.  team B: manager_b, rep_c.
finance and admin belong to no team. Each rep owns a customer with a marker name.
"""

import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings

from crm.roles import Role
from tests.factories import CustomerFactory, TeamFactory, UserFactory

IN_CI = bool(os.environ.get("CI"))


def require(condition: bool, reason: str) -> None:
    """Skip locally when a tool or service is missing, but fail in CI where everything must run."""
    if not condition:
        if IN_CI:
            pytest.fail(f"required in CI: {reason}")
        pytest.skip(reason)


def redis_ping(url: str) -> bool:
    """Whether a Redis answers at `url` (half a second at most)."""
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5).ping())
    except redis.RedisError:
        return False


@pytest.fixture
def personas(db):
    team_a = TeamFactory(name="A队")
    team_b = TeamFactory(name="B队")
    manager_a = UserFactory(username="manager_a", role=Role.MANAGER, team=team_a)
    manager_b = UserFactory(username="manager_b", role=Role.MANAGER, team=team_b)
    team_a.manager, team_b.manager = manager_a, manager_b
    team_a.save()
    team_b.save()
    p = SimpleNamespace(
        team_a=team_a,
        team_b=team_b,
        manager_a=manager_a,
        manager_b=manager_b,
        rep_a=UserFactory(username="rep_a", role=Role.SALES_REP, team=team_a),
        rep_b=UserFactory(username="rep_b", role=Role.SENIOR_REP, team=team_a),
        rep_c=UserFactory(username="rep_c", role=Role.SALES_REP, team=team_b),
        finance=UserFactory(username="finance", role=Role.FINANCE),
        admin=UserFactory(username="admin", role=Role.ADMIN),
    )
    p.customer_a = CustomerFactory(name="MARKER-A 甲公司", owner=p.rep_a)
    p.customer_b = CustomerFactory(name="MARKER-B 乙公司", owner=p.rep_b)
    p.customer_c = CustomerFactory(name="MARKER-C 丙公司", owner=p.rep_c)
    return p


@pytest.fixture
def client_for(client):
    """client_for(user) → the test client signed in as that user."""

    def _login(user):
        client.force_login(user)
        return client

    return _login


# --- Browser harness: Playwright for Python driving Debian's chromium headless (tests/e2e, and the
# reliability tests that look at a page). One session-wide browser per test process.
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
        from crm.backends import planted_session_key

        context = browser.new_context(viewport={"width": 1366, "height": 860}, locale="zh-CN")
        context.set_default_timeout(15_000)
        cookies = []
        if user is not None:
            key = planted_session_key(user)
            cookies.append({"name": settings.SESSION_COOKIE_NAME, "value": key, "url": live_server.url})
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


def click_nav(page, key: str) -> None:
    """Click a main-navigation entry, opening the "More" menu first when the entry lives there."""
    link = page.locator(f"[data-testid=main-nav] [data-nav={key}]")
    if not link.is_visible():
        page.locator("[data-testid=nav-more]").click()
    link.click()


@pytest.fixture
def english(settings, client):
    """For tests that read the English wording: English as the site default (jobs that speak the
    team's language), in this thread, and chosen by the test client (language cookie)."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def stable_query_counts(monkeypatch, settings):
    """For tests that compare the queries of two requests: nothing that depends on time or on cache
    state may land in only one of them — the session's once-a-minute last-seen UPDATE is kept out of
    both, and with no cache every cached figure (the bell's unread count …) is queried in both."""
    from crm.middleware import SessionTimeoutMiddleware

    monkeypatch.setattr(SessionTimeoutMiddleware, "TOUCH_EVERY", 10**9)
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
