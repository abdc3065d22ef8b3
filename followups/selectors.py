"""Reads of follow-ups, tasks and complaints, always scoped to what the user may see."""

from datetime import datetime, timedelta

from django.db.models import Count, Q, QuerySet
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


MY_DAY_ITEMS = 25  # per section, as a list page; the badge shows the count and a link opens the whole list
COUNT_CAP = 1000
TASK_ITEM_FIELDS = ("title", "due_at", "origin", "customer", "customer__name")  # the keys come along


def my_day(user, *, now: datetime | None = None, upcoming_days: int = 7, items: int = MY_DAY_ITEMS) -> dict:
    """The signed-in person's open tasks: overdue (due before now, oldest first), the rest of today,
    the next days; and their customers whose next follow-up falls before the end of today.

    Each section lists its first `items` with the section's full count beside it: a big book has
    thousands of overdue tasks, and a page listing them all helps no one (nor loads fast)."""
    now = now or timezone.now()
    start, end = day_bounds(now)
    horizon = end + timedelta(days=upcoming_days)
    mine = Task.objects.filter(assignee=user, status=TaskStatus.OPEN)
    sections = {
        "overdue": Q(due_at__lt=now),
        "today": Q(due_at__gte=now, due_at__lt=end),
        "upcoming": Q(due_at__gte=end, due_at__lt=horizon),
    }
    # Only what a task's line shows (followups/partials/task_item.html): a customer row has ~40
    # columns, and building 75 of them whole was a quarter of the page.
    listed = mine.select_related("customer").only(*TASK_ITEM_FIELDS)
    tasks = {
        name: list(listed.filter(condition).order_by("due_at", "id")[:items]) for name, condition in sections.items()
    }
    due = Customer.objects.filter(owner=user, merged_into__isnull=True, next_followup_at__lt=end).exclude(
        status=Status.BLACKLISTED
    )
    due_customers = list(
        due.only("id", "name", "next_followup_at", "next_step", "last_followup_at").order_by("next_followup_at")[:items]
    )
    counts = {name: _count(rows, mine.filter(sections[name]), items) for name, rows in tasks.items()}
    counts["due_customers"] = _count(due_customers, due, items)
    return {
        **tasks,
        "counts": counts,
        "count_cap": COUNT_CAP,
        "due_customers": due_customers,
        "day_start": start,
        "day_end": end,
    }


def _count(listed: list, queryset: QuerySet, items: int) -> int:
    """A section's count: the listed rows when they are fewer than a page (nothing more to count),
    else counted up to COUNT_CAP (shown as "1000+"): an exact count of a 100,000-task book costs
    more than the rest of the page, and past a thousand the number no longer changes what one does."""
    if len(listed) < items:
        return min(len(listed), COUNT_CAP + 1)
    return queryset.order_by()[: COUNT_CAP + 1].count()


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


def open_task_counts(user_ids: list[int], now: datetime):
    """Open and overdue tasks per assignee. Like `followup_counts`, it names only columns of its
    index (assignee, status, due_at), so PostgreSQL counts from the index alone."""
    return (
        Task.objects.filter(assignee_id__in=user_ids, status=TaskStatus.OPEN)
        .values("assignee_id")
        .annotate(open=Count("*"), overdue=Count("due_at", filter=Q(due_at__lt=now)))
    )


def followup_counts(user_ids: list[int], since: datetime):
    """Follow-ups logged and logged late per author since `since`, from followup_author_idx alone
    (author, logged_at, is_late included): a team's month at a million customers is 230,000."""
    return (
        FollowUp.objects.filter(author_id__in=user_ids, logged_at__gte=since)
        .values("author_id")
        .annotate(logged=Count("*"), late=Count("is_late", filter=Q(is_late=True)))
    )
