"""The payments churn signal (registered with accounts.health in ReceivablesConfig.ready).

Severity grows with the oldest overdue installment: a day late 0.3, 30 days 0.6, 60 days or
more 1.0 (the collection steps of DOMAIN §5). One grouped query over open overdue installments. The
overdue amount is only in the second detail, shown to users who may see amounts.
"""

from django.db.models import F, Min, Sum
from django.utils import timezone
from django.utils.translation import ngettext

from .models import Installment
from .selectors import OPEN_STATUSES


def severity_for(days_late: int) -> float:
    if days_late >= 60:
        return 1.0
    if days_late >= 30:
        return 0.6
    return 0.3 if days_late >= 1 else 0.0


def payment_signal(now, policy) -> dict[int, tuple[float, str, str]]:
    today = timezone.localdate(now)
    rows = (
        Installment.objects.filter(contract__status__in=OPEN_STATUSES, paid_amount__lt=F("amount"), due_on__lt=today)
        .order_by()
        .values("contract__customer_id")
        .annotate(oldest=Min("due_on"), overdue=Sum(F("amount") - F("paid_amount")))
        .values_list("contract__customer_id", "oldest", "overdue")
    )
    result = {}
    for customer_id, oldest, overdue in rows.iterator(chunk_size=20000):
        days = (today - oldest).days
        detail = ngettext(
            "An installment overdue, the oldest %(days)s day late",
            "An installment overdue, the oldest %(days)s days late",
            days,
        ) % {"days": days}
        with_amounts = ngettext(
            "¥%(amount)s overdue, the oldest %(days)s day late",
            "¥%(amount)s overdue, the oldest %(days)s days late",
            days,
        ) % {"amount": f"{overdue:,.2f}", "days": days}
        result[customer_id] = (severity_for(days), detail, with_amounts)
    return result
