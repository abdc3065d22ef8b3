"""Reads of receivables, always scoped: finance and admins see all, managers their teams, reps their own.

Aging (current, 1–30, 31–60, 61–90, > 90 days past due) is one aggregate query grouped by
customer, rep or team; "current" is everything not yet past its due date (due today included).
"""

from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Min, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Customer
from crm.access import get_visible_or_404, scope_owned

from .models import ZERO, Contract, ContractStatus, CreditRating, Installment, Payment

BUCKETS = ("current", "d1_30", "d31_60", "d61_90", "d90_plus")
OPEN_STATUSES = (ContractStatus.ACTIVE,)
MONEY = DecimalField(max_digits=16, decimal_places=2)
GROUPS = {
    "customer": ("contract__customer_id", "contract__customer__name"),
    "rep": ("contract__owner_id", "contract__owner__username"),
    "team": ("contract__team_id", "contract__team__name"),
}


def visible_contracts(user) -> QuerySet[Contract]:
    return scope_owned(Contract.objects.all(), user, finance_reads=True).select_related("customer", "owner", "team")


def contract_for_detail(user, pk: int) -> Contract:
    return get_visible_or_404(visible_contracts(user), pk=pk)


def visible_installments(user) -> QuerySet[Installment]:
    return scope_owned(
        Installment.objects.all(),
        user,
        owner_field="contract__owner",
        team_field="contract__team",
        finance_reads=True,
    )


def visible_payments(user) -> QuerySet[Payment]:
    return scope_owned(
        Payment.objects.all(), user, owner_field="contract__owner", team_field="contract__team", finance_reads=True
    )


def _outstanding():
    return ExpressionWrapper(F("amount") - F("paid_amount"), output_field=MONEY)


def bucket_sums(today: date) -> dict:
    """Sum() expressions per aging bucket, relative to `today`."""
    out = _outstanding()

    def s(cond):
        return Coalesce(Sum(out, filter=cond), Value(ZERO), output_field=MONEY)

    d = lambda n: today - timedelta(days=n)  # noqa: E731
    return {
        "current": s(Q(due_on__gte=today)),
        "d1_30": s(Q(due_on__lt=today, due_on__gte=d(30))),
        "d31_60": s(Q(due_on__lt=d(30), due_on__gte=d(60))),
        "d61_90": s(Q(due_on__lt=d(60), due_on__gte=d(90))),
        "d90_plus": s(Q(due_on__lt=d(90))),
        "total": s(Q()),
    }


def open_installments(user) -> QuerySet[Installment]:
    return visible_installments(user).filter(contract__status__in=OPEN_STATUSES, paid_amount__lt=F("amount"))


def aging(user, *, by: str = "customer", today: date | None = None, limit: int | None = None) -> list[dict]:
    """Rows of {key, name, current, d1_30, d31_60, d61_90, d90_plus, total}, largest total first;
    the first `limit` only when given (the database keeps the top ones instead of sorting them all)."""
    today = today or timezone.localdate()
    if by == "customer" and limit is not None:
        return _largest_customers(user, today, limit)
    key, name = GROUPS[by]
    rows = open_installments(user).values(key, name).annotate(**bucket_sums(today)).order_by("-total", name)
    if limit is not None:
        rows = rows[:limit]
    return [_aging_row(r[key], r[name], r) for r in rows]


def _aging_row(key, name: str | None, sums: dict) -> dict:
    return {"key": key, "name": name or "—", **{b: sums[b] for b in (*BUCKETS, "total")}}


def _largest_customers(user, today: date, limit: int) -> list[dict]:
    """The `limit` customers owing most, grouped by customer key alone; their names read by key.

    Grouping by name too joins every customer (a million) to the open installments only to show
    200 of them (at a million customers, 482 of the report's 1,100 ms). Equal totals are then
    ordered by name as in the full list; at the cut, the database chose by key among equal totals.
    """
    key = GROUPS["customer"][0]
    rows = list(open_installments(user).values(key).annotate(**bucket_sums(today)).order_by("-total", key)[:limit])
    names = dict(Customer.objects.filter(pk__in=[r[key] for r in rows]).values_list("pk", "name"))
    return sorted((_aging_row(r[key], names.get(r[key]), r) for r in rows), key=lambda r: (-r["total"], r["name"]))


def aging_totals(user, *, today: date | None = None) -> dict:
    today = today or timezone.localdate()
    return open_installments(user).aggregate(**bucket_sums(today))


def dso(user, *, today: date | None = None, days: int = 90, outstanding: Decimal | None = None) -> Decimal | None:
    """Days sales outstanding = receivables outstanding ÷ contract sales of the last `days` days × `days`.
    `outstanding`: the aging total when the caller has it already (else it is summed here)."""
    today = today or timezone.localdate()
    if outstanding is None:
        outstanding = aging_totals(user, today=today)["total"] or ZERO
    sales = (
        visible_contracts(user)
        .filter(
            status__in=[ContractStatus.ACTIVE, ContractStatus.CLOSED],
            signed_on__gt=today - timedelta(days=days),
            signed_on__lte=today,
        )
        .aggregate(total=Sum("amount"))["total"]
    )
    if not sales:
        return None
    return (outstanding / sales * days).quantize(Decimal("0.1"))


def collection_rate(user, *, start: date, end: date) -> Decimal | None:
    """Of what fell due in [start, end], the share (%) already collected."""
    days = (end - start).days
    return collection_rates(user, end=end, days=[days])[days]


def collection_rates(user, *, end: date, days: list[int]) -> dict[int, Decimal | None]:
    """collection_rate over [end − n days, end] for each n, summed in one pass over the longest."""
    first = end - timedelta(days=max(days))
    window = {n: Q(due_on__gte=end - timedelta(days=n)) for n in days}
    sums = {}
    for n, cond in window.items():
        sums[f"due_{n}"] = Sum("amount", filter=cond)
        sums[f"paid_{n}"] = Sum("paid_amount", filter=cond)
    totals = (
        visible_installments(user)
        .filter(contract__status__in=[ContractStatus.ACTIVE, ContractStatus.CLOSED], due_on__gte=first, due_on__lte=end)
        .aggregate(**sums)
    )
    return {
        n: (totals[f"paid_{n}"] * 100 / totals[f"due_{n}"]).quantize(Decimal("0.1")) if totals[f"due_{n}"] else None
        for n in days
    }


def overdue_installments(user, *, today: date | None = None) -> QuerySet[Installment]:
    today = today or timezone.localdate()
    return (
        open_installments(user)
        .filter(due_on__lt=today)
        .select_related("contract__customer", "contract__owner")
        .annotate(outstanding_amount=_outstanding())
        .order_by("due_on", "id")
    )


def customer_summary(customer) -> dict:
    """Contracts, paid, outstanding and next due date of one customer (the page checked access), in
    one query: every contract counts; paid and outstanding are those of active and closed contracts;
    the next due date is the earliest installment of an active contract not yet paid in full."""
    booked = Q(status__in=[ContractStatus.ACTIVE, ContractStatus.CLOSED])
    unpaid = Q(status=ContractStatus.ACTIVE, installments__paid_amount__lt=F("installments__amount"))
    totals = Contract.objects.filter(customer=customer).aggregate(
        contracts=Count("id", distinct=True),  # the join has a row per installment
        paid=Sum("installments__paid_amount", filter=booked),
        amount=Sum("installments__amount", filter=booked),
        next_due=Min("installments__due_on", filter=unpaid),
    )
    paid = totals["paid"] or ZERO
    return {
        "contracts": totals["contracts"],
        "paid": paid,
        "outstanding": (totals["amount"] or ZERO) - paid,
        "next_due": totals["next_due"],
    }


def ratings_list():
    return CreditRating.objects.select_related("customer", "set_by").order_by("customer__name")
