"""Tiering pages (DOMAIN §3): the value × potential matrix and its cells, the policy editor,
re-tier now (preview, then apply), runs, maintenance strategies, overrides and tiering inputs.

Managers and admins manage; reps see their customers' tier and its why on the customer page and
edit the tiering inputs of customers they may edit. Views stay thin: selectors read, services write.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe
from django_tables2 import RequestConfig

from crm.access import can_edit_owned, can_export, can_view_amounts, get_visible_or_404
from crm.audit import record_export
from crm.exports import FORMATS, export_response

from ..forms_tiers import MatrixFilterForm, OverrideForm, PolicyForm, StrategyForm, TierInputsForm
from ..models import MaintenanceStrategy, Potential, ResponsibleRole, TierAssessment, TierInputs, ValueTier
from ..selectors import visible_customers
from ..selectors_tiering import (
    cell_assessments,
    filter_assessments,
    migration_since,
    policy_versions,
    recent_runs,
    tier_overview,
    visible_assessments,
)
from ..services import tiering
from ..services.tiering import TieringError, can_manage_tiers
from ..tables_tiers import TierCellTable

PER_PAGE = 25


def _require_manager(user) -> None:
    if not can_manage_tiers(user):
        raise PermissionDenied


def _filtered(request):
    form = MatrixFilterForm(request.GET or None, user=request.user)
    return form, filter_assessments(visible_assessments(request.user), **form.filters())


@login_required
@require_safe
def matrix(request):
    _require_manager(request.user)
    form, assessments = _filtered(request)
    since = migration_since()
    grid, migration = tier_overview(assessments, since)
    return render(
        request,
        "accounts/tiers/matrix.html",
        {
            "form": form,
            "matrix": grid,
            "migration": migration,
            "since": since,
            "show_amounts": can_view_amounts(request.user),
            "can_export": can_export(request.user),
            "querystring": request.GET.urlencode(),
            "policy": tiering.current_policy(),
            "last_run": recent_runs(1).first(),
        },
    )


@login_required
@require_safe
def cell(request):
    """The customers of one cell (tier and/or potential), filtered like the matrix; exportable."""
    _require_manager(request.user)
    form, assessments = _filtered(request)
    tier, potential = request.GET.get("tier", ""), request.GET.get("potential", "")
    if tier in ValueTier.values:
        assessments = assessments.filter(tier=tier)
    if potential in Potential.values:
        assessments = assessments.filter(potential=potential)
    exclude = [] if can_view_amounts(request.user) else ["annual_amount"]
    table = TierCellTable(cell_assessments(assessments).order_by("-score", "customer_id"), exclude=exclude)
    fmt = request.GET.get("_export")
    if fmt:
        if fmt not in FORMATS:
            raise PermissionDenied
        if not can_export(request.user):
            raise PermissionDenied
        record_export(request, what="accounts.TierAssessment", fmt=fmt)
        rows = table.as_values()
        headers = next(rows)
        return export_response(headers=headers, rows=rows, fmt=fmt, basename="tiers")
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("_export", None)
    return render(
        request,
        "accounts/tiers/cell.html",
        {
            "form": form,
            "table": table,
            "tier": tier if tier in ValueTier.values else "",
            "potential": Potential(potential).label if potential in Potential.values else "",
            "can_export": can_export(request.user),
            "querystring": query.urlencode(),
        },
    )


@login_required
def policy(request):
    """Edit the rules: saving creates the next version; results move at the next re-tier."""
    _require_manager(request.user)
    current = tiering.current_policy()
    form = PolicyForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        try:
            saved = tiering.save_policy(policy=form.save(commit=False), by=request.user)
        except TieringError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("Saved as policy v%(version)s. Preview and apply a re-tier to move customers.")
                % {"version": saved.version},
            )
            return redirect("accounts:tier_retier")
    return render(
        request,
        "accounts/tiers/policy.html",
        {"form": form, "current": current, "versions": policy_versions()},
    )


@login_required
def retier(request):
    """GET: the preview (who would move, a sample of the visible ones). POST: apply it."""
    _require_manager(request.user)
    if request.method == "POST":
        if request.POST.get("confirm") != "yes":
            messages.error(request, _("Confirm the re-tier before applying it."))
            return redirect("accounts:tier_retier")
        try:
            version = int(request.POST.get("version", ""))
        except ValueError:
            version = None
        try:
            plan = tiering.apply_retier(by=request.user, expected_version=version)
        except TieringError as exc:
            messages.error(request, str(exc))
            return redirect("accounts:tier_retier")
        messages.success(
            request,
            _("Re-tiered %(total)s customers under policy v%(version)s: %(changes)s changed.")
            % {"total": plan.total, "version": plan.policy.version, "changes": plan.changes},
        )
        return redirect("accounts:tier_matrix")
    plan = tiering.preview_retier(sample_from=visible_customers(request.user))
    return render(request, "accounts/tiers/retier.html", {"plan": plan, "moves": sorted(plan.moves.items())})


@login_required
@require_safe
def runs(request):
    _require_manager(request.user)
    return render(request, "accounts/tiers/runs.html", {"runs": recent_runs()})


@login_required
@require_safe
def strategies(request):
    _require_manager(request.user)
    items = list(MaintenanceStrategy.objects.select_related("updated_by"))
    roles = dict(ResponsibleRole.choices)
    for item in items:
        item.cadence_rows = [
            (c.get("every_days"), c.get("action", ""), roles.get(c.get("responsible"), "")) for c in item.cadences or []
        ]
    return render(request, "accounts/tiers/strategies.html", {"strategies": items})


@login_required
def strategy_edit(request, pk=None):
    _require_manager(request.user)
    strategy = get_object_or_404(MaintenanceStrategy, pk=pk) if pk else MaintenanceStrategy()
    form = StrategyForm(request.POST or None, instance=strategy)
    if request.method == "POST" and form.is_valid():
        form.instance.cadences = form.cleaned_data["cadence_text"]
        tiering.save_strategy(strategy=form.instance, by=request.user)
        messages.success(request, _("Strategy saved."))
        return redirect("accounts:tier_strategies")
    return render(request, "accounts/tiers/strategy_form.html", {"form": form, "strategy": strategy})


@login_required
def override(request, pk):
    """A manager sets a customer's tier by hand with a reason, until the next quarterly review."""
    customer = get_visible_or_404(visible_customers(request.user), pk=pk)
    _require_manager(request.user)
    if not can_edit_owned(request.user, customer):
        raise PermissionDenied
    assessment = TierAssessment.objects.filter(customer=customer).first()
    form = OverrideForm(request.POST or None, initial={"tier": assessment.tier if assessment else ""})
    if request.method == "POST" and form.is_valid():
        try:
            tiering.override_tier(
                customer=customer, tier=form.cleaned_data["tier"], reason=form.cleaned_data["reason"], by=request.user
            )
        except TieringError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Tier overridden until the next review."))
            return redirect("accounts:customer_detail", pk=customer.pk)
    return render(
        request,
        "accounts/tiers/override.html",
        {"form": form, "customer": customer, "assessment": assessment, "expires": tiering.next_review()},
    )


@login_required
def inputs(request, pk):
    """Margin, budget level, expansion, cooperation start, referrals: for whoever may edit the customer."""
    customer = get_visible_or_404(visible_customers(request.user), pk=pk)
    if not can_edit_owned(request.user, customer):
        raise PermissionDenied
    instance = TierInputs.objects.filter(customer=customer).first() or TierInputs(customer=customer)
    form = TierInputsForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        tiering.save_tier_inputs(inputs=form.save(commit=False), by=request.user)
        messages.success(request, _("Tiering inputs saved; the tier follows at the next re-tier."))
        return redirect("accounts:customer_detail", pk=customer.pk)
    return render(request, "accounts/tiers/inputs.html", {"form": form, "customer": customer})
