"""The project's Celery app for the crash test, with one addition: when CRM_TEST_PAUSE_MARKER is
set, the first job attempt pauses just before its outermost transaction commits (all its work
done, nothing committed) and writes its PID to that file, so the test can `kill -9` the worker
child mid-job. Later attempts (the marker exists) run straight through."""

import os
import time
from pathlib import Path

from django.db import transaction

from crm.celery import app

__all__ = ["app"]

MARKER = os.environ.get("CRM_TEST_PAUSE_MARKER")

if MARKER:
    _original_exit = transaction.Atomic.__exit__

    def _pause_before_first_commit(self, exc_type, exc_value, traceback):
        connection = transaction.get_connection(self.using)
        outermost = connection.in_atomic_block and not connection.savepoint_ids
        if exc_type is None and outermost and not Path(MARKER).exists():
            Path(MARKER).write_text(str(os.getpid()))
            time.sleep(120)  # the test kills this process long before
        return _original_exit(self, exc_type, exc_value, traceback)

    transaction.Atomic.__exit__ = _pause_before_first_commit
