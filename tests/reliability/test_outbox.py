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


def _notice(personas):
    from followups.services import notify

    notify(users=[personas.rep_a], verb="新任务：回访")
    return {"rep_a@example.com"}


def _sop_letter(personas):
    from accounts.models import Contact, Customer, Stage
    from accounts.services.lifecycle import set_stage
    from followups import services

    services.ensure_default_sops()
    Contact.objects.create(customer=personas.customer_a, name="陈总", email="chen@example.com", is_primary=True)
    Customer.objects.filter(pk=personas.customer_a.pk).update(stage=Stage.NEGOTIATION)
    set_stage(customer=personas.customer_a, stage=Stage.WON, by=personas.rep_a)  # its SOP: the kickoff letter
    return {"chen@example.com"}


def _nps(personas):
    from accounts.models import Contact, Customer, Stage
    from followups import services

    Customer.objects.filter(pk=personas.customer_a.pk).update(stage=Stage.WON)
    Contact.objects.create(customer=personas.customer_a, name="陈总", email="chen@example.com", is_primary=True)
    assert services.send_nps_surveys() == 1
    return {"chen@example.com"}


def _nurture(personas):
    from leads import services
    from tests.leads.factories import LeadFactory

    LeadFactory(status="nurturing", email="lead@example.com", phone="")
    assert services.send_nurture_touches()["email"] == 1
    return {"lead@example.com"}


def _high_potential(personas):
    from leads import services
    from leads.models import Intent
    from tests.leads.factories import LeadFactory

    LeadFactory(company="高潜", owner=personas.rep_a, intent=Intent.HIGH, score=90)
    services.build_high_potential_list()
    return {"manager_a@example.com", "manager_b@example.com"}


@pytest.mark.parametrize("job", [_notice, _sop_letter, _nps, _nurture, _high_potential], ids=lambda f: f.__name__)
def test_every_email_the_app_sends_waits_in_the_outbox_through_a_mail_outage(
    personas, settings, django_capture_on_commit_callbacks, job
):
    settings.EMAIL_BACKEND = "tests.reliability.test_outbox.BrokenMailServer"
    with django_capture_on_commit_callbacks(execute=True):
        expected = job(personas)  # the business action succeeds while the mail server is down
    assert mail.outbox == []
    pending = OutboxMessage.objects.filter(sent_at__isnull=True, kind=OutboxKind.EMAIL)
    assert {to for payload in pending.values_list("payload", flat=True) for to in payload["to"]} >= expected
    settings.EMAIL_BACKEND = LOCMEM
    drain()  # the beat job, once the mail server is back
    assert {to for m in mail.outbox for to in m.to} >= expected
    assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()


APP_CODE = [
    path
    for app in ("accounts", "crm", "followups", "leads", "receivables")
    for path in (settings.BASE_DIR / app).rglob("*.py")
    if path.name != "outbox.py" and "migrations" not in path.parts
]
DIRECT_SEND = ("from django.core.mail import", "from django.core import mail", "send_mail(", "mail_admins(")


def test_no_code_outside_the_outbox_sends_email_itself():
    """Every email of the app goes through crm.outbox (written with the change, retried)."""
    sources = {path: path.read_text(encoding="utf-8") for path in APP_CODE}
    offenders = [f"{path.name}: {needle}" for path, text in sources.items() for needle in DIRECT_SEND if needle in text]
    assert offenders == []


def test_delivered_messages_are_pruned_after_ninety_days_pending_ones_stay(db):
    from datetime import timedelta

    from django.utils import timezone

    from crm.outbox import prune
    from crm.tasks import prune_outbox

    now = timezone.now()
    queue_emails([reminder(1), reminder(2), reminder(3), reminder(4)], deliver_now=False)
    rows = {m.key: m for m in OutboxMessage.objects.all()}
    OutboxMessage.objects.filter(pk=rows["reminder:1:reminder"].pk).update(sent_at=now - timedelta(days=91))
    OutboxMessage.objects.filter(pk=rows["reminder:2:reminder"].pk).update(sent_at=now - timedelta(days=89))
    OutboxMessage.objects.filter(pk=rows["reminder:3:reminder"].pk).update(created_at=now - timedelta(days=200))
    # reminder 4: pending, new
    assert prune(now=now) == 1
    assert sorted(OutboxMessage.objects.values_list("key", flat=True)) == [
        "reminder:2:reminder",  # delivered recently: still guards its key
        "reminder:3:reminder",  # old but never delivered: still to send
        "reminder:4:reminder",
    ]
    assert prune_outbox() == 0  # the daily job: nothing more to do
