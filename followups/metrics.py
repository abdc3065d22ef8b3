"""Read-only aggregates of follow-ups, tasks and NPS for the dashboards (crm.dashboards).

Each function takes querysets the caller already scoped and a half-open window [since, until);
each is one grouped query.
"""

from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncQuarter

from .models import FollowUp, Method, NpsResponse, Task, TaskOrigin, TaskStatus

IN_PERSON = (Method.VISIT, Method.MEETING)
COUNTED_TASKS = (TaskStatus.OPEN, TaskStatus.DONE)  # cancelled and superseded SOP steps do not count


def followups_per_author(followups: QuerySet[FollowUp], since: datetime, until: datetime) -> dict:
    """{author id: {"logged", "late"}} of follow-ups logged in the window."""
    rows = (
        followups.filter(logged_at__gte=since, logged_at__lt=until)
        .order_by()
        .values("author_id")
        .annotate(logged=Count("pk"), late=Count("pk", filter=Q(is_late=True)))
    )
    return {r["author_id"]: {"logged": r["logged"], "late": r["late"]} for r in rows}


def tasks_per_assignee(tasks: QuerySet[Task], since: datetime, until: datetime, now: datetime) -> dict:
    """{assignee id: {"overdue", "sop_due", "sop_done"}}.

    overdue: open tasks whose due time has passed (now); SOP completion: of the SOP-step tasks due
    in the window (up to now), how many are done.
    """
    due_until = min(until, now)
    sop = Q(origin=TaskOrigin.SOP, status__in=COUNTED_TASKS, due_at__gte=since, due_at__lt=due_until)
    overdue = Q(status=TaskStatus.OPEN, due_at__lt=now)
    rows = (
        tasks.filter(overdue | sop)
        .order_by()
        .values("assignee_id")
        .annotate(
            overdue=Count("pk", filter=overdue),
            sop_due=Count("pk", filter=sop),
            sop_done=Count("pk", filter=sop & Q(status=TaskStatus.DONE)),
        )
    )
    return {r["assignee_id"]: {k: r[k] for k in ("overdue", "sop_due", "sop_done")} for r in rows}


def nps_by_quarter(answers: QuerySet[NpsResponse], since: datetime, until: datetime, tz) -> list[dict]:
    """[{quarter, answers, promoters, passives, detractors, nps}]: NPS = % promoters (9–10) − % detractors (0–6)."""
    rows = (
        answers.filter(answered_at__gte=since, answered_at__lt=until)
        .order_by()
        .annotate(quarter=TruncQuarter("answered_at", tzinfo=tz))
        .values("quarter")
        .annotate(
            answers=Count("pk"),
            promoters=Count("pk", filter=Q(score__gte=9)),
            detractors=Count("pk", filter=Q(score__lte=6)),
        )
        .order_by("quarter")
    )
    out = []
    for r in rows:
        quarter = r["quarter"].date() if isinstance(r["quarter"], datetime) else r["quarter"]
        nps = Decimal((r["promoters"] - r["detractors"]) * 100) / r["answers"]
        out.append(
            {
                "quarter": f"{quarter.year}Q{(quarter.month - 1) // 3 + 1}",
                "answers": r["answers"],
                "promoters": r["promoters"],
                "passives": r["answers"] - r["promoters"] - r["detractors"],
                "detractors": r["detractors"],
                "nps": nps.quantize(Decimal("0.1")),
            }
        )
    return out


def _activity_counts() -> dict:
    return {
        "visits": Count("pk", filter=Q(method__in=IN_PERSON)),
        "others": Count("pk", filter=~Q(method__in=IN_PERSON)),
    }


def activity_totals(followups: QuerySet[FollowUp], since: datetime, until: datetime) -> dict:
    """{"visits", "others"}: in-person follow-ups (visits, meetings) and the rest, in the window."""
    return followups.filter(occurred_at__gte=since, occurred_at__lt=until).order_by().aggregate(**_activity_counts())


def activities_per_customer(followups: QuerySet[FollowUp], since: datetime, until: datetime) -> QuerySet:
    """Rows of {customer_id, visits, others}: in-person follow-ups (visits, meetings) and the rest."""
    return (
        followups.filter(occurred_at__gte=since, occurred_at__lt=until)
        .order_by()
        .values("customer_id")
        .annotate(**_activity_counts())
    )
