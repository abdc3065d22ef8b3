"""Browser test harness: Playwright for Python driving Debian's /usr/bin/chromium headless.

The app is served by pytest-django's live server (a thread on a free loopback port, against the
test database). Sign-in is done by planting a real session cookie, so each test starts fast;
one test uses the login form itself. Screenshots go to test-artifacts/screenshots/.
"""

# The fixtures (browser, new_page, screenshot) live in tests/conftest.py, shared with the
# reliability tests that drive a browser: one Playwright instance per test process.
