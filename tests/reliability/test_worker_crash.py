"""A worker child killed with SIGKILL in the middle of a job: the job's transaction rolls back,
the broker redelivers the message (acks_late + reject_on_worker_lost), the next child runs it,
and its effects exist once — also when a second beat fires the same job afterwards.

A real Celery worker (prefork, one child) and a private redis-server, both started here on free
loopback ports and ended by PID.
"""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from celery import Celery
from django.conf import settings
from django.utils import timezone

from accounts.models import Contact
from crm.models import OutboxMessage
from receivables import services
from receivables.models import Condition, Notice, NoticeKind
from tests.crm.test_celery import _database_url

from .conftest import stop_process, wait_for

JOB = "receivables.tasks.run_daily_reminders"


def test_the_worker_settings_make_a_lost_job_come_back():
    from crm.celery import app

    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.task_time_limit < settings.CRM_BROKER_VISIBILITY_TIMEOUT


def _world(personas):
    """Two installments: one due in 7 days (a reminder email), one a day overdue (a collection)."""
    today = timezone.localdate()
    Contact.objects.create(customer=personas.customer_a, name="李会计", email="ap@example.com", is_primary=True)
    services.create_contract(
        customer=personas.customer_a,
        by=personas.finance,
        amount=Decimal(3000),
        signed_on=today - timedelta(days=40),
        title="合同",
        plan=[
            services.PlanLine(Decimal(1000), today - timedelta(days=1), Condition.PREPAYMENT),
            services.PlanLine(Decimal(2000), today + timedelta(days=7), Condition.PREPAYMENT),
        ],
    )


def _start_worker(tmp_path, redis_url, queue, marker):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "crm.test_settings",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": redis_url,
        "CRM_VAR_DIR": str(tmp_path),
        "CRM_TEST_PAUSE_MARKER": str(marker),
    }
    log = tmp_path / "worker.log"
    command = [sys.executable, "-m", "celery", "-A", "tests.reliability.worker_app", "worker"]
    command += ["--pool=prefork", "--concurrency=1", "-Q", queue, "-n", f"{queue}@%h", "-l", "INFO"]
    proc = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    return proc, log


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_job_killed_mid_run_completes_once_after_redelivery(personas, tmp_path, redis_server):
    _world(personas)
    queue = f"crash-{os.getpid()}-{time.monotonic_ns()}"
    marker = tmp_path / "paused.pid"
    worker, log = _start_worker(tmp_path, redis_server.url, queue, marker)
    text = lambda: log.read_text(errors="replace")  # noqa: E731
    try:
        wait_for(lambda: " ready." in text() or worker.poll() is not None, timeout=120, message="worker ready")
        assert worker.poll() is None, text()
        sender = Celery("crash-sender", broker=redis_server.url)
        sender.send_task(JOB, queue=queue)

        child = int(wait_for(lambda: marker.exists() and marker.read_text(), timeout=60, message="job paused"))
        assert child != worker.pid  # a pool child, not the worker's main process
        assert not Notice.objects.exists()  # mid-job: nothing committed yet
        os.kill(child, signal.SIGKILL)
        # Only a redelivery of that one message can complete the job now.
        wait_for(lambda: "succeeded in" in text(), timeout=90, message="the redelivered job to finish")
        assert "WorkerLostError" in text() or "signal 9" in text(), text()

        sender.send_task(JOB, queue=queue)  # a second beat fires the same job
        sender.close()
        wait_for(lambda: text().count("succeeded in") >= 2, timeout=60, message="the second delivery")
        assert worker.poll() is None, "the worker replaced its child and kept running"
    finally:
        stop_process(worker)

    kinds = sorted(Notice.objects.values_list("kind", flat=True))
    assert kinds == sorted([NoticeKind.REMINDER, NoticeKind.COLLECTION])
    mail = OutboxMessage.objects.get(key__startswith="reminder:")
    assert mail.payload["to"] == ["ap@example.com"]
    assert mail.sent_at is not None and mail.attempts == 1  # delivered once, after the commit
    # the notice email about the collection task: queued by the run that committed only
    assert OutboxMessage.objects.filter(key__startswith="notice:").count() == 1
    assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()
    from followups.models import Task

    assert Task.objects.filter(dedupe_key__startswith="receivables:").count() == 2
