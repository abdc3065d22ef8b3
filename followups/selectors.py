"""Reads of follow-ups, tasks and complaints, always scoped to what the user may see."""

from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Customer, Status
from crm.access import is_admin, managed_team_ids, scope_owned

from .models import Complaint, FollowUp, NpsResponse, Task, TaskStatus


def visible_tasks(user) -> QuerySet[Task]:
    return scope_owned(Task.objects.all(), user, owner_field="assignee").select_related("customer", "assignee")


def visible_followups(user) -> QuerySet[FollowUp]:
    return scope_owned(
        FollowUp.objects.all(), user, owner_field="customer__owner", team_field="customer__team"
    ).select_related("author", "contact", "customer")


def visible_complaints(user) -> QuerySet[Complaint]:
    return scope_owned(
        Complaint.objects.all(), user, owner_field="customer__owner", team_field="customer__team"
    ).select_related("customer", "customer__owner", "opened_by")


def day_bounds(now: datetime | None = None) -> tuple[datetime, datetime]:
    """Start and end of today in the active time zone."""
    local = timezone.localtime(now or timezone.now())
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


def my_day(user, *, now: datetime | None = None, upcoming_days: int = 7) -> dict:
    """The signed-in person's open tasks: overdue (due before now), the rest of today, the next days;
    and their customers whose next follow-up falls before the end of today."""
    now = now or timezone.now()
    start, end = day_bounds(now)
    tasks = list(
        Task.objects.filter(assignee=user, status=TaskStatus.OPEN, due_at__lt=end + timedelta(days=upcoming_days))
        .select_related("customer")
        .order_by("due_at", "id")[:300]
    )
    due_customers = list(
        Customer.objects.filter(owner=user, merged_into__isnull=True, next_followup_at__lt=end)
        .exclude(status=Status.BLACKLISTED)
        .only("id", "name", "next_followup_at", "next_step", "last_followup_at")
        .order_by("next_followup_at")[:100]
    )
    return {
        "overdue": [t for t in tasks if t.due_at < now],
        "today": [t for t in tasks if now <= t.due_at < end],
        "upcoming": [t for t in tasks if t.due_at >= end],
        "due_customers": due_customers,
        "day_start": start,
        "day_end": end,
    }


def team_members(user) -> QuerySet:
    """The people whose discipline a manager reviews: members of the teams they manage."""
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.filter(is_active=True).select_related("profile__team").order_by("username")
    if is_admin(user):
        return users.filter(profile__team__isnull=False)
    return users.filter(profile__team_id__in=managed_team_ids(user))


def visible_nps_answers(user) -> QuerySet[NpsResponse]:
    return scope_owned(
        NpsResponse.objects.all(), user, owner_field="survey__customer__owner", team_field="survey__team"
    ).select_related("survey__customer", "survey__team")
