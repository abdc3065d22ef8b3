"""Reads of the customer archive, always scoped to what the user may see."""

from django.db.models import QuerySet

from crm.access import scope_owned

from .models import Customer


def visible_customers(user) -> QuerySet[Customer]:
    return scope_owned(Customer.objects.all(), user, finance_reads=True).select_related("owner", "team")
