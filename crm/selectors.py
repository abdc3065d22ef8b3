"""Reads for the overview pages of the `crm` package."""

from django.db.models import Count

from accounts.selectors import visible_customers

from .access import managed_team_ids
from .models import Heartbeat, Team


def home_summary(user) -> dict:
    customers = visible_customers(user)
    per_owner = list(
        customers.values("owner__username", "owner__first_name", "owner__last_name")
        .annotate(n=Count("id"))
        .order_by("-n")[:12]
    )
    return {
        "customer_count": customers.count(),
        "recent_customers": list(customers.order_by("-created_at")[:8]),
        "per_owner": [
            {
                "name": (f"{row['owner__last_name']}{row['owner__first_name']}" or row["owner__username"] or "-"),
                "n": row["n"],
            }
            for row in per_owner
        ],
        "teams": list(Team.objects.filter(id__in=managed_team_ids(user)).select_related("manager")),
    }


def status_summary() -> dict:
    from django_celery_beat.models import PeriodicTask

    return {
        "heartbeats": list(Heartbeat.objects.order_by("name")),
        "periodic_tasks": list(PeriodicTask.objects.select_related("interval", "crontab").order_by("name")),
    }
