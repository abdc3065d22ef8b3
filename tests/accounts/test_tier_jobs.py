"""The quarterly job, its beat entry and the `retier` command (with --preview)."""

from datetime import datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from accounts.models import TierAssessment, TierRun
from accounts.services import tiering
from accounts.tasks import quarterly_retier
from crm.schedules import SCHEDULES

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Asia/Shanghai")


def test_the_quarterly_job_is_scheduled_on_the_first_day_of_each_quarter():
    entry = next(s for s in SCHEDULES if s.task == "accounts.tasks.quarterly_retier")
    assert entry.crontab.split()[2:] == ["1", "1,4,7,10", "*"]


def test_the_job_re_tiers_everyone_once_per_quarter(personas):
    with time_machine.travel(datetime(2026, 4, 1, 1, 0, tzinfo=TZ), tick=False):
        first = quarterly_retier.apply().get()
        assert (first["customers"], first["changed"], first["moves"]) == (3, 3, {"— → C": 3})
        assert quarterly_retier.apply().get() == {"skipped": True}  # a second delivery
    assert TierAssessment.objects.count() == 3 and TierRun.objects.count() == 1
    # a manager's "re-tier now" does not count as the quarter's review
    with time_machine.travel(datetime(2026, 6, 30, 12, 0, tzinfo=TZ), tick=False):
        tiering.apply_retier(by=personas.manager_a)
    with time_machine.travel(datetime(2026, 7, 1, 1, 0, tzinfo=TZ), tick=False):
        assert quarterly_retier.apply().get()["changed"] == 0
    assert TierRun.objects.filter(by=None).count() == 2


def test_the_command_previews_without_writing_then_applies(personas):
    out = StringIO()
    call_command("retier", "--preview", stdout=out)
    assert "3 customers, 3 would change" in out.getvalue() and "— → C: 3" in out.getvalue()
    assert not TierAssessment.objects.exists()
    call_command("retier", stdout=out)
    assert TierAssessment.objects.count() == 3 and "3 changed" in out.getvalue()
