"""Reads of customer health and churn, scoped to what the user may see."""

from collections import Counter
from datetime import date

from django.contrib.auth import get_user_model
from django.db.models import Count, Max, QuerySet

from crm.access import scope_owned
from crm.templatetags.crm_tags import person

from .models import ChurnRecord, Customer, CustomerHealth, Industry, RetentionCase, Stage
from .services.churn import churn_breakdown


def warning_rows(user) -> QuerySet[CustomerHealth]:
    """The churn-warning list: visible customers' health rows, riskiest first."""
    visible = scope_owned(Customer.objects.filter(merged_into__isnull=True), user).exclude(stage=Stage.CHURNED)
    return (
        CustomerHealth.objects.filter(customer__in=visible.values("pk"))
        .select_related("customer", "customer__owner", "customer__team", "customer__tier_assessment")
        .order_by("score", "customer_id")
    )


def risk_counts(user) -> dict[str, int]:
    return dict(warning_rows(user).order_by().values_list("risk").annotate(n=Count("pk")))


def last_scan(user):
    return warning_rows(user).order_by().aggregate(at=Max("scanned_at"))["at"]


def visible_cases(user) -> QuerySet[RetentionCase]:
    visible = scope_owned(Customer.objects.all(), user)
    return RetentionCase.objects.filter(customer__in=visible.values("pk")).select_related(
        "customer", "customer__owner", "plan_owner", "lost_reason"
    )


def churn_report(user, *, start: date, end: date) -> dict:
    """Churns in [start, end] by reason, tier, industry and owner, with churn rates.

    The base of the period is the visible customers on the books at its start: created before it
    and not churned before it. The overall and per-reason rate divide by all of them; the rate of a
    tier, industry or owner divides by the base customers with that tier, industry or owner."""
    visible = scope_owned(Customer.objects.filter(merged_into__isnull=True), user)
    records = ChurnRecord.objects.filter(customer__in=visible.values("pk"), churned_on__gte=start, churned_on__lte=end)
    on_books = visible.filter(created_at__date__lt=start).exclude(
        pk__in=ChurnRecord.objects.filter(churned_on__lt=start).values("customer_id")
    )
    industries = dict(Industry.choices)
    labels = {
        "tier": lambda value: value or "—",
        "industry": lambda value: str(industries.get(value, "—")),
        "owner": lambda user: person(user) or "—",
    }
    churned = [
        {"reason": r.reason.name, "tier": r.tier, "industry": r.industry, "owner": r.owner}
        for r in records.select_related("reason", "owner")
    ]
    # One pass over the base, counted by (tier, industry, owner): the total and every dimension's
    # base come from these few hundred rows (a manager's scope at a million customers is 130,000).
    dimensions = ("tier", "industry", "owner")
    base_rows = list(
        on_books.order_by().values_list("tier_assessment__tier", "industry", "owner_id").annotate(n=Count("pk"))
    )
    base = sum(row[-1] for row in base_rows)
    report = {"churned": len(churned), "base": base, "rate": round(len(churned) * 100 / base, 1) if base else None}
    report["reason"] = churn_breakdown([row["reason"] for row in churned], base)
    owners = get_user_model().objects.in_bulk({row[2] for row in base_rows if row[2] is not None})
    for index, dimension in enumerate(dimensions):
        label = labels[dimension]
        bases = Counter()
        for row in base_rows:
            value = row[index]
            bases[label(owners.get(value) if dimension == "owner" else value)] += row[-1]
        report[dimension] = churn_breakdown([label(row[dimension]) for row in churned], dict(bases))
    return report
