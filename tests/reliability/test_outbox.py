"""The outbox: must-happen work is written with the change, delivered once after the commit,
retried when delivery fails, and survives a Redis outage; the web keeps serving meanwhile."""

import json
import os
import subprocess
import sys
import threading

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection, transaction

from accounts.models import Customer
from crm.models import OutboxKind, OutboxMessage
from crm.outbox import drain, queue_emails
from tests.crm.test_celery import _database_url

from .conftest import RedisServer, free_port, wait_for

LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


class BrokenMailServer:
    def __init__(self, *args, **kwargs):
        pass

    def __enter__(self):
        raise ConnectionRefusedError("smtp down")

    def __exit__(self, *exc):
        return False


def reminder(n: int):
    return (f"reminder:{n}:reminder", f"Payment reminder {n}", "body", [f"ap{n}@example.com"])


def test_it_queues_a_keyed_message_once_and_delivers_it_once_after_the_commit(
    db, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = LOCMEM
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert queue_emails([reminder(1), reminder(2)]) == 2
        assert queue_emails([reminder(1)]) == 0  # a job run twice queues nothing new
        assert mail.outbox == []  # nothing leaves before the commit
    assert callbacks  # delivery waits for the commit
    assert sorted(m.to[0] for m in mail.outbox) == ["ap1@example.com", "ap2@example.com"]
    assert drain() == {"sent": 0, "failed": 0}
    assert len(mail.outbox) == 2
    assert set(OutboxMessage.objects.values_list("attempts", flat=True)) == {1}


def test_a_rolled_back_job_leaves_no_message(db, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = LOCMEM
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        queue_emails([reminder(1)])
        raise RuntimeError("the job failed half-way")
    assert not OutboxMessage.objects.exists()
    assert mail.outbox == []


def test_a_failed_delivery_is_retried_by_the_drain_job(db, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "tests.reliability.test_outbox.BrokenMailServer"
    with django_capture_on_commit_callbacks(execute=True):
        queue_emails([reminder(1)])
    message = OutboxMessage.objects.get()
    assert message.sent_at is None and "smtp down" in message.last_error and message.attempts == 1
    settings.EMAIL_BACKEND = LOCMEM
    assert drain() == {"sent": 1, "failed": 0}
    assert drain() == {"sent": 0, "failed": 0}
    assert [m.to for m in mail.outbox] == [["ap1@example.com"]]
    message.refresh_from_db()
    assert message.sent_at is not None and message.attempts == 2


@pytest.mark.django_db(transaction=True)
def test_two_drains_at_once_deliver_each_message_once(settings):
    settings.EMAIL_BACKEND = LOCMEM
    queue_emails([reminder(n) for n in range(60)], deliver_now=False)
    barrier = threading.Barrier(2)

    def drainer():
        barrier.wait(timeout=30)
        try:
            drain()
        finally:
            connection.close()

    threads = [threading.Thread(target=drainer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(f"ap{n}@example.com" for n in range(60))
    assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()


def _probe(phase: str, redis_url: str, tmp_path, *args) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "crm.test_settings",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": redis_url,
        "REDIS_CONNECT_TIMEOUT": "1",
        "CRM_VAR_DIR": str(tmp_path),
    }
    command = [sys.executable, "-m", "tests.reliability.redis_probe", phase, *map(str, args)]
    done = subprocess.run(
        command, cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_with_redis_down_the_web_serves_and_commits_and_the_job_runs_once_redis_is_back(personas, tmp_path):
    """Redis crashed: pages answer, writes commit, the enqueued job waits in the outbox; when
    Redis is back, the drain publishes it to the broker."""
    import redis

    server = RedisServer(tmp_path)
    server.port = free_port()
    server.url = f"redis://127.0.0.1:{server.port}/0"
    down = _probe("serve", server.url, tmp_path, personas.manager_a.pk)  # nothing listens on that port
    assert down["statuses"] == [200, 200]
    assert down["seconds"] < 20
    assert down["parked"] == 1
    assert Customer.objects.filter(pk=down["customer"], name="REDIS-DOWN 写入").exists()  # committed
    parked = OutboxMessage.objects.get(kind=OutboxKind.TASK)
    assert parked.payload["task"] == "crm.tasks.heartbeat"

    server.start()
    try:
        assert _probe("drain", server.url, tmp_path) == {"sent": 1, "failed": 0}
        queued = redis.Redis.from_url(server.url).llen("celery")
        assert queued == 1  # the job is on the broker's queue for the workers
        parked.refresh_from_db()
        assert parked.sent_at is not None
        assert _probe("drain", server.url, tmp_path) == {"sent": 0, "failed": 0}
        wait_for(lambda: redis.Redis.from_url(server.url).llen("celery") == 1, timeout=5, message="still one job")
    finally:
        server.stop()
