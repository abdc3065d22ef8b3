"""Settings for the test suite: the one settings module with its TESTING switch on."""

import os

os.environ.setdefault("DJANGO_TESTING", "1")

from .settings import *  # noqa: F403

# A shared Redis cache must not mix keys of parallel test processes (each has its own database, so
# the same user id is a different user) nor of an earlier run: one key prefix per process and run.
if "KEY_PREFIX" not in CACHES["default"]:  # noqa: F405
    _run = os.environ.get("PYTEST_XDIST_TESTRUNUID") or str(os.getpid())
    CACHES["default"]["KEY_PREFIX"] = f"test-{_run}-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"  # noqa: F405
