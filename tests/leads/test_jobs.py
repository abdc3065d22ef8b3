"""Nurture touches, the weekly high-potential list, and the beat entries."""

from datetime import date

import pytest
import time_machine
from django.core import mail
from django.test import override_settings

from crm.outbox import drain
from crm.schedules import SCHEDULES
from leads import services, tasks
from leads.models import AssignmentPolicy, HighPotentialList, Intent, LeadStatus, Touch
from leads.sms import LocmemSMSBackend
from tests.leads.factories import LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sms_outbox():
    LocmemSMSBackend.outbox = []
    with override_settings(LEADS_SMS_BACKEND="leads.sms.LocmemSMSBackend"):
        yield LocmemSMSBackend.outbox


def nurtured(**fields):
    return LeadFactory(status=LeadStatus.NURTURING, **fields)


def test_it_sends_each_nurtured_lead_an_email_and_an_sms_and_records_them(sms_outbox):
    lead = nurtured(email="a@example.com", phone="13812345678", company="培育公司")
    nurtured(email="b@example.com")
    LeadFactory(status=LeadStatus.WORKING, email="busy@example.com")
    counts = services.send_nurture_touches()
    assert counts == {"email": 2, "sms": 1}
    assert mail.outbox == []  # queued with the touches; the outbox's drain (every minute) sends them
    assert drain() == {"sent": 2, "failed": 0}
    assert sorted(m.to[0] for m in mail.outbox) == ["a@example.com", "b@example.com"]
    assert sms_outbox[0][0] == "13812345678" and "培育公司" in sms_outbox[0][1]
    assert set(lead.touches.values_list("kind", flat=True)) == {"email", "sms"}


def test_it_never_sends_twice_in_the_same_period_but_again_in_the_next(sms_outbox):
    AssignmentPolicy.objects.update_or_create(pk=1, defaults={"nurture_cadence_days": 14})
    lead = nurtured(email="a@example.com", phone="13812345678")
    with time_machine.travel("2026-05-04 10:00 +0800", tick=False):
        services.send_nurture_touches()
        assert services.send_nurture_touches() == {"email": 0, "sms": 0}
        tasks.send_nurture_touches()
    drain()
    assert len(mail.outbox) == 1 and len(sms_outbox) == 1
    with time_machine.travel("2026-05-30 10:00 +0800", tick=False):
        assert services.send_nurture_touches() == {"email": 1, "sms": 1}
    assert Touch.objects.filter(lead=lead).count() == 4


def test_it_logs_sms_with_the_default_backend(caplog):
    nurtured(phone="13812345678")
    with caplog.at_level("INFO", logger="leads.sms"):
        services.send_nurture_touches()
    assert "13812345678" in caplog.text


def test_it_builds_the_weekly_list_once_and_emails_each_manager_what_they_may_see(
    personas, django_capture_on_commit_callbacks
):
    LeadFactory(company="甲队高潜", owner=personas.rep_a, intent=Intent.HIGH, score=90)
    LeadFactory(company="乙队高潜", owner=personas.rep_c, intent=Intent.HIGH, score=85)
    LeadFactory(company="公海高潜", intent=Intent.HIGH, score=80)
    LeadFactory(company="低意向", intent=Intent.LOW, score=10)
    with django_capture_on_commit_callbacks(execute=True):  # sent from the outbox after the commit
        snapshot = services.build_high_potential_list(today=date(2026, 6, 10))
    assert snapshot.week == date(2026, 6, 8)  # the Monday
    assert [r["company"] for r in snapshot.rows] == ["甲队高潜", "乙队高潜", "公海高潜"]
    by_manager = {m.to[0]: m.body for m in mail.outbox}
    assert "甲队高潜" in by_manager["manager_a@example.com"] and "乙队高潜" not in by_manager["manager_a@example.com"]
    assert "公海高潜" in by_manager["manager_b@example.com"]
    with django_capture_on_commit_callbacks(execute=True):
        again = services.build_high_potential_list(today=date(2026, 6, 12))
    assert again.pk == snapshot.pk and len(mail.outbox) == 2
    assert HighPotentialList.objects.count() == 1


def test_it_declares_every_lead_job_in_the_schedule_table():
    entries = {s.task: s for s in SCHEDULES}
    assert entries["leads.tasks.rescore_leads"].crontab == "0 2 * * *"
    assert entries["leads.tasks.recycle_pool"].crontab == "30 2 * * *"
    assert "leads.tasks.send_nurture_touches" in entries
    assert entries["leads.tasks.build_high_potential_list"].crontab.endswith("* * 1")  # Mondays
    from crm.celery import app

    app.loader.import_default_modules()
    for name in entries:
        if name.startswith("leads."):
            assert name in app.tasks


def test_it_routes_a_lead_through_the_thin_task(personas):
    lead = LeadFactory(intent=Intent.HIGH)
    tasks.assign_lead(lead.pk)
    lead.refresh_from_db()
    assert lead.owner == personas.rep_b
