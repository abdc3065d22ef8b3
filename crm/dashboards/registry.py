"""Which dashboards exist, who may read each and the selector that computes its numbers.

Shared by the views (on request) and by crm.dashboards.snapshots (the beat job that precomputes
the unfiltered dashboards)."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from crm.access import can_view_amounts, has_role, is_admin
from crm.roles import SALES_ROLES, Role

from . import selectors

CROSS_SELL_PAGE_ROWS = 300  # the page lists the best 300 (and says how many there are); exports all


def is_sales_reader(user) -> bool:
    return is_admin(user) or has_role(user, *SALES_ROLES)


def is_money_reader(user) -> bool:
    """Acquisition: managers and admins with the amounts permission."""
    return (is_admin(user) or has_role(user, Role.MANAGER)) and can_view_amounts(user)


def is_receivables_reader(user) -> bool:
    return (is_admin(user) or has_role(user, Role.FINANCE, Role.MANAGER)) and can_view_amounts(user)


@dataclass(frozen=True)
class Dashboard:
    allowed: Callable[[object], bool]
    build: Callable  # Scope -> numbers (a dict, or the discipline table's rows)


DASHBOARDS = {
    "sales": Dashboard(is_sales_reader, selectors.sales),
    "customers": Dashboard(is_sales_reader, selectors.customer_dashboard),
    "acquisition": Dashboard(is_money_reader, selectors.acquisition),
    "receivables": Dashboard(is_receivables_reader, selectors.receivables),
    "cross_sell": Dashboard(is_sales_reader, partial(selectors.cross_sell, limit=CROSS_SELL_PAGE_ROWS)),
    "discipline": Dashboard(is_sales_reader, selectors.discipline_rows),
}
