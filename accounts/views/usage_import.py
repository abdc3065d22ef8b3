"""Usage activity import pages (churn early warning): upload, template, preview, progress, apply.

The same engine and flow as the customer import (accounts.services.imports) with the usage spec;
only sales managers and admins holding the import permission get in (403 before anything else),
and a job is visible to its creator and admins only (404 otherwise).
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from crm.access import get_visible_or_404

from ..forms_tools import ImportUploadForm
from ..models import ImportJob
from ..services import imports
from ..services.usage_import import KIND, can_import_usage
from .tools import progress_partial, start_apply

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def usage_importer_required(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not can_import_usage(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


def _job_or_404(request, pk) -> ImportJob:
    return get_visible_or_404(imports.visible_jobs(request.user).filter(kind=KIND), pk=pk)


def _context(job: ImportJob) -> dict:
    return {
        "job": job,
        "report": job.report or {},
        "progress_url": reverse("accounts:usage_import_progress", args=[job.pk]),
    }


@login_required
@usage_importer_required
def usage_import(request):
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = imports.start_import(user=request.user, upload=form.cleaned_data["file"], kind=KIND)
        except imports.ImportFileError as exc:
            form.add_error("file", str(exc))
        else:
            return redirect("accounts:usage_import_detail", pk=job.pk)
    jobs = imports.visible_jobs(request.user).filter(created_by=request.user, kind=KIND)[:10]
    return render(request, "accounts/churn/usage_import.html", {"form": form, "jobs": jobs})


@login_required
@usage_importer_required
@require_GET
def usage_import_template(request):
    response = HttpResponse(imports.build_template(imports.SPECS[KIND]), content_type=XLSX)
    response["Content-Disposition"] = 'attachment; filename="usage-import-template.xlsx"'
    return response


@login_required
@usage_importer_required
@require_GET
def usage_import_detail(request, pk):
    return render(request, "accounts/churn/usage_import_detail.html", _context(_job_or_404(request, pk)))


@login_required
@usage_importer_required
@require_GET
def usage_import_progress(request, pk):
    """The polled partial; once the job stops running the whole page reloads to show the result."""
    job = _job_or_404(request, pk)
    return progress_partial(request, job, "accounts:usage_import_detail", _context(job))


@login_required
@usage_importer_required
@require_POST
def usage_import_apply(request, pk):
    return start_apply(request, _job_or_404(request, pk), "accounts:usage_import_detail")
