from django.utils.translation import gettext_lazy as _

from .access import has_role, is_admin
from .roles import SALES_ROLES, Role
from .urlcache import fixed_url

# Which nav entry a leads page lights up (the others light "leads").
_LEADS_NAV = {"pool": "pool", "pipeline": "pipeline", "opportunity_detail": "pipeline"}
_ACCOUNTS_NAV = {
    "churn_warnings": "churn",
    "churn_report": "churn",
    "health_policy": "churn",
    "retention_case": "churn",
    "usage_import": "churn",
    "usage_import_detail": "churn",
    **dict.fromkeys(
        [
            "tier_matrix",
            "tier_cell",
            "tier_policy",
            "tier_retier",
            "tier_runs",
            "tier_strategies",
            "tier_strategy_new",
            "tier_strategy_edit",
        ],
        "tiers",
    ),
}
_FOLLOWUPS_NAV = {"task_list": "tasks", "complaint_list": "complaints", "complaint_detail": "complaints"}


def navigation(request):
    """The main navigation, by role. Each entry's view checks permission again on its own."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = [
        {"key": "home", "label": _("Home"), "url": fixed_url("crm:home"), "icon": "speedometer2"},
        {"key": "customers", "label": _("Customers"), "url": fixed_url("accounts:customer_list"), "icon": "buildings"},
    ]
    if is_admin(user) or has_role(user, *SALES_ROLES):
        items += [
            {"key": "leads", "label": _("Leads"), "url": fixed_url("leads:lead_list"), "icon": "person-lines-fill"},
            {"key": "pool", "label": _("Lead pool"), "url": fixed_url("leads:pool"), "icon": "inboxes"},
            {"key": "pipeline", "label": _("Pipeline"), "url": fixed_url("leads:pipeline"), "icon": "kanban"},
            {"key": "my_day", "label": _("My day"), "url": fixed_url("followups:my_day"), "icon": "calendar-check"},
            {"key": "tasks", "label": _("Tasks"), "url": fixed_url("followups:task_list"), "icon": "list-check"},
        ]
    if is_admin(user) or has_role(user, Role.MANAGER):
        items.append(
            {
                "key": "complaints",
                "label": _("Complaints"),
                "url": fixed_url("followups:complaint_list"),
                "icon": "megaphone",
            }
        )
        items.append(
            {
                "key": "churn",
                "label": _("Churn warnings"),
                "url": fixed_url("accounts:churn_warnings"),
                "icon": "heart-pulse",
            }
        )
        items.append(
            {"key": "tiers", "label": _("Tiers"), "url": fixed_url("accounts:tier_matrix"), "icon": "grid-3x3"}
        )
    if is_admin(user) or has_role(user, Role.FINANCE, Role.MANAGER):
        items.append(
            {
                "key": "receivables",
                "label": _("Receivables"),
                "url": fixed_url("receivables:dashboard"),
                "icon": "cash-coin",
            }
        )
    if is_admin(user) or has_role(user, *SALES_ROLES, Role.FINANCE):
        items.append(
            {"key": "dashboards", "label": _("Dashboards"), "url": fixed_url("dashboards:index"), "icon": "graph-up"}
        )
    if user.has_perm("crm.view_status"):
        items.append({"key": "status", "label": _("System status"), "url": fixed_url("crm:status"), "icon": "activity"})
    if is_admin(user) and user.is_staff:
        items.append({"key": "admin", "label": _("Administration"), "url": fixed_url("admin:index"), "icon": "gear"})
    match = request.resolver_match
    active = None
    if match is not None:
        active = {
            "accounts": _ACCOUNTS_NAV.get(match.url_name, "customers"),
            "leads": _LEADS_NAV.get(match.url_name, "leads"),
            "followups": _FOLLOWUPS_NAV.get(match.url_name, "my_day"),
            "receivables": "receivables",
            "dashboards": "dashboards",
        }.get(match.namespace) or (match.url_name if match.namespace == "crm" else None)
    return {"nav_items": items, "active_nav": active}
