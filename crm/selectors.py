"""Reads for the overview pages of the `crm` package."""

from django.contrib.auth import get_user_model
from django.db.models import Count

from accounts.selectors import visible_customers

from .access import managed_team_ids
from .models import Heartbeat, Team


def home_summary(user) -> dict:
    customers = visible_customers(user)
    # One pass counts every owner's customers; the total is their sum (a second COUNT would read
    # the same rows again: at a million customers a manager's team is 165,000 of them).
    counts = dict(customers.order_by().values_list("owner").annotate(n=Count("id")))
    people = get_user_model().objects.only("username", "first_name", "last_name")
    owners = people.in_bulk([pk for pk in counts if pk is not None])
    per_owner = sorted(
        ({"name": _owner_name(owners.get(pk)), "n": n} for pk, n in counts.items()),
        key=lambda row: (-row["n"], row["name"]),
    )[:12]
    return {
        "customer_count": sum(counts.values()),
        "recent_customers": list(customers.order_by("-created_at")[:8]),
        "per_owner": per_owner,
        "teams": list(Team.objects.filter(id__in=managed_team_ids(user)).select_related("manager")),
    }


def _owner_name(owner) -> str:
    if owner is None:
        return "-"
    return f"{owner.last_name}{owner.first_name}" or owner.username or "-"


def status_summary() -> dict:
    from django_celery_beat.models import PeriodicTask

    return {
        "heartbeats": list(Heartbeat.objects.order_by("name")),
        "periodic_tasks": list(PeriodicTask.objects.select_related("interval", "crontab").order_by("name")),
    }
