"""Churn early-warning pages: warning list, health policy, retention cases, churn recording and report,
and the usage API. Thin: forms, a selector or a service, a page."""

import hashlib
import json
import secrets
from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from django_tables2 import LazyPaginator, RequestConfig

from crm.access import can_edit_owned, can_export, can_view_amounts, get_visible_or_404
from crm.audit import record_export
from crm.exports import FORMATS, export_response
from crm.ratelimit import client_ip, over_limit

from .. import health
from ..filters_churn import WarningFilter
from ..forms_churn import ChurnForm, ContactForm, HealthPolicyForm, OutcomeForm, PlanForm, ReportPeriodForm
from ..models import Customer, UsageToken, UsageWeek
from ..selectors import assignable_owners, visible_customers
from ..selectors_churn import churn_report, last_scan, risk_counts, visible_cases, warning_rows
from ..services import churn
from ..tables_churn import EXPORT_HEADERS, WarningTable, export_rows

PER_PAGE = 25
USAGE_API_RATE = 120  # posts per client IP per minute


def _manager_only(user) -> None:
    if not churn.can_manage_churn(user):
        raise PermissionDenied


@login_required
@require_GET
def warning_list(request):
    """流失预警名单: risk, cause, owner, tier, days since last contact; filter, sort, export."""
    _manager_only(request.user)
    filterset = WarningFilter(request.GET or None, queryset=warning_rows(request.user), request=request)
    rows = filterset.qs
    show_amounts = can_view_amounts(request.user)
    export = request.GET.get("_export")
    if export in FORMATS:
        if not can_export(request.user):
            raise PermissionDenied
        record_export(request, what="accounts.CustomerHealth", fmt=export)
        return export_response(
            headers=EXPORT_HEADERS,
            rows=export_rows(rows.iterator(chunk_size=2000), show_amounts=show_amounts),
            fmt=export,
            basename="churn-warnings",
        )
    table = WarningTable(rows, show_amounts=show_amounts)
    RequestConfig(request, paginate={"per_page": PER_PAGE, "paginator_class": LazyPaginator}).configure(table)
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("_export", None)
    context = {
        "table": table,
        "filter": filterset,
        "can_export": can_export(request.user),
        "querystring": query.urlencode(),
        "counts": risk_counts(request.user),
        "last_scan": last_scan(request.user),
    }
    return render(request, "accounts/churn/warning_list.html", context)


@login_required
@require_POST
def scan_now(request):
    _manager_only(request.user)
    from ..tasks import churn_scan

    transaction.on_commit(churn_scan.delay)
    messages.info(request, _("The health scan has started; the list updates when it finishes."))
    return redirect("accounts:churn_warnings")


@login_required
def health_policy(request):
    _manager_only(request.user)
    policy = churn.current_policy()
    labels = {signal.key: health.label_of(signal.key) for signal in health.signals()}
    form = HealthPolicyForm(request.POST or None, instance=policy, signal_labels=labels)
    if request.method == "POST" and form.is_valid():
        try:
            churn.save_policy(policy=form.save(), by=request.user)
        except churn.ChurnError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Health policy saved: it applies from the next scan."))
            return redirect("accounts:health_policy")
    history = policy.history.select_related("history_user")[:10]
    return render(request, "accounts/churn/policy.html", {"form": form, "history": history})


@login_required
def mark_churned(request, pk):
    customer = get_visible_or_404(visible_customers(request.user), pk=pk)
    if not can_edit_owned(request.user, customer):
        raise PermissionDenied
    form = ChurnForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            churn.mark_churned(customer=customer, by=request.user, **form.cleaned_data)
        except churn.ChurnError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("The customer is marked as churned."))
            return redirect("accounts:customer_detail", pk=customer.pk)
    return render(request, "accounts/churn/churn_form.html", {"form": form, "customer": customer})


@login_required
@require_GET
def case_detail(request, pk):
    case = get_visible_or_404(visible_cases(request.user), pk=pk)
    can_work = churn.can_work_case(request.user, case)
    context = {
        "case": case,
        "can_work": can_work,
        "cause": health.label_of(case.cause) if case.cause else "",
        "contact_form": ContactForm(),
        "plan_form": PlanForm(owners=assignable_owners(request.user), initial={"owner": case.customer.owner_id}),
        "outcome_form": OutcomeForm(),
    }
    return render(request, "accounts/churn/case_detail.html", context)


def _case_action(request, pk, form, action):
    case = get_visible_or_404(visible_cases(request.user), pk=pk)
    if not churn.can_work_case(request.user, case):
        raise PermissionDenied
    if form.is_valid():
        try:
            action(case, form.cleaned_data)
        except churn.ChurnError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Saved."))
    else:
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
    return redirect("accounts:retention_case", pk=case.pk)


@login_required
@require_POST
def case_contact(request, pk):
    return _case_action(
        request,
        pk,
        ContactForm(request.POST),
        lambda case, data: churn.record_contact(case=case, by=request.user, note=data["note"]),
    )


@login_required
@require_POST
def case_plan(request, pk):
    return _case_action(
        request,
        pk,
        PlanForm(request.POST, owners=assignable_owners(request.user)),
        lambda case, data: churn.record_plan(case=case, by=request.user, **data),
    )


@login_required
@require_POST
def case_close(request, pk):
    return _case_action(
        request,
        pk,
        OutcomeForm(request.POST),
        lambda case, data: churn.close_case(case=case, by=request.user, **data),
    )


@login_required
@require_GET
def report(request):
    """Churn by reason, tier, industry and owner over a period, with the churn rate."""
    _manager_only(request.user)
    today = timezone.localdate()
    initial = {"start": today.replace(month=1, day=1), "end": today}
    form = ReportPeriodForm(request.GET or initial)
    data = churn_report(request.user, **(form.cleaned_data if form.is_valid() else initial))
    export = request.GET.get("_export")
    if export in FORMATS and form.is_valid():
        if not can_export(request.user):
            raise PermissionDenied
        rows = [
            [str(label), row["key"], row["count"], row["share"], row["rate"]]
            for key, label in DIMENSION_LABELS.items()
            for row in data[key]
        ]
        headers = [_("Dimension"), _("Value"), _("Churned"), _("Share (%)"), _("Churn rate (%)")]
        record_export(request, what="accounts.ChurnRecord", fmt=export)
        return export_response(headers=headers, rows=rows, fmt=export, basename="churn-report")
    query = request.GET.copy()
    query.pop("_export", None)
    context = {
        "form": form,
        "data": data,
        "sections": [(key, label, data[key]) for key, label in DIMENSION_LABELS.items()],
        "can_export": can_export(request.user),
        "querystring": query.urlencode(),
    }
    return render(request, "accounts/churn/report.html", context)


DIMENSION_LABELS = {
    "reason": gettext_lazy("By reason"),
    "tier": gettext_lazy("By tier"),
    "industry": gettext_lazy("By industry"),
    "owner": gettext_lazy("By owner"),
}


# --- usage activity -------------------------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@login_required
@require_POST
def usage_token(request, pk):
    """(Re)issue the customer's usage API token; shown once, only its hash is kept."""
    customer = get_visible_or_404(visible_customers(request.user), pk=pk)
    if not can_edit_owned(request.user, customer):
        raise PermissionDenied
    token = secrets.token_urlsafe(32)
    UsageToken.objects.update_or_create(
        customer=customer, defaults={"token_hash": _hash(token), "created_by": request.user}
    )
    messages.warning(
        request, _("New usage API token (copy it now, it is not shown again): %(token)s") % {"token": token}
    )
    return redirect("accounts:customer_detail", pk=customer.pk)


def _json_error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"ok": False, "error": message}, status=status)


@csrf_exempt
def usage_api(request):
    """POST {"week_start": "YYYY-MM-DD" (a Monday), "logins": N} with `Authorization: Bearer <token>`.

    Token-authenticated (no session, hence no CSRF); the same week posted again replaces its count."""
    if request.method != "POST":
        return _json_error(_("Use POST."), 405)
    if over_limit(f"accounts:usage-api:{client_ip(request)}", limit=USAGE_API_RATE, window=60):
        return _json_error(_("Too many requests: try again in a minute."), 429)
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.startswith("Bearer ") else ""
    found = UsageToken.objects.filter(token_hash=_hash(token)).first() if token else None
    if found is None:
        return _json_error(_("Missing or unknown API token."), 401)
    try:
        payload = json.loads(request.body or b"{}")
        week = date.fromisoformat(str(payload["week_start"]))
        logins = int(payload["logins"])
    except (ValueError, KeyError, TypeError):
        return _json_error(_('Send JSON like {"week_start": "2026-11-16", "logins": 42}.'), 400)
    if week.weekday() != 0:
        return _json_error(_("week_start must be a Monday."), 400)
    if logins < 0 or week > churn.monday_of(timezone.localdate()):
        return _json_error(_("logins must be 0 or more and the week not in the future."), 400)
    UsageWeek.objects.update_or_create(customer_id=found.customer_id, week_start=week, defaults={"logins": logins})
    return JsonResponse({"ok": True, "customer": found.customer_id, "week_start": week.isoformat(), "logins": logins})


def customer_health_context(customer: Customer, user) -> dict:
    """What the customer page shows in its health card."""
    row = getattr(customer, "health", None)
    show_amounts = can_view_amounts(user)
    signals = []
    if row:
        for key, value in sorted((row.signals or {}).items(), key=lambda kv: -kv[1].get("penalty", 0)):
            signals.append(
                {
                    "label": health.label_of(key),
                    "penalty": value.get("penalty"),
                    "detail": health.detail_for(value, show_amounts=show_amounts),
                }
            )
    open_case = customer.retention_cases.filter(state__in=["open", "contacted", "planned"]).first()
    return {
        "health": row,
        "health_signals": signals,
        "health_cause": health.label_of(row.main_cause) if row and row.main_cause else "",
        "open_case": open_case,
        "can_mark_churned": can_edit_owned(user, customer) and customer.stage != "churned",
    }
