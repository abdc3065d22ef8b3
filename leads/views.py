"""Thin views of the lead pool and pipeline: parse, call a selector or a service, render."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_filters.views import FilterView
from django_tables2 import LazyPaginator, SingleTableMixin

from accounts.models import Customer
from crm.access import can_edit_owned, can_view_amounts, get_visible_or_404, scope_owned
from crm.ratelimit import client_ip, over_limit

from . import selectors, services
from .filters import LeadFilter, OpportunityFilter
from .forms import (
    AssignmentPolicyForm,
    ConvertForm,
    LeadForm,
    OpportunityForm,
    PublicLeadForm,
    ReassignForm,
    ScoringPolicyForm,
    StageForm,
)
from .models import AssignmentPolicy, HighPotentialList, ScoringPolicy
from .tables import LeadTable, OpportunityTable, PoolTable

BREAKDOWN_LABELS = {
    "interactions": gettext_lazy("Interaction frequency"),
    "company_size": gettext_lazy("Company size"),
    "decision_maker": gettext_lazy("Decision-maker reached"),
    "channel": gettext_lazy("Channel"),
}


def _require_sales(user):
    if not services.is_sales(user):
        raise PermissionDenied


def _require_manager(user):
    if not services.is_lead_manager(user):
        raise PermissionDenied


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return fallback


# --- lists ----------------------------------------------------------------------------------


class SalesOnlyMixin(LoginRequiredMixin):
    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            _require_sales(request.user)
        return super().dispatch(request, *args, **kwargs)


class LeadListView(SalesOnlyMixin, SingleTableMixin, FilterView):
    table_class = LeadTable
    filterset_class = LeadFilter
    template_name = "leads/lead_list.html"
    # The table paginates (lazily: no COUNT over the whole list); a ListView `paginate_by` would
    # paginate the queryset a second time with a COUNT(*) the page never shows.
    table_pagination = {"paginator_class": LazyPaginator, "per_page": 25}

    def get_queryset(self):
        return selectors.my_leads(self.request.user).order_by("-id")


class PoolView(SalesOnlyMixin, SingleTableMixin, FilterView):
    table_class = PoolTable
    filterset_class = LeadFilter
    template_name = "leads/pool.html"
    # The table paginates (lazily: no COUNT over the whole list); a ListView `paginate_by` would
    # paginate the queryset a second time with a COUNT(*) the page never shows.
    table_pagination = {"paginator_class": LazyPaginator, "per_page": 25}

    def get_queryset(self):
        return selectors.pool_leads(self.request.user).order_by("-score", "-id")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["pool_customers"] = list(
            selectors.pool_customers(self.request.user).only("id", "name", "industry", "city").order_by("-id")[:10]
        )
        context["policy"] = AssignmentPolicy.current()
        context["open_count"] = services.open_lead_counts([self.request.user.pk]).get(self.request.user.pk, 0)
        return context


# --- lead pages -----------------------------------------------------------------------------


@login_required
def lead_detail(request, pk):
    _require_sales(request.user)
    lead = selectors.lead_for_detail(request.user, pk)
    user = request.user
    breakdown = [
        {"key": key, "label": BREAKDOWN_LABELS.get(key, key), **values}
        for key, values in (lead.score_breakdown or {}).items()
    ]
    context = {
        "lead": lead,
        "can_edit": lead.owner_id is not None and can_edit_owned(user, lead),
        "can_convert": lead.owner_id is not None and lead.is_open and can_edit_owned(user, lead),
        "is_manager": services.is_lead_manager(user),
        "breakdown": breakdown,
        "touches": lead.touches.all()[:20],
        "history": lead.history.select_related("history_user")[:15],
        "show_amounts": can_view_amounts(user),
    }
    if context["is_manager"] and lead.is_open:
        context["reassign_form"] = ReassignForm(users=selectors.assignable_reps(user))
    return render(request, "leads/lead_detail.html", context)


def _referrers(user):
    return scope_owned(Customer.objects.filter(merged_into__isnull=True), user).order_by("name")


@login_required
def lead_create(request):
    _require_sales(request.user)
    form = LeadForm(request.POST or None, referrers=_referrers(request.user))
    if request.method == "POST" and form.is_valid():
        lead = form.save(commit=False)
        lead.owner = request.user
        try:
            lead = services.create_lead(
                lead=lead, by=request.user, allow_duplicate=form.cleaned_data.get("allow_duplicate", False)
            )
        except services.LeadError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Lead saved: score %(score)d.") % {"score": lead.score})
            return redirect(lead)
    return render(request, "leads/lead_form.html", {"form": form, "title": _("New lead")})


@login_required
def lead_edit(request, pk):
    _require_sales(request.user)
    lead = get_visible_or_404(selectors.visible_leads(request.user), pk=pk)
    if lead.owner_id is None or not can_edit_owned(request.user, lead):
        raise PermissionDenied
    form = LeadForm(request.POST or None, instance=lead, referrers=_referrers(request.user))
    if request.method == "POST" and form.is_valid():
        services.update_lead(lead=form.save(commit=False), by=request.user)
        messages.success(request, _("Lead updated."))
        return redirect(lead)
    return render(request, "leads/lead_form.html", {"form": form, "title": _("Edit lead"), "lead": lead})


@login_required
@require_POST
def lead_claim(request, pk):
    _require_sales(request.user)
    lead = get_visible_or_404(selectors.visible_leads(request.user), pk=pk)
    try:
        lead = services.claim_lead(lead_id=lead.pk, by=request.user)
    except services.LeadError as exc:
        if request.htmx:
            return render(request, "leads/partials/claim_result.html", {"lead": lead, "error": str(exc)})
        messages.error(request, str(exc))
        return redirect("leads:pool")
    if request.htmx:
        return render(request, "leads/partials/claim_result.html", {"lead": lead})
    messages.success(request, _("%(company)s is yours now.") % {"company": lead.company})
    return redirect(lead)


@login_required
@require_POST
def lead_release(request, pk):
    lead = get_visible_or_404(selectors.visible_leads(request.user), pk=pk)
    services.release_lead(lead=lead, by=request.user)
    messages.success(request, _("The lead is back in the pool."))
    return redirect("leads:lead_list")


@login_required
@require_POST
def lead_interaction(request, pk):
    lead = get_visible_or_404(selectors.visible_leads(request.user), pk=pk)
    lead = services.record_interaction(
        lead=lead, by=request.user, decision_maker_reached=request.POST.get("decision_maker") == "1"
    )
    messages.success(request, _("Interaction recorded: score %(score)d.") % {"score": lead.score})
    return redirect(lead)


@login_required
@require_POST
def lead_reassign(request, pk):
    _require_manager(request.user)
    lead = get_visible_or_404(selectors.visible_leads(request.user), pk=pk)
    form = ReassignForm(request.POST, users=selectors.assignable_reps(request.user))
    if not form.is_valid():
        messages.error(request, _("Choose one of your people."))
        return redirect(lead)
    try:
        services.reassign_lead(lead=lead, to_user=form.cleaned_data["to_user"], by=request.user)
    except services.LeadError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Lead reassigned."))
    return redirect(lead)


@login_required
def lead_convert(request, pk):
    _require_sales(request.user)
    lead = get_visible_or_404(selectors.visible_leads(request.user), pk=pk)
    if lead.owner_id is None or not can_edit_owned(request.user, lead):
        raise PermissionDenied
    form = ConvertForm(request.POST or None, initial={"opportunity_name": lead.company})
    if request.method == "POST" and form.is_valid():
        try:
            result = services.convert_lead(lead=lead, by=request.user, **form.cleaned_data)
        except services.LeadError as exc:
            messages.error(request, str(exc))
            return redirect(lead)
        if result.attached:
            messages.info(request, _("Attached to the existing customer %(customer)s.") % {"customer": result.customer})
        messages.success(request, _("Converted: the opportunity is open."))
        return redirect(result.opportunity)
    duplicates = services.find_lead_duplicates(company=lead.company, phone=lead.phone, exclude_pk=lead.pk)
    return render(
        request,
        "leads/lead_convert.html",
        {"lead": lead, "form": form, "existing": duplicates.customers[:1], "show_amounts": True},
    )


# --- policies ---------------------------------------------------------------------------------


@login_required
def scoring_policy(request):
    _require_manager(request.user)
    form = ScoringPolicyForm(request.POST or None, instance=ScoringPolicy.current())
    if request.method == "POST" and form.is_valid():
        changed = services.save_scoring_policy(policy=form.save(commit=False), by=request.user)
        messages.success(request, _("Scoring saved; %(n)d leads were rescored.") % {"n": changed})
        return redirect("leads:scoring_policy")
    return render(request, "leads/policy_form.html", {"form": form, "kind": "scoring"})


@login_required
def assignment_policy(request):
    _require_manager(request.user)
    form = AssignmentPolicyForm(request.POST or None, instance=AssignmentPolicy.current())
    if request.method == "POST" and form.is_valid():
        services.save_assignment_policy(policy=form.save(commit=False), by=request.user)
        messages.success(request, _("Assignment rules saved."))
        return redirect("leads:assignment_policy")
    return render(request, "leads/policy_form.html", {"form": form, "kind": "assignment"})


# --- pipeline ---------------------------------------------------------------------------------


class PipelineView(SalesOnlyMixin, SingleTableMixin, FilterView):
    table_class = OpportunityTable
    filterset_class = OpportunityFilter
    template_name = "leads/pipeline.html"
    # The table paginates (lazily: no COUNT over the whole list); a ListView `paginate_by` would
    # paginate the queryset a second time with a COUNT(*) the page never shows.
    table_pagination = {"paginator_class": LazyPaginator, "per_page": 25}

    def get_queryset(self):
        return selectors.visible_opportunities(self.request.user).order_by("-id")

    def get_table_kwargs(self):
        return {} if can_view_amounts(self.request.user) else {"exclude": ("amount",)}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context["columns"] = selectors.kanban_columns(user, self.object_list)
        context["transitions"] = services.TRANSITIONS
        context["show_amounts"] = can_view_amounts(user)
        return context


@login_required
def opportunity_detail(request, pk):
    _require_sales(request.user)
    opportunity = get_visible_or_404(selectors.visible_opportunities(request.user), pk=pk)
    can_edit = can_edit_owned(request.user, opportunity)
    form = OpportunityForm(request.POST or None, instance=opportunity)
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied
        if form.is_valid():
            services.update_opportunity(opportunity=form.save(commit=False), by=request.user)
            messages.success(request, _("Opportunity saved."))
            return redirect(opportunity)
    context = {
        "opportunity": opportunity,
        "can_edit": can_edit,
        "form": form,
        "allowed": services.allowed_stages(opportunity),
        "changes": opportunity.stage_changes.select_related("by"),
        "show_amounts": can_view_amounts(request.user),
    }
    return render(request, "leads/opportunity_detail.html", context)


@login_required
@require_POST
def opportunity_stage(request, pk):
    _require_sales(request.user)
    opportunity = get_visible_or_404(selectors.visible_opportunities(request.user), pk=pk)
    if not can_edit_owned(request.user, opportunity):
        raise PermissionDenied
    form = StageForm(request.POST)
    back = _safe_next(request, opportunity.get_absolute_url())
    if not form.is_valid():
        messages.error(request, _("Choose a stage."))
        return HttpResponseRedirect(back)
    try:
        opportunity = services.set_opportunity_stage(
            opportunity=opportunity,
            to_stage=form.cleaned_data["stage"],
            lost_reason=form.cleaned_data["lost_reason"],
            by=request.user,
        )
    except services.LeadError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("%(name)s moved to %(stage)s.") % {"name": opportunity.name, "stage": opportunity.get_stage_display()},
        )
    return HttpResponseRedirect(back)


# --- weekly list, channels ------------------------------------------------------------------


@login_required
def high_potential(request):
    _require_sales(request.user)
    lists = HighPotentialList.objects.only("id", "week").order_by("-week")[:12]
    week = request.GET.get("week")
    snapshot = (
        HighPotentialList.objects.filter(week=week).first()
        if week
        else HighPotentialList.objects.order_by("-week").first()
    )
    rows = []
    if snapshot is not None:
        user = request.user
        if services.is_lead_manager(user):
            rows = services.rows_for_manager(snapshot.rows, user)
        else:
            rows = [r for r in snapshot.rows if r["owner_id"] in (None, user.pk)]
    return render(request, "leads/high_potential.html", {"snapshot": snapshot, "rows": rows, "lists": lists})


@login_required
def channel_list(request):
    if not (services.is_sales(request.user) or can_view_amounts(request.user)):
        raise PermissionDenied
    data = selectors.channels_with_costs()
    return render(request, "leads/channel_list.html", {**data, "show_amounts": can_view_amounts(request.user)})


# --- the public web-to-lead form --------------------------------------------------------------


def _too_many(request) -> bool:
    """Count this POST against the client's IP for the window; True when over the limit."""
    window = getattr(settings, "LEADS_WEB_FORM_WINDOW", 600)
    limit = getattr(settings, "LEADS_WEB_FORM_RATE", 5)
    return over_limit(f"leads:webform:{client_ip(request)}", limit=limit, window=window)


def public_lead_form(request):
    """No login. CSRF is enforced by the middleware; a honeypot and a per-IP rate limit stop bots."""
    if request.method == "POST":
        if _too_many(request):
            return render(request, "leads/public_form.html", {"form": PublicLeadForm(), "limited": True}, status=429)
        form = PublicLeadForm(request.POST)
        if form.is_valid():
            if form.cleaned_data.get("website"):
                return render(
                    request, "leads/public_form.html", {"form": PublicLeadForm(), "rejected": True}, status=400
                )
            services.capture_web_lead(data=form.cleaned_data)
            return redirect(reverse("public_lead_form") + "?sent=1")
    else:
        form = PublicLeadForm()
    return render(request, "leads/public_form.html", {"form": form, "sent": request.GET.get("sent") == "1"})


@login_required
@require_POST
def customer_claim(request, pk):
    _require_sales(request.user)
    customer = get_object_or_404(selectors.pool_customers(request.user), pk=pk)
    try:
        customer = services.claim_customer(customer_id=customer.pk, by=request.user)
    except services.LeadError as exc:
        messages.error(request, str(exc))
        return redirect("leads:pool")
    messages.success(request, _("%(company)s is yours now.") % {"company": customer.name})
    return redirect(customer)


# --- import (accounts' generic engine with the lead spec) -------------------------------------


def _require_import(user):
    from accounts.services.imports import can_import

    if not (can_import(user) and services.is_sales(user)):
        raise PermissionDenied


@login_required
def lead_import(request):
    from accounts.forms_tools import ImportUploadForm
    from accounts.services import imports

    _require_import(request.user)
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = imports.start_import(user=request.user, upload=form.cleaned_data["file"], kind="leads")
        except imports.ImportFileError as exc:
            form.add_error("file", str(exc))
        else:
            return redirect("leads:lead_import_detail", pk=job.pk)
    jobs = imports.visible_jobs(request.user).filter(created_by=request.user, kind="leads")[:10]
    return render(request, "leads/import.html", {"form": form, "jobs": jobs})


@login_required
def lead_import_template(request):
    from django.http import HttpResponse

    from accounts.services import imports

    _require_import(request.user)
    response = HttpResponse(
        imports.build_template(imports.SPECS["leads"]),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = 'attachment; filename="leads-import-template.xlsx"'
    return response


def _lead_job(request, pk):
    from accounts.services import imports

    _require_import(request.user)
    return get_visible_or_404(imports.visible_jobs(request.user).filter(kind="leads"), pk=pk)


@login_required
def lead_import_detail(request, pk):
    job = _lead_job(request, pk)
    return render(request, "leads/import_detail.html", {"job": job, "report": job.report or {}})


@login_required
@require_POST
def lead_import_apply(request, pk):
    from accounts.views.tools import start_apply

    return start_apply(request, _lead_job(request, pk), "leads:lead_import_detail")
