"""Read-only aggregates of leads and opportunities for the dashboards (crm.dashboards).

Every function takes querysets the caller already scoped (visibility, team, rep) and a half-open
time window [since, until); each is one grouped query (or a column read handed to pandas).

Definitions used throughout:
- a **new customer** of a period is a customer whose *first* won opportunity closed in it;
- the **funnel** follows the opportunities opened in the period: an opportunity has reached a
  stage when its stage history (or current stage) is that stage or a later one; conversion of a
  stage is the share of those that reached it which also reached the next one;
- the **win rate** is won ÷ (won + lost) of the opportunities closed in the period;
- the **sales cycle** runs from first contact (the lead's creation, or the opportunity's when it
  had no lead) to the won date.
"""

from datetime import datetime
from decimal import Decimal

import pandas as pd
from django.db.models import (
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncMonth

from .models import OPEN_STAGES, Lead, LeadStatus, Opportunity, OpportunityStageChange, OppStage

FUNNEL_STAGES = (*OPEN_STAGES, OppStage.WON)
MONEY = DecimalField(max_digits=16, decimal_places=2)
ZERO = Decimal("0.00")


def _ratio(part, whole) -> Decimal | None:
    """part ÷ whole as a percentage with one decimal, None when there is nothing to divide by."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


def funnel(opportunities: QuerySet[Opportunity], since: datetime, until: datetime) -> list[dict]:
    """[{stage, label, n, conversion}] over the opportunities opened in the window; one query."""
    cohort = opportunities.filter(created_at__gte=since, created_at__lt=until).order_by()
    counts = {}
    for index, stage in enumerate(FUNNEL_STAGES):
        later = FUNNEL_STAGES[index:]
        reached = Exists(OpportunityStageChange.objects.filter(opportunity=OuterRef("pk"), to_stage__in=later))
        counts[stage] = Count("pk", filter=Q(reached) | Q(stage__in=later))
    totals = cohort.aggregate(**counts)
    rows = []
    for index, stage in enumerate(FUNNEL_STAGES):
        following = FUNNEL_STAGES[index + 1] if index + 1 < len(FUNNEL_STAGES) else None
        rows.append(
            {
                "stage": stage,
                "label": OppStage(stage).label,
                "n": totals[stage],
                "conversion": _ratio(totals[following], totals[stage]) if following else None,
            }
        )
    return rows


def lead_conversion(leads: QuerySet[Lead], since: datetime, until: datetime) -> dict:
    """Leads created in the window and how many of them became customers."""
    totals = (
        leads.filter(created_at__gte=since, created_at__lt=until)
        .order_by()
        .aggregate(leads=Count("pk"), converted=Count("pk", filter=Q(status=LeadStatus.CONVERTED)))
    )
    return {**totals, "rate": _ratio(totals["converted"], totals["leads"])}


def win_rate(opportunities: QuerySet[Opportunity], since: datetime, until: datetime) -> dict:
    totals = (
        opportunities.filter(closed_at__gte=since, closed_at__lt=until)
        .order_by()
        .aggregate(won=Count("pk", filter=Q(stage=OppStage.WON)), lost=Count("pk", filter=Q(stage=OppStage.LOST)))
    )
    return {**totals, "rate": _ratio(totals["won"], totals["won"] + totals["lost"])}


def sales_cycle(opportunities: QuerySet[Opportunity], since: datetime, until: datetime) -> dict:
    """Average and median days from first contact to won, of the opportunities won in the window."""
    rows = (
        opportunities.filter(stage=OppStage.WON, closed_at__gte=since, closed_at__lt=until)
        .order_by()
        .annotate(first_contact=Coalesce("lead__created_at", "created_at"))
        .values_list("first_contact", "closed_at")
    )
    frame = pd.DataFrame.from_records(list(rows), columns=["first", "won"])
    if frame.empty:
        return {"n": 0, "average": None, "median": None}
    days = (pd.to_datetime(frame["won"], utc=True) - pd.to_datetime(frame["first"], utc=True)).dt.total_seconds()
    days = days.clip(lower=0) / 86400
    return {
        "n": len(frame),
        "average": Decimal(str(round(days.mean(), 1))),
        "median": Decimal(str(round(days.median(), 1))),
    }


def first_wins(opportunities: QuerySet[Opportunity], since: datetime, until: datetime) -> QuerySet:
    """Rows of {customer_id, first} for customers whose first won opportunity closed in the window."""
    return (
        opportunities.filter(stage=OppStage.WON)
        .order_by()
        .values("customer_id")
        .annotate(first=Min("closed_at"))
        .filter(first__gte=since, first__lt=until)
    )


def new_customers_by_month(opportunities: QuerySet[Opportunity], since: datetime, until: datetime, tz) -> pd.Series:
    """New customers per month (index: first day of the month as a date)."""
    frame = pd.DataFrame.from_records(list(first_wins(opportunities, since, until)), columns=["customer_id", "first"])
    if frame.empty:
        return pd.Series(dtype="int64")
    months = pd.to_datetime(frame["first"], utc=True).dt.tz_convert(tz).dt.tz_localize(None).dt.to_period("M")
    counts = months.value_counts()
    counts.index = [p.start_time.date() for p in counts.index]
    return counts.sort_index()


def won_amount_by_month(opportunities: QuerySet[Opportunity], since: datetime, until: datetime, tz) -> dict:
    """{first day of month: won amount} of the opportunities won in the window; one grouped query."""
    rows = (
        opportunities.filter(stage=OppStage.WON, closed_at__gte=since, closed_at__lt=until)
        .order_by()
        .annotate(month=TruncMonth("closed_at", tzinfo=tz))
        .values("month")
        .annotate(total=Sum("amount"))
    )
    return {_as_date(r["month"]): r["total"] or ZERO for r in rows}


def pipeline_by_close_month(opportunities: QuerySet[Opportunity]) -> list[dict]:
    """Open opportunities grouped by expected close month: count, amount and probability-weighted amount."""
    weighted = Sum(ExpressionWrapper(F("amount") * F("probability") / Value(100), output_field=MONEY))
    rows = (
        opportunities.filter(stage__in=OPEN_STAGES)
        .order_by()
        .annotate(month=TruncMonth("expected_close_date"))
        .values("month")
        .annotate(n=Count("pk"), total=Sum("amount"), weighted=weighted)
        .order_by("month")
    )
    return [
        {"month": r["month"], "n": r["n"], "total": r["total"] or ZERO, "weighted": (r["weighted"] or ZERO)}
        for r in rows
    ]


def contribution(amount_field: str, default_margin: Decimal):
    """amount × gross margin: the customer's recorded margin (tiering inputs) or the default."""
    margin = Coalesce(F("customer__tier_inputs__margin_rate"), Value(default_margin), output_field=MONEY)
    return ExpressionWrapper(F(amount_field) * margin / Value(100), output_field=MONEY)


def won_value(
    opportunities: QuerySet[Opportunity], since: datetime, until: datetime, *, default_margin: Decimal, by: str = ""
):
    """Revenue and contribution (revenue × margin) of the opportunities won in the window; grouped
    by `by` ({key: {"revenue", "contribution"}}) or in total ({"revenue", "contribution"})."""
    won = opportunities.filter(stage=OppStage.WON, closed_at__gte=since, closed_at__lt=until).order_by()
    sums = {"revenue": Sum("amount"), "contribution": Sum(contribution("amount", default_margin))}
    if not by:
        totals = won.aggregate(**sums)
        return {k: v or ZERO for k, v in totals.items()}
    return {r[by]: {k: r[k] or ZERO for k in sums} for r in won.values(by).annotate(**sums)}


def leads_by_channel(leads: QuerySet[Lead], since: datetime, until: datetime) -> dict:
    """{channel id: leads created in the window}."""
    rows = (
        leads.filter(created_at__gte=since, created_at__lt=until)
        .order_by()
        .values("channel_id")
        .annotate(n=Count("pk"))
    )
    return {r["channel_id"]: r["n"] for r in rows}


def per_rep_leads(leads: QuerySet[Lead], since: datetime, until: datetime) -> dict:
    """{owner id: {"taken": leads claimed or assigned in the window, "converted": converted in it}}."""
    rows = (
        leads.filter(owner__isnull=False)
        .filter(Q(assigned_at__gte=since, assigned_at__lt=until) | Q(converted_at__gte=since, converted_at__lt=until))
        .order_by()
        .values("owner_id")
        .annotate(
            taken=Count("pk", filter=Q(assigned_at__gte=since, assigned_at__lt=until)),
            converted=Count(
                "pk", filter=Q(status=LeadStatus.CONVERTED, converted_at__gte=since, converted_at__lt=until)
            ),
        )
    )
    return {r["owner_id"]: {"taken": r["taken"], "converted": r["converted"]} for r in rows}


def product_lines_held(opportunities: QuerySet[Opportunity]) -> QuerySet:
    """Distinct (customer_id, product_line) of won opportunities with a product line."""
    return (
        opportunities.filter(stage=OppStage.WON)
        .exclude(product_line="")
        .order_by()
        .values_list("customer_id", "product_line")
        .distinct()
    )


def _as_date(value):
    return value.date() if isinstance(value, datetime) else value
