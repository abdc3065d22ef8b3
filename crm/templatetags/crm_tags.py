from decimal import Decimal, InvalidOperation

from django import template
from django.conf import settings

register = template.Library()


@register.filter
def cny(value, places: int = 2):
    """Money in CNY: ¥1,234,567.00 (thousands separators, fixed decimals); empty stays empty."""
    if value in (None, ""):
        return ""
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return value
    sign = "-" if amount < 0 else ""
    return f"{sign}{settings.CRM_CURRENCY_SYMBOL}{abs(amount):,.{int(places)}f}"
