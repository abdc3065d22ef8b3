"""Shared helpers of the reliability battery: free ports, bounded child processes ended by PID,
a private redis-server, and a snapshot of the whole database to compare states.

Tests marked `stress` (database faults, load) run only with CRM_STRESS=1 (`make stress`).
"""

import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from django.apps import apps
from django.db import connection, models

from tests.conftest import redis_ping, require

ROOT = Path(__file__).resolve().parents[2]


def pytest_configure(config):
    config.addinivalue_line("markers", "stress: long fault and load runs, only with CRM_STRESS=1 (make stress)")


def pytest_collection_modifyitems(config, items):
    if os.environ.get("CRM_STRESS") == "1":
        return
    skip = pytest.mark.skip(reason="stress run: set CRM_STRESS=1 or use `make stress`")
    for item in items:
        if "stress" in item.keywords:
            item.add_marker(skip)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, *, timeout: float, interval: float = 0.2, message: str = "condition"):
    """Poll `condition()` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def stop_process(proc: subprocess.Popen, *, timeout: float = 15) -> None:
    """End a child we started, by its PID: SIGTERM, then SIGKILL after `timeout` seconds."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=timeout)


class RedisServer:
    """A private redis-server on a free loopback port, nothing persisted; stop() and start() again."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.proc = None

    def start(self) -> "RedisServer":
        binary = shutil.which("redis-server")
        require(binary is not None, "redis-server is not installed (apt-get install redis-server)")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: redis_ping(self.url), timeout=15, message="redis-server to answer")
        return self

    def kill(self) -> None:
        """Crash it (SIGKILL by PID): everything it held is gone, as after a real outage."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path).start()
    try:
        yield server
    finally:
        server.stop()


# Columns that say *when* a row was looked at, not *what* it holds: the heartbeat counts its runs
# by design, and beat's own bookkeeping is not an effect of the jobs.
VOLATILE = {
    "crm.heartbeat": {"run_count", "last_run_at", "worker"},
    "crm.dashboardsnapshot": {"computed_at"},  # when the run happened, like the heartbeat
}
IGNORED_APPS = {"django_celery_beat", "sessions", "admin", "axes"}


def snapshot(*, content: bool = True) -> dict[str, tuple[int, str]]:
    """{table: (row count, digest of every row's values)} over every model of the project."""
    state = {}
    with connection.cursor() as cursor:
        for model in apps.get_models(include_auto_created=True):
            meta = model._meta
            if meta.app_label in IGNORED_APPS or not meta.managed or meta.proxy:
                continue
            skip = VOLATILE.get(meta.label_lower, set())
            columns = [
                f.column for f in meta.concrete_fields if f.name not in skip and not isinstance(f, models.BinaryField)
            ]
            table = connection.ops.quote_name(meta.db_table)
            cols = ", ".join(connection.ops.quote_name(c) for c in columns)
            cursor.execute(f"SELECT {cols} FROM {table} ORDER BY {connection.ops.quote_name(meta.pk.column)}")  # noqa: S608
            rows = cursor.fetchall()
            digest = hashlib.sha256(repr(rows).encode()).hexdigest() if content else ""
            state[meta.db_table] = (len(rows), digest)
    return state


def diff(before: dict, after: dict) -> dict:
    return {t: (before.get(t), after.get(t)) for t in before.keys() | after.keys() if before.get(t) != after.get(t)}


def sign_in(client, user) -> None:
    """Sign `client` in as `user` by planting a session, as a browser that signed in earlier would."""
    from django.conf import settings

    from crm.backends import planted_session_key

    client.cookies[settings.SESSION_COOKIE_NAME] = planted_session_key(user)
