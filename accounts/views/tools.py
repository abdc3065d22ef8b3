"""Data tools of the customer archive: import, hand-over, merge. Thin: a form, a service, a page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from crm.access import can_view_amounts, get_visible_or_404

from ..forms_tools import HandoverForm, ImportUploadForm
from ..models import ImportJob
from ..selectors import visible_customers
from ..services import handover, imports, merge

import_required = permission_required("crm.import_data", raise_exception=True)
transfer_required = permission_required("crm.transfer_customers", raise_exception=True)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- import -------------------------------------------------------------------------------


@login_required
@import_required
def import_upload(request):
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = imports.start_import(user=request.user, upload=form.cleaned_data["file"])
        except imports.ImportFileError as exc:
            form.add_error("file", str(exc))
        else:
            return redirect("accounts:import_detail", pk=job.pk)
    jobs = imports.visible_jobs(request.user).filter(created_by=request.user, kind="customers")[:10]
    return render(request, "accounts/import_upload.html", {"form": form, "jobs": jobs})


@login_required
@import_required
@require_GET
def import_template(request):
    content = imports.build_template(imports.SPECS["customers"])
    response = HttpResponse(content, content_type=XLSX)
    filename = "customers-import-template.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _job_or_404(request, pk) -> ImportJob:
    # Customer jobs only: lead and usage-activity jobs have their own pages (and wording).
    return get_visible_or_404(imports.visible_jobs(request.user).filter(kind="customers"), pk=pk)


@login_required
@import_required
@require_GET
def import_detail(request, pk):
    job = _job_or_404(request, pk)
    return render(request, "accounts/import_detail.html", {"job": job, "report": job.report or {}})


@login_required
@import_required
@require_GET
def import_progress(request, pk):
    """The polled partial; once the job stops running the whole page reloads to show the result."""
    job = _job_or_404(request, pk)
    return progress_partial(request, job, "accounts:import_detail", {"job": job, "report": job.report or {}})


@login_required
@import_required
@require_POST
def import_apply(request, pk):
    return start_apply(request, _job_or_404(request, pk), "accounts:import_detail")


def progress_partial(request, job, detail_url: str, context: dict):
    """The polled progress partial of an import job (any kind); once the job stops running the
    whole page reloads to show the result."""
    if request.htmx and job.state not in (ImportJob.State.QUEUED, ImportJob.State.RUNNING):
        return HttpResponseClientRedirect(reverse(detail_url, args=[job.pk]))
    return render(request, "accounts/partials/import_progress.html", context)


def start_apply(request, job, detail_url: str):
    """POST "apply" of a previewed import (any kind): queue it, say so, back to the job's page."""
    if imports.queue_apply(job=job, user=request.user):
        messages.info(request, _("The import has started. You may leave this page: it continues in the background."))
    elif job.state == ImportJob.State.PREVIEWED:
        messages.error(request, _("Fix the errors in the file and upload it again: nothing was imported."))
    return redirect(detail_url, pk=job.pk)


# --- hand-over ----------------------------------------------------------------------------


def _user_name(user) -> str:
    return user.get_full_name() or user.get_username()


@login_required
@transfer_required
def handover_view(request):
    form = HandoverForm(request.POST or None, by=request.user)
    context = {"form": form, "transfers": handover.visible_transfers(request.user)[:20]}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if not handover.may_transfer_between(request.user, data["from_user"], data["to_user"]):
            raise PermissionDenied
        if request.POST.get("confirm") == "1":
            try:
                transfer = handover.transfer_customers(
                    from_user=data["from_user"],
                    to_user=data["to_user"],
                    by=request.user,
                    criteria=form.criteria,
                    reason=data["reason"],
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(
                    request,
                    _("Hand-over #%(id)d: %(count)d customers moved to %(to)s.")
                    % {"id": transfer.pk, "count": transfer.customer_count, "to": _user_name(data["to_user"])},
                )
                return redirect("accounts:handover")
        else:
            context["preview_count"] = handover.customers_to_transfer(data["from_user"], form.criteria).count()
            context["from_name"], context["to_name"] = _user_name(data["from_user"]), _user_name(data["to_user"])
            context["criteria_labels"] = [
                (form.fields[key].label, dict(form.fields[key].choices)[value]) for key, value in form.criteria.items()
            ]
            return render(request, "accounts/handover_confirm.html", context)
    return render(request, "accounts/handover.html", context)


# --- merge --------------------------------------------------------------------------------


@login_required
@transfer_required
@require_GET
def merge_search(request, pk):
    """Pick the record to merge with: likely duplicates first, then a name search among visible ones."""
    customer = get_visible_or_404(visible_customers(request.user), pk=pk)
    base = visible_customers(request.user).filter(merged_into__isnull=True).exclude(pk=customer.pk)
    query = (request.GET.get("q") or "").strip()
    suggestions = base.filter(
        Q(normalized_name=customer.normalized_name) | Q(name__icontains=customer.normalized_name[:4] or customer.name)
    )[:10]
    results = base.filter(name__icontains=query).order_by("name")[:20] if query else []
    context = {"customer": customer, "query": query, "results": results, "suggestions": suggestions}
    return render(request, "accounts/merge_search.html", context)


@login_required
@transfer_required
def merge_view(request, pk, other):
    """Side by side; per differing field a radio picks the value that survives."""
    scope = visible_customers(request.user)
    a = get_visible_or_404(scope, pk=pk)
    b = get_visible_or_404(scope, pk=other)
    if a.pk == b.pk or a.merged_into_id or b.merged_into_id:
        raise Http404
    if not merge.can_merge(request.user, a, b):
        raise PermissionDenied
    if request.method == "POST":
        survivor, loser = (b, a) if request.POST.get("survivor") == str(b.pk) else (a, b)
        choices = {}
        for name in merge.differing_fields(a, b):
            picked = request.POST.get(f"field_{name}")
            choices[name] = merge.LOSER if picked == str(loser.pk) else merge.SURVIVOR
        try:
            done = merge.merge_customers(survivor=survivor, loser=loser, by=request.user, choices=choices)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("accounts:merge", pk=a.pk, other=b.pk)
        messages.success(
            request,
            _("Merged “%(loser)s” into “%(survivor)s” (%(contacts)d contacts moved).")
            % {"loser": loser.name, "survivor": survivor.name, "contacts": done.moved.get("contacts", 0)},
        )
        return redirect(survivor.get_absolute_url())
    context = {
        "a": a,
        "b": b,
        "rows": merge.comparison(a, b),
        "show_amounts": can_view_amounts(request.user),
        "amount_fields": ("annual_revenue", "budget"),
        "a_contacts": a.contacts.count(),
        "b_contacts": b.contacts.count(),
    }
    return render(request, "accounts/merge.html", context)
