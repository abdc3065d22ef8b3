"""Thin views of the dashboards: check the role, parse the filters, call a selector, render or export."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_tables2 import RequestConfig

from accounts.filters import CustomerFilter
from accounts.selectors import archive_customers
from crm.access import can_export, can_view_amounts, get_visible_or_404
from crm.audit import record_export
from crm.exports import export_response
from crm.models import DashboardPolicy
from crm.urlcache import fixed_url

from . import selectors, services, snapshots
from .exports import checklist_headers, checklist_rows, workbook_response
from .forms import DashboardFilterForm, DashboardPolicyForm, SalesTargetForm
from .registry import DASHBOARDS, is_money_reader, is_receivables_reader, is_sales_reader
from .tables import DisciplineTable


def dashboards_for(user) -> list[dict]:
    from django.utils.translation import gettext_lazy

    entries = [
        (
            "sales",
            gettext_lazy("Sales"),
            gettext_lazy("Funnel, win rate, sales cycle, targets"),
            "funnel",
            is_sales_reader,
        ),
        (
            "customers",
            gettext_lazy("Customers"),
            gettext_lazy("Tiers, migration, churn, NPS, A-customer upkeep"),
            "people",
            is_sales_reader,
        ),
        (
            "acquisition",
            gettext_lazy("Acquisition"),
            gettext_lazy("CAC, LTV, LTV/CAC, channel ROI"),
            "bullseye",
            is_money_reader,
        ),
        (
            "discipline",
            gettext_lazy("Team discipline"),
            gettext_lazy("Follow-ups, late logs, overdue tasks, SOP completion"),
            "clipboard-check",
            is_sales_reader,
        ),
        (
            "receivables",
            gettext_lazy("Receivables"),
            gettext_lazy("Aging, collection vs plan, top overdue"),
            "cash-coin",
            is_receivables_reader,
        ),
        (
            "cross_sell",
            gettext_lazy("Cross-sell"),
            gettext_lazy("Product lines the peers have"),
            "diagram-3",
            is_sales_reader,
        ),
    ]
    return [
        {"key": key, "title": title, "description": text, "icon": icon, "url": fixed_url(f"dashboards:{key}")}
        for key, title, text, icon, allowed in entries
        if allowed(user)
    ]


def visible_charts(charts: dict, show_amounts: bool) -> dict:
    """Charts without their money series for roles that may not see amounts (empty charts dropped)."""
    if show_amounts:
        return charts
    out = {}
    for name, chart in charts.items():
        if chart.get("kind") == "axis":
            kept = [s for s in chart["series"] if not s["money"]]
            if kept:
                out[name] = {**chart, "series": kept}
        elif not chart.get("money"):
            out[name] = chart
    return out


def cached_numbers(request, *, key: str, scope, build):
    """The numbers of one dashboard and when they were computed: an export computes afresh, a page
    reads the precomputed or cached ones unless "Refresh" was clicked (crm.dashboards.snapshots)."""
    if request.GET.get("export"):
        return build(scope), timezone.now()
    return snapshots.numbers(key, request.user, scope, build, fresh=bool(request.GET.get("refresh")))


def _page(request, *, key: str, template: str, build=None, extra=None):
    """The shared shape of every dashboard: access check, filters, numbers, Excel export or page."""
    user = request.user
    dashboard = DASHBOARDS[key]
    build = build or dashboard.build
    if not dashboard.allowed(user):
        raise PermissionDenied
    form = DashboardFilterForm(request.GET or None, user=user)
    scope = form.scope()
    data, as_of = cached_numbers(request, key=key, scope=scope, build=build)
    show_amounts = can_view_amounts(user)
    sections = data["sections"] if show_amounts else [s.without_money() for s in data["sections"]]
    charts = visible_charts(data.get("charts", {}), show_amounts)
    for section in sections:
        section.chart = charts.get(section.key)
    if request.GET.get("export"):
        if not can_export(user):
            raise PermissionDenied
        record_export(request, what=f"dashboards.{key}", fmt="xlsx")
        return workbook_response(sections, basename=f"dashboard-{key}")
    context = {
        "key": key,
        "form": form,
        "scope": scope,
        "data": data,
        "sections": sections,
        "show_amounts": show_amounts,
        "can_export": can_export(user),
        "export_url": f"?{scope.querystring()}&export=xlsx",
        "refresh_url": f"?{scope.querystring()}&refresh=1",
        "as_of": as_of,
        "dashboards": dashboards_for(user),
        **(extra or {}),
    }
    return render(request, template, context)


@login_required
def index(request):
    entries = dashboards_for(request.user)
    if not entries and not can_export(request.user):
        raise PermissionDenied
    return render(
        request,
        "crm/dashboards/index.html",
        {
            "dashboards": entries,
            "can_export": can_export(request.user),
            "can_manage_targets": services.can_manage_targets(request.user),
        },
    )


@login_required
def sales(request):
    return _page(request, key="sales", template="crm/dashboards/sales.html")


@login_required
def customers(request):
    return _page(request, key="customers", template="crm/dashboards/customers.html")


@login_required
def acquisition(request):
    return _page(request, key="acquisition", template="crm/dashboards/acquisition.html")


@login_required
def receivables(request):
    return _page(request, key="receivables", template="crm/dashboards/receivables.html")


@login_required
def cross_sell(request):
    return _page(
        request,
        key="cross_sell",
        # the page lists the best rows; the export has them all
        build=(lambda scope: selectors.cross_sell(scope, limit=None)) if request.GET.get("export") else None,
        template="crm/dashboards/cross_sell.html",
    )


@login_required
def discipline(request):
    user = request.user
    if not DASHBOARDS["discipline"].allowed(user):
        raise PermissionDenied
    form = DashboardFilterForm(request.GET or None, user=user)
    scope = form.scope()
    rows, as_of = cached_numbers(request, key="discipline", scope=scope, build=DASHBOARDS["discipline"].build)
    table = DisciplineTable(rows)
    RequestConfig(request, paginate={"per_page": 50}).configure(table)
    if request.GET.get("export"):
        if not can_export(user):
            raise PermissionDenied
        RequestConfig(request, paginate=False).configure(table)
        record_export(request, what="dashboards.discipline", fmt="xlsx")
        values = table.as_values()
        return export_response(headers=next(values), rows=values, fmt="xlsx", basename="dashboard-discipline")
    sort = request.GET.get("sort")
    return render(
        request,
        "crm/dashboards/discipline.html",
        {
            "key": "discipline",
            "form": form,
            "scope": scope,
            "table": table,
            "can_export": can_export(user),
            "export_url": f"?{scope.querystring()}{'&sort=' + sort if sort else ''}&export=xlsx",
            "refresh_url": f"?{scope.querystring()}{'&sort=' + sort if sort else ''}&refresh=1",
            "as_of": as_of,
            "dashboards": dashboards_for(user),
        },
    )


@login_required
def checklist(request):
    """The customer maintenance checklist (客户关系管理维护清单) of the customer list's filters."""
    user = request.user
    if not can_export(user):
        raise PermissionDenied
    filterset = CustomerFilter(request.GET or None, queryset=archive_customers(user), request=request)
    if request.GET.get("export"):
        queryset = filterset.qs if filterset.is_valid() else archive_customers(user).none()
        record_export(request, what="dashboards.checklist", fmt="xlsx")
        return export_response(
            headers=checklist_headers(), rows=checklist_rows(queryset), fmt="xlsx", basename="maintenance-checklist"
        )
    query = request.GET.copy()
    query.pop("export", None)
    return render(
        request,
        "crm/dashboards/checklist.html",
        {
            "filter": filterset,
            "headers": checklist_headers(),
            "querystring": query.urlencode(),
            "dashboards": dashboards_for(user),
            "key": "checklist",
        },
    )


@login_required
def targets(request):
    user = request.user
    if not services.can_manage_targets(user):
        raise PermissionDenied
    form = SalesTargetForm(request.POST or None, manager=user)
    if request.method == "POST" and form.is_valid():
        services.save_target(target=form.save(commit=False), by=user)
        messages.success(request, _("Target saved."))
        return redirect("dashboards:targets")
    return render(
        request,
        "crm/dashboards/targets.html",
        {
            "form": form,
            "targets": services.visible_targets(user).order_by("-month", "team__name", "user__username")[:200],
            "policy_form": DashboardPolicyForm(instance=DashboardPolicy.current()),
            "dashboards": dashboards_for(user),
            "key": "targets",
        },
    )


@login_required
@require_POST
def target_delete(request, pk):
    if not services.can_manage_targets(request.user):
        raise PermissionDenied
    target = get_visible_or_404(services.visible_targets(request.user), pk=pk)
    services.delete_target(target=target, by=request.user)
    messages.success(request, _("Target deleted."))
    return redirect("dashboards:targets")


@login_required
@require_POST
def policy(request):
    if not services.can_manage_targets(request.user):
        raise PermissionDenied
    form = DashboardPolicyForm(request.POST, instance=DashboardPolicy.current())
    if form.is_valid():
        services.save_policy(policy=form.save(commit=False), by=request.user)
        messages.success(request, _("Dashboard settings saved."))
    else:
        messages.error(request, _("The settings were not saved: check the values."))
    return redirect("dashboards:targets")
