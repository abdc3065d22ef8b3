"""Read-only aggregates of receivables for the dashboards (crm.dashboards), on top of the selectors.

Aging buckets, open installments and signed statuses come from `receivables.selectors`; the
functions here take installments or contracts the caller already scoped (and filtered by team or
rep) so the dashboards can narrow what the selectors return.
"""

from datetime import date
from decimal import Decimal

from django.db.models import DecimalField, ExpressionWrapper, F, Min, QuerySet, Sum
from django.db.models.functions import TruncMonth

from leads.metrics import contribution

from .models import ZERO, Contract, ContractStatus, Installment
from .selectors import bucket_sums

SIGNED = (ContractStatus.ACTIVE, ContractStatus.CLOSED)
MONEY = DecimalField(max_digits=16, decimal_places=2)


def aging_totals(open_installments: QuerySet[Installment], today: date) -> dict:
    """The selectors' aging buckets over an already narrowed set of open installments."""
    return open_installments.order_by().aggregate(**bucket_sums(today))


def collection_by_month(installments: QuerySet[Installment], start: date, end: date) -> list[dict]:
    """Per month of the due date in [start, end]: planned (due) and collected (paid) of signed contracts."""
    rows = (
        installments.filter(contract__status__in=SIGNED, due_on__gte=start, due_on__lte=end)
        .order_by()
        .annotate(month=TruncMonth("due_on"))
        .values("month")
        .annotate(planned=Sum("amount"), collected=Sum("paid_amount"))
        .order_by("month")
    )
    return [{"month": r["month"], "planned": r["planned"] or ZERO, "collected": r["collected"] or ZERO} for r in rows]


def overdue_by_customer(open_installments: QuerySet[Installment], today: date, limit: int = 10) -> list[dict]:
    """The customers owing the most past-due money: [{customer_id, name, owner, overdue, oldest_due}]."""
    outstanding = ExpressionWrapper(F("amount") - F("paid_amount"), output_field=MONEY)
    rows = (
        open_installments.filter(due_on__lt=today)
        .order_by()
        .values("contract__customer_id", "contract__customer__name", "contract__customer__owner__username")
        .annotate(overdue=Sum(outstanding), oldest_due=Min("due_on"))
        .order_by("-overdue", "contract__customer_id")[:limit]
    )
    return [
        {
            "customer_id": r["contract__customer_id"],
            "name": r["contract__customer__name"],
            "owner": r["contract__customer__owner__username"] or "",
            "overdue": r["overdue"] or ZERO,
            "days": (today - r["oldest_due"]).days,
        }
        for r in rows
    ]


def _direct_signed(contracts: QuerySet[Contract], start: date, end: date) -> QuerySet[Contract]:
    """Signed contracts entered directly (a contract from a won opportunity is counted by the opportunity)."""
    return contracts.filter(
        status__in=SIGNED, opportunity__isnull=True, signed_on__gte=start, signed_on__lte=end
    ).order_by()


def direct_value(contracts: QuerySet[Contract], start: date, end: date, *, default_margin: Decimal, by: str = ""):
    """Revenue and contribution (revenue × margin) of direct contracts signed in [start, end]; grouped
    by `by` ({key: {"revenue", "contribution"}}) or in total ({"revenue", "contribution"})."""
    signed = _direct_signed(contracts, start, end)
    sums = {"revenue": Sum("amount"), "contribution": Sum(contribution("amount", default_margin))}
    if not by:
        totals = signed.aggregate(**sums)
        return {k: v or ZERO for k, v in totals.items()}
    return {r[by]: {k: r[k] or ZERO for k in sums} for r in signed.values(by).annotate(**sums)}


def product_lines_held(contracts: QuerySet[Contract]) -> QuerySet:
    """Distinct (customer_id, product_line) of signed contracts with a product line."""
    return (
        contracts.filter(status__in=SIGNED)
        .exclude(product_line="")
        .order_by()
        .values_list("customer_id", "product_line")
        .distinct()
    )


def percent(part: Decimal, whole: Decimal) -> Decimal | None:
    if not whole:
        return None
    return (part * 100 / whole).quantize(Decimal("0.1"))
