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


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@register.filter
def person(user):
    """A user's display name: Chinese names surname first (王小明), others "First Last"."""
    if user is None:
        return ""
    first, last = (getattr(user, "first_name", "") or "").strip(), (getattr(user, "last_name", "") or "").strip()
    if first and last:
        return f"{last}{first}" if _has_cjk(first + last) else f"{first} {last}"
    return first or last or user.get_username()


@register.simple_tag
def td_attrs(column):
    """`column.attrs.td.as_html` of a django-tables2 bound column, built once per column and table.

    django-tables2 rebuilds every attribute dictionary of a column for every cell (a quarter of a
    25-row list page's time). The cell attributes of our columns do not depend on the row, so the
    first cell's are reused; a column whose td attributes are callables (computed from the record)
    is still built per cell."""
    table = column._table
    spec = {**dict(table.attrs), **dict(column.column.attrs)}
    td = spec.get("td", spec.get("cell", {}))
    if any(callable(value) for value in td.values()):
        return column.attrs["td"].as_html()
    built = table.__dict__.setdefault("_crm_td_attrs", {})
    if column.name not in built:
        built[column.name] = column.attrs["td"].as_html()
    return built[column.name]


@register.filter
def capped(count: int, cap: int) -> str:
    """A count that was only counted up to `cap` (one more means "more than that"): 1000 → "1000+"."""
    return f"{cap}+" if count > cap else str(count)
