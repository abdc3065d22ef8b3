"""Contracts as a revenue source for tiering (accounts.revenue), registered in ReceivablesConfig.ready.

Only contracts entered directly count here: a contract made from a won opportunity is already
counted by the leads source, and counting it twice would inflate the customer's revenue.
"""

from datetime import datetime, time

from django.db.models import Min
from django.utils import timezone

from .models import Contract, ContractStatus

SIGNED = [ContractStatus.ACTIVE, ContractStatus.CLOSED]


def _at(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _direct():
    return Contract.objects.filter(status__in=SIGNED, opportunity__isnull=True).order_by()


def contract_deals(since):
    """(customer_id, amount, signed at, product_line) of direct contracts signed since `since`: one query."""
    rows = _direct().filter(signed_on__gte=timezone.localtime(since).date() if timezone.is_aware(since) else since)
    for customer_id, amount, signed_on, product_line in rows.values_list(
        "customer_id", "amount", "signed_on", "product_line"
    ).iterator(chunk_size=20000):
        yield customer_id, amount, _at(signed_on), product_line


def first_contract_dates():
    for customer_id, first in (
        _direct().values("customer_id").annotate(first=Min("signed_on")).values_list("customer_id", "first")
    ):
        yield customer_id, _at(first)
