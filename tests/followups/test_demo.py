"""Demo data of follow-ups: histories, open and overdue tasks, complaints, NPS answers, cadence tasks."""

import pytest
import time_machine
from django.utils import timezone

from accounts.services.tiering import apply_retier
from crm import demo
from followups.models import Complaint, FollowUp, NpsResponse, Task, TaskOrigin, TaskStatus

pytestmark = pytest.mark.django_db


@time_machine.travel(
    timezone.now(), tick=False
)  # both seeds at one instant: no due date crosses the horizon between them
def test_it_seeds_follow_up_histories_tasks_and_cadence_tasks_once():
    result = demo.seed(customers=60)
    assert result["followups"] == FollowUp.objects.count() > 0
    assert Task.objects.filter(status=TaskStatus.OPEN, due_at__lt=timezone.now()).exists()  # something overdue
    assert Complaint.objects.exists() and NpsResponse.objects.exists()
    cadence = Task.objects.filter(origin=TaskOrigin.CADENCE)
    assert result["cadence_tasks"] == cadence.count() > 0
    assert cadence.filter(assignee__isnull=False, dedupe_key__startswith="cadence:").count() == cadence.count()
    # The churn stories cut some budgets (a lower potential): the tiers already follow, so the
    # cadences seeded last are the final ones and a re-tier now changes no customer's label.
    assert apply_retier().changes == 0
    before = Task.objects.count()
    again = demo.seed(customers=60)
    assert again["cadence_tasks"] == 0 and Task.objects.count() == before
