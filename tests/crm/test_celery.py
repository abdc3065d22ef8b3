"""Celery wiring: the heartbeat job, the beat schedule table, and a real worker on Redis."""

import os
import subprocess
import sys
import time

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection
from django_celery_beat.models import PeriodicTask

from crm.celery import app
from crm.models import Heartbeat
from crm.schedules import SCHEDULES
from crm.services import ensure_periodic_tasks, record_heartbeat
from crm.tasks import heartbeat
from tests.conftest import redis_ping, require


@pytest.mark.django_db
def test_it_counts_each_heartbeat_run_and_keeps_one_row():
    record_heartbeat(worker="w1")
    beat = record_heartbeat(worker="w2")
    assert beat.run_count == 2
    assert beat.worker == "w2"
    assert Heartbeat.objects.count() == 1


@pytest.mark.django_db
def test_it_runs_the_heartbeat_task_body():
    assert heartbeat.apply().get() == 1
    assert Heartbeat.objects.get(name="heartbeat").run_count == 1


@pytest.mark.django_db
def test_it_creates_every_declared_schedule_once_and_keeps_admin_edits():
    assert set(ensure_periodic_tasks()) == {s.name for s in SCHEDULES}
    PeriodicTask.objects.filter(name="heartbeat").update(enabled=False)
    assert ensure_periodic_tasks() == []
    assert PeriodicTask.objects.get(name="heartbeat").enabled is False
    assert PeriodicTask.objects.count() == len(SCHEDULES)


def test_it_registers_every_scheduled_task_with_celery():
    app.loader.import_default_modules()
    for entry in SCHEDULES:
        assert entry.task in app.tasks


def _redis_url():
    return os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"


def _database_url():
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    host, port = s.get("HOST") or "127.0.0.1", s.get("PORT") or 5432
    return f"postgres://{s['USER']}:{s.get('PASSWORD') or ''}@{host}:{port}/{s['NAME']}"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_it_runs_the_heartbeat_through_a_real_worker_on_redis(tmp_path):
    url = _redis_url()
    require(redis_ping(url), f"Redis not reachable at {url}")
    queue = f"test-{os.getpid()}-{time.monotonic_ns()}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "crm.test_settings",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": url,
        "CRM_VAR_DIR": str(tmp_path),
    }
    log = tmp_path / "worker.log"
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "crm",
            "worker",
            "--pool=solo",
            "-Q",
            queue,
            "-n",
            f"{queue}@%h",
            "-l",
            "INFO",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        # Publish only once the worker has bound its queue: Redis drops messages sent to an
        # exchange nobody is bound to yet.
        deadline = time.monotonic() + 120  # generous: CI runs browsers beside this on two cores
        while time.monotonic() < deadline and " ready." not in log.read_text(errors="replace"):
            assert worker.poll() is None, log.read_text(errors="replace")
            time.sleep(0.3)
        # A bare client app publishes the message, so nothing other tests did to the project's
        # app (eager mode, cached config) can short-circuit the trip through Redis.
        sender = Celery("test-sender", broker=url)
        sender.send_task("crm.tasks.heartbeat", queue=queue)
        sender.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not Heartbeat.objects.filter(name="heartbeat").exists():
            assert worker.poll() is None, log.read_text(errors="replace")
            time.sleep(0.3)
        beat = Heartbeat.objects.filter(name="heartbeat").first()
        assert beat is not None, log.read_text(errors="replace")
        assert beat.run_count == 1
        assert beat.worker.startswith(queue)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
