"""Every beat job is safe to run twice and concurrently: its effects are keyed, so the second
run (or a second beat firing the same job at once) changes nothing.

Parametrised over crm.schedules.SCHEDULES, so a job added there is covered without editing this.
"""

import threading
from datetime import datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.db import close_old_connections, connection
from django.utils import timezone

from crm import demo
from crm.celery import app
from crm.models import OutboxMessage
from crm.schedules import SCHEDULES

from .conftest import diff, snapshot

app.loader.import_default_modules()
# A Wednesday at the start of a quarter, mid-morning: daily, weekly and quarterly jobs all have work.
MOMENT = datetime(2026, 4, 1, 10, 30, tzinfo=timezone.get_fixed_timezone(8 * 60))
# Seeded a day and a few minutes earlier, so no deadline falls exactly between two runs.
SEEDED = MOMENT - timedelta(days=1, minutes=7)
JOBS = [pytest.param(entry.task, id=entry.name) for entry in SCHEDULES]
# Races this battery found and that are not fixed yet; each stays visible here as an xfail.
KNOWN_RACES: dict[str, str] = {}
CONCURRENT_JOBS = [
    pytest.param(
        entry.task,
        id=entry.name,
        marks=[pytest.mark.xfail(reason=KNOWN_RACES[entry.name], raises=AssertionError)]
        if entry.name in KNOWN_RACES
        else [],
    )
    for entry in SCHEDULES
]


def run_job(task_name: str):
    return app.tasks[task_name].apply(throw=True).get()


@pytest.fixture
def demo_world(db):
    with time_machine.travel(SEEDED, tick=False):
        demo.seed(customers=30)


@pytest.mark.parametrize("task_name", JOBS)
def test_a_beat_job_run_twice_leaves_the_same_state(demo_world, task_name, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with time_machine.travel(MOMENT, tick=True):
        before = snapshot()
        run_job(task_name)
        once = snapshot()
        sent_once = len(mail.outbox)
        run_job(task_name)
        twice = snapshot()
    assert diff(once, twice) == {}, f"{task_name} changed the database again on its second run"
    assert len(mail.outbox) == sent_once, f"{task_name} sent mail again on its second run"
    assert before  # the snapshot covered the project's tables


def test_the_demo_world_gives_the_jobs_real_work(demo_world, settings):
    """Guard for the test above: most jobs must have done something, or 'twice = once' proves little."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    busy = []
    with time_machine.travel(MOMENT, tick=True):
        for entry in SCHEDULES:
            before = snapshot()
            sent = len(mail.outbox)
            run_job(entry.task)
            if diff(before, snapshot()) or len(mail.outbox) != sent:
                busy.append(entry.name)
    assert len(busy) >= len(SCHEDULES) // 2, busy
    assert "receivables-daily-reminders" in busy


def _run_concurrently(task_name: str, copies: int = 2) -> list[BaseException]:
    barrier = threading.Barrier(copies)
    errors = []

    def beat():
        try:
            barrier.wait(timeout=30)
            run_job(task_name)
        except BaseException as exc:  # reported by the test
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=beat) for _ in range(copies)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return errors


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("task_name", CONCURRENT_JOBS)
def test_two_beats_firing_a_job_at_once_produce_its_effects_once(task_name, settings):
    """Two schedulers (or a redelivery) start the same job at the same moment in two connections:
    the row counts equal those of a single run, and a third run changes nothing."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with time_machine.travel(SEEDED, tick=False):
        demo.seed(customers=30)
    with time_machine.travel(MOMENT, tick=False):
        reference = _single_run_counts(task_name)
        errors = _run_concurrently(task_name)
        assert not errors, errors
        concurrent = snapshot(content=False)
        assert diff(reference, concurrent) == {}, f"{task_name}: two concurrent runs differ from one run"
        run_job(task_name)
        assert diff(concurrent, snapshot(content=False)) == {}
    keys = list(OutboxMessage.objects.values_list("key", flat=True))
    assert len(keys) == len(set(keys))


def _single_run_counts(task_name: str) -> dict:
    """Row counts after one run, measured inside a transaction that is then rolled back."""
    from django.db import transaction

    class Rollback(Exception):
        pass

    try:
        with transaction.atomic():
            run_job(task_name)
            counts = snapshot(content=False)
            raise Rollback
    except Rollback:
        pass
    return counts
