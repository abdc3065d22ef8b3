"""Settings for the test suite: the one settings module with its TESTING switch on."""

import os

os.environ.setdefault("DJANGO_TESTING", "1")

from .settings import *  # noqa: F403
