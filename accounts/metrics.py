"""Read-only aggregates of the customer archive and tiering for the dashboards (crm.dashboards).

Each function takes a customer queryset the caller already scoped (visibility, team, rep); each
is one or two grouped queries.

When a customer churned is read from its audit history: the first history row in which its
lifecycle stage is "churned".
"""

from datetime import datetime
from decimal import Decimal

from django.db.models import Avg, Count, F, Max, Min, Q, QuerySet, Sum
from django.db.models.functions import TruncQuarter

from .models import Customer, Stage, TierAssessment, TierChange, ValueTier

TIERS = tuple(ValueTier.values)
ZERO = Decimal("0.00")


def _share(part, whole) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


def tier_distribution(customers: QuerySet[Customer]) -> list[dict]:
    """[{tier, n, count_share, amount, amount_share}] for A, B, C (annual amount from the assessment)."""
    rows = (
        TierAssessment.objects.filter(customer__in=customers.order_by().values("pk"))
        .order_by()
        .values("tier")
        .annotate(n=Count("pk"), amount=Sum("annual_amount"))
    )
    by_tier = {r["tier"]: r for r in rows}
    total_n = sum(r["n"] for r in by_tier.values())
    total_amount = sum((r["amount"] or ZERO for r in by_tier.values()), ZERO)
    out = []
    for tier in TIERS:
        n = by_tier.get(tier, {}).get("n", 0)
        amount = by_tier.get(tier, {}).get("amount") or ZERO
        out.append(
            {
                "tier": tier,
                "n": n,
                "count_share": _share(n, total_n),
                "amount": amount,
                "amount_share": _share(amount, total_amount),
            }
        )
    return out


def tier_migration(customers: QuerySet[Customer], since: datetime, until: datetime, tz) -> list[dict]:
    """[{quarter, from_tier, to_tier, n}] of tier changes in the window ("" as from: first tiering)."""
    rows = (
        TierChange.objects.filter(
            customer__in=customers.order_by().values("pk"), changed_at__gte=since, changed_at__lt=until
        )
        .exclude(from_tier=F("to_tier"))
        .order_by()
        .annotate(quarter=TruncQuarter("changed_at", tzinfo=tz))
        .values("quarter", "from_tier", "to_tier")
        .annotate(n=Count("pk"))
        .order_by("quarter", "from_tier", "to_tier")
    )
    out = []
    for r in rows:
        quarter = r["quarter"].date() if isinstance(r["quarter"], datetime) else r["quarter"]
        out.append(
            {
                "quarter": f"{quarter.year}Q{(quarter.month - 1) // 3 + 1}",
                "from_tier": r["from_tier"],
                "to_tier": r["to_tier"],
                "n": r["n"],
            }
        )
    return out


def _first_churns():
    """Customer ids with the time they first appear as churned in the audit history (grouped)."""
    return Customer.history.filter(stage=Stage.CHURNED).order_by().values("id").annotate(at=Min("history_date"))


def churned_ids(since: datetime | None, until: datetime) -> QuerySet:
    """Ids of customers whose first churn falls in [since, until) (since None: any time before until)."""
    rows = _first_churns().filter(at__lt=until)
    if since is not None:
        rows = rows.filter(at__gte=since)
    return rows.values("id")


def churn_by_tier(customers: QuerySet[Customer], since: datetime, until: datetime) -> list[dict]:
    """[{tier, base, churned, rate}]: of the tiered customers not churned before the window, the
    share that churned in it (tier: the current assessment)."""
    tiered = customers.filter(tier_assessment__isnull=False).order_by()
    churned_now = Q(stage=Stage.CHURNED)
    rows = tiered.values("tier_assessment__tier").annotate(
        total=Count("pk"),
        before=Count("pk", filter=churned_now & Q(pk__in=churned_ids(None, since))),
        churned=Count("pk", filter=churned_now & Q(pk__in=churned_ids(since, until))),
    )
    by_tier = {r["tier_assessment__tier"]: r for r in rows}
    out = []
    for tier in TIERS:
        r = by_tier.get(tier, {"total": 0, "before": 0, "churned": 0})
        base = r["total"] - r["before"]
        out.append({"tier": tier, "base": base, "churned": r["churned"], "rate": _share(r["churned"], base)})
    return out


def churn_rate(customers: QuerySet[Customer], since: datetime, until: datetime) -> dict:
    """Of the won customers not churned before the window, the share that churned in it."""
    ever_won = customers.filter(stage__in=[Stage.WON, Stage.CHURNED]).order_by()
    churned_now = Q(stage=Stage.CHURNED)
    totals = ever_won.aggregate(
        total=Count("pk"),
        before=Count("pk", filter=churned_now & Q(pk__in=churned_ids(None, since))),
        churned=Count("pk", filter=churned_now & Q(pk__in=churned_ids(since, until))),
    )
    base = totals["total"] - totals["before"]
    return {"base": base, "churned": totals["churned"], "rate": _share(totals["churned"], base)}


def a_customers(customers: QuerySet[Customer]) -> QuerySet[Customer]:
    return customers.filter(tier_assessment__tier=ValueTier.A)


def margins(customers: QuerySet[Customer]) -> dict:
    """{customer id: recorded gross margin (%)} where one is recorded."""
    return dict(
        customers.filter(tier_inputs__margin_rate__isnull=False)
        .order_by()
        .values_list("pk", "tier_inputs__margin_rate")
    )


def health_distribution(customers: QuerySet[Customer]) -> list[dict]:
    """[{risk, label, n, share, average}] of the latest health scan (high, medium, low risk)."""
    from .models import CustomerHealth, RiskLevel

    rows = (
        CustomerHealth.objects.filter(customer__in=customers.order_by().values("pk"))
        .order_by()
        .values("risk")
        .annotate(n=Count("pk"), average=Avg("score"), scanned=Max("scanned_at"))
    )
    by_risk = {r["risk"]: r for r in rows}
    total = sum(r["n"] for r in by_risk.values())
    return [
        {
            "risk": risk,
            "label": label,
            "n": by_risk.get(risk, {}).get("n", 0),
            "share": _share(by_risk.get(risk, {}).get("n", 0), total),
            "average": round(by_risk[risk]["average"]) if risk in by_risk else None,
            "scanned": by_risk.get(risk, {}).get("scanned"),
        }
        for risk, label in RiskLevel.choices
    ]
