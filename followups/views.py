"""Thin views of follow-ups, tasks, SOPs, complaints and NPS: parse, check access, call, render."""

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from accounts.models import Stage
from accounts.selectors import assignable_owners, visible_customers
from accounts.services.lifecycle import StageTransitionError
from crm.access import can_edit_owned, get_visible_or_404, has_role, is_admin
from crm.roles import SALES_ROLES

from . import channels, selectors, services
from .filters import ComplaintFilter, TaskFilter
from .forms import (
    ComplaintForm,
    ComplaintResponseForm,
    FollowUpForm,
    NpsAnswerForm,
    ReassignForm,
    SopStepFormSet,
    SopTemplateForm,
    TaskForm,
    TeamChannelForm,
)
from .models import ChannelKind, ComplaintStatus, Notification, SopTemplate, TaskStatus, TeamChannel
from .tables import ComplaintTable, TaskTable


def _require_sales(user):
    if not (is_admin(user) or has_role(user, *SALES_ROLES)):
        raise PermissionDenied


def _require_manager(user):
    if not services.is_manager(user):
        raise PermissionDenied


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return fallback


def _editable_customer(user, pk):
    """The customer for a write: 404 when not visible, 403 when visible but not editable."""
    customer = get_visible_or_404(visible_customers(user), pk=pk)
    if not can_edit_owned(user, customer):
        raise PermissionDenied
    return customer


# --- My day ---------------------------------------------------------------------------------


@login_required
def my_day(request):
    _require_sales(request.user)
    context = selectors.my_day(request.user)
    context["is_manager"] = services.is_manager(request.user)
    return render(request, "followups/my_day.html", context)


@login_required
def team(request):
    _require_manager(request.user)
    members = list(selectors.team_members(request.user))
    stats = services.team_discipline(user_ids=[m.pk for m in members])
    rows = [{"user": m, **stats[m.pk]} for m in members]
    totals = {key: sum(r[key] for r in rows) for key in ("open", "overdue", "logged", "late")}
    totals["overdue_rate"] = round(totals["overdue"] * 100 / totals["open"], 1) if totals["open"] else 0.0
    totals["late_rate"] = round(totals["late"] * 100 / totals["logged"], 1) if totals["logged"] else 0.0
    return render(request, "followups/team.html", {"rows": rows, "totals": totals})


_ITEM = re.compile(r"(task|due)-\d+|customer-log")


# --- follow-up records ----------------------------------------------------------------------


def _item_id(request) -> str:
    """The page element a successful htmx log replaces (task-12, due-34, customer-log)."""
    item = request.POST.get("item") or request.GET.get("item") or ""
    return item if _ITEM.fullmatch(item) else ""


def _log_context(request, customer, form, task):
    return {
        "customer": customer,
        "form": form,
        "task": task,
        "recent": list(selectors.visible_followups(request.user).filter(customer=customer)[:5]),
        "next": _safe_next(request, ""),
        "item": _item_id(request),
    }


@login_required
def log(request, customer_pk):
    """The quick log form: an htmx partial (My day, task list) or a page; POST logs the follow-up."""
    _require_sales(request.user)
    customer = _editable_customer(request.user, customer_pk)
    task = None
    task_id = request.POST.get("task") or request.GET.get("task")
    if task_id and str(task_id).isdigit():
        task = get_visible_or_404(selectors.visible_tasks(request.user), pk=int(task_id), customer=customer)
    form = FollowUpForm(request.POST or None, customer=customer, initial={"task": task.pk if task else None})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        checkin = None
        if data.get("checkin_lat") is not None:
            checkin = services.Checkin(
                lat=data["checkin_lat"], lng=data["checkin_lng"], accuracy=data.get("checkin_accuracy")
            )
        try:
            followup = services.log_followup(
                customer=customer,
                by=request.user,
                method=data["method"],
                occurred_at=data["occurred_at"],
                summary=data["summary"],
                feedback=data["feedback"],
                contact=data["contact"],
                next_followup_at=data["next_followup_at"],
                next_step=data["next_step"],
                stage=data["stage"],
                task=task,
                checkin=checkin,
            )
        except (services.FollowupError, StageTransitionError) as exc:
            form.add_error(None, str(exc))
        else:
            if request.htmx:
                item = _item_id(request)
                response = render(
                    request, "followups/partials/logged.html", {"followup": followup, "task": task, "item": item}
                )
                if item:
                    response["HX-Retarget"] = f"#{item}"
                    response["HX-Reswap"] = "innerHTML" if item == "customer-log" else "outerHTML"
                return response
            messages.success(request, _("Follow-up logged."))
            return redirect(_safe_next(request, reverse("followups:customer", args=[customer.pk])))
    context = _log_context(request, customer, form, task)
    if request.htmx:
        return render(request, "followups/partials/log_form.html", context)
    return render(request, "followups/log.html", context)


@login_required
def customer(request, pk):
    """A customer's follow-ups, open tasks and complaints, with the quick entry form."""
    _require_sales(request.user)
    customer = get_visible_or_404(visible_customers(request.user), pk=pk)
    can_edit = can_edit_owned(request.user, customer)
    context = {
        "customer": customer,
        "can_edit": can_edit,
        "followups": list(selectors.visible_followups(request.user).filter(customer=customer)[:50]),
        "tasks": list(selectors.visible_tasks(request.user).filter(customer=customer, status=TaskStatus.OPEN)),
        "complaints": list(
            selectors.visible_complaints(request.user)
            .filter(customer=customer)
            .exclude(status=ComplaintStatus.RESOLVED)
        ),
        "form": FollowUpForm(customer=customer) if can_edit else None,
        "recent": [],
        "next": "",
        "now": timezone.now(),
    }
    return render(request, "followups/customer.html", context)


# --- tasks ----------------------------------------------------------------------------------


class TaskListView(LoginRequiredMixin, SingleTableMixin, FilterView):
    table_class = TaskTable
    filterset_class = TaskFilter
    template_name = "followups/task_list.html"
    paginate_by = 25

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            _require_sales(request.user)
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self):
        return selectors.visible_tasks(self.request.user).order_by("due_at", "id")


@login_required
def task_create(request, customer_pk):
    _require_sales(request.user)
    customer = _editable_customer(request.user, customer_pk)
    assignees = assignable_owners(request.user)
    form = TaskForm(request.POST or None, assignees=assignees, initial={"assignee": request.user.pk})
    if request.method == "POST" and form.is_valid():
        services.create_task(
            customer=customer,
            assignee=form.cleaned_data["assignee"],
            title=form.cleaned_data["title"],
            due_at=form.cleaned_data["due_at"],
            notes=form.cleaned_data["notes"],
            by=request.user,
        )
        messages.success(request, _("Task created."))
        return redirect("followups:customer", pk=customer.pk)
    return render(request, "followups/task_form.html", {"form": form, "customer": customer})


def _editable_task(user, pk):
    task = get_visible_or_404(selectors.visible_tasks(user), pk=pk)
    if not services.can_edit_task(user, task):
        raise PermissionDenied
    return task


@login_required
@require_POST
def task_reassign(request, pk):
    _require_manager(request.user)
    task = _editable_task(request.user, pk)
    form = ReassignForm(request.POST, assignees=assignable_owners(request.user))
    if form.is_valid():
        try:
            services.reassign_task(task=task, assignee=form.cleaned_data["assignee"], by=request.user)
            messages.success(request, _("Task reassigned."))
        except services.FollowupError as exc:
            messages.error(request, str(exc))
    else:
        messages.error(request, _("Choose someone to assign the task to."))
    return redirect(_safe_next(request, reverse("followups:task_list")))


@login_required
@require_POST
def task_cancel(request, pk):
    task = _editable_task(request.user, pk)
    try:
        services.cancel_task(task=task, by=request.user)
        messages.success(request, _("Task cancelled."))
    except services.FollowupError as exc:
        messages.error(request, str(exc))
    return redirect(_safe_next(request, reverse("followups:task_list")))


# --- SOP templates --------------------------------------------------------------------------


@login_required
def sop_list(request):
    _require_manager(request.user)
    templates = SopTemplate.objects.prefetch_related("steps").order_by("stage")
    existing = {t.stage for t in templates}
    missing = [(value, label) for value, label in Stage.choices if value not in existing]
    return render(request, "followups/sop_list.html", {"templates": templates, "missing": missing})


@login_required
def sop_edit(request, stage):
    _require_manager(request.user)
    if stage not in Stage.values:
        raise Http404
    template = SopTemplate.objects.filter(stage=stage).first() or SopTemplate(stage=stage, name=Stage(stage).label)
    form = SopTemplateForm(request.POST or None, instance=template)
    formset = SopStepFormSet(request.POST or None, instance=template, prefix="steps")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        template = form.save(commit=False)
        steps = formset.save(commit=False)
        services.save_sop(template=template, steps=steps, delete=formset.deleted_objects, by=request.user)
        messages.success(request, _("SOP saved: the next stage change uses these steps."))
        return redirect("followups:sop_list")
    return render(request, "followups/sop_edit.html", {"form": form, "formset": formset, "stage": Stage(stage)})


# --- complaints -----------------------------------------------------------------------------


class ComplaintListView(LoginRequiredMixin, SingleTableMixin, FilterView):
    table_class = ComplaintTable
    filterset_class = ComplaintFilter
    template_name = "followups/complaint_list.html"
    paginate_by = 25

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            _require_sales(request.user)
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self):
        return selectors.visible_complaints(self.request.user).order_by("-opened_at")


@login_required
def complaint_create(request, customer_pk):
    _require_sales(request.user)
    customer = _editable_customer(request.user, customer_pk)
    form = ComplaintForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        complaint = services.open_complaint(
            customer=customer,
            by=request.user,
            kind=form.cleaned_data["kind"],
            severity=form.cleaned_data["severity"],
            description=form.cleaned_data["description"],
        )
        messages.success(request, _("Case opened; the manager has been notified."))
        return redirect(complaint)
    return render(request, "followups/complaint_form.html", {"form": form, "customer": customer})


@login_required
def complaint_detail(request, pk):
    _require_sales(request.user)
    complaint = get_visible_or_404(selectors.visible_complaints(request.user), pk=pk)
    return render(
        request,
        "followups/complaint_detail.html",
        {
            "complaint": complaint,
            "can_handle": services.can_handle_complaint(request.user, complaint),
            "form": ComplaintResponseForm(),
        },
    )


def _complaint_action(request, pk, action):
    complaint = get_visible_or_404(selectors.visible_complaints(request.user), pk=pk)
    if not services.can_handle_complaint(request.user, complaint):
        raise PermissionDenied
    form = ComplaintResponseForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Write a note first."))
        return redirect(complaint)
    try:
        action(complaint=complaint, by=request.user, text=form.cleaned_data["text"])
        messages.success(request, _("Case updated."))
    except services.FollowupError as exc:
        messages.error(request, str(exc))
    return redirect(complaint)


@login_required
@require_POST
def complaint_respond(request, pk):
    return _complaint_action(
        request,
        pk,
        lambda complaint, by, text: services.respond_to_complaint(complaint=complaint, by=by, response=text),
    )


@login_required
@require_POST
def complaint_resolve(request, pk):
    return _complaint_action(
        request, pk, lambda complaint, by, text: services.resolve_complaint(complaint=complaint, by=by, resolution=text)
    )


# --- NPS ------------------------------------------------------------------------------------


def nps_answer(request, token):
    """The public survey page: no login; a wrong, used or expired token shows why and stores nothing."""
    try:
        survey = services.survey_for_token(token)
    except services.NpsTokenError as exc:
        status = 404 if exc.code == "invalid" else 410
        return render(request, "followups/nps_answer.html", {"error": str(exc)}, status=status)
    form = NpsAnswerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.record_nps_answer(
                token=token, score=form.cleaned_data["score"], comment=form.cleaned_data["comment"]
            )
        except services.FollowupError as exc:
            return render(request, "followups/nps_answer.html", {"error": str(exc)}, status=409)
        return render(request, "followups/nps_answer.html", {"thanks": True})
    return render(request, "followups/nps_answer.html", {"form": form, "survey": survey})


NPS_COUNTS = {
    "total": Count("id"),
    "promoters": Count("id", filter=Q(score__gte=9)),
    "detractors": Count("id", filter=Q(score__lte=6)),
}


def _nps_rows(answers, field: str) -> list[dict]:
    """NPS per value of `field` (team, tier, period): one grouped query."""
    rows = list(answers.values(field).annotate(**NPS_COUNTS).order_by(field))
    for row in rows:
        row["group"] = row.pop(field)
        row["nps"] = services.nps_from_counts(row["total"], row["promoters"], row["detractors"])
        row["passives"] = row["total"] - row["promoters"] - row["detractors"]
    return rows


@login_required
def nps_report(request):
    """NPS of the manager's scope per team and per tier (for one period), and per period."""
    _require_manager(request.user)
    answers = selectors.visible_nps_answers(request.user)
    periods = list(answers.values_list("survey__period", flat=True).distinct().order_by("-survey__period"))
    period = request.GET.get("period") or (periods[0] if periods else "")
    in_period = answers.filter(survey__period=period) if period else answers
    overall = in_period.aggregate(**NPS_COUNTS)
    overall["nps"] = services.nps_from_counts(overall["total"], overall["promoters"], overall["detractors"])
    context = {
        "by_team": _nps_rows(in_period, "survey__team__name"),
        "by_tier": _nps_rows(in_period, "survey__customer__tier_assessment__tier"),
        "by_period": _nps_rows(answers, "survey__period"),  # oldest first: the trend
        "overall": overall,
        "periods": periods,
        "period": period,
        "recent": list(in_period.select_related("survey__customer").order_by("-answered_at")[:20]),
    }
    return render(request, "followups/nps_report.html", context)


# --- team channels (WeCom / DingTalk) ------------------------------------------------------


@login_required
def channel_list(request):
    _require_manager(request.user)
    teams = list(channels.manageable_teams(request.user).prefetch_related("channels"))
    for team in teams:
        saved = {c.kind: c for c in team.channels.all()}
        team.channel_rows = [(kind, label, saved.get(kind)) for kind, label in ChannelKind.choices]
    return render(request, "followups/channels.html", {"teams": teams})


@login_required
def channel_edit(request, team_pk, kind):
    _require_manager(request.user)
    team = get_visible_or_404(channels.manageable_teams(request.user), pk=team_pk)
    if kind not in ChannelKind.values:
        raise Http404
    channel = TeamChannel.objects.filter(team=team, kind=kind).first() or TeamChannel(team=team, kind=kind)
    form = TeamChannelForm(request.POST or None, instance=channel)
    if request.method == "POST" and form.is_valid():
        channels.save_channel(channel=form.save(commit=False), by=request.user)
        messages.success(request, _("Channel saved."))
        return redirect("followups:channel_list")
    return render(request, "followups/channel_form.html", {"form": form, "team": team, "channel": channel})


@login_required
@require_POST
def channel_test(request, pk):
    _require_manager(request.user)
    teams = channels.manageable_teams(request.user)
    channel = get_visible_or_404(TeamChannel.objects.filter(team__in=teams).select_related("team"), pk=pk)
    if not channel.enabled:
        messages.error(request, _("Enable the channel first."))
    else:
        channels.send_test_message(channel=channel, by=request.user)
        messages.success(request, _("Test message queued; its result shows here in a moment."))
    return redirect("followups:channel_list")


# --- notifications --------------------------------------------------------------------------


@login_required
def notifications(request):
    items = list(Notification.objects.filter(user=request.user)[:50])
    return render(request, "followups/notifications.html", {"items": items})


@login_required
@require_POST
def notifications_read(request):
    services.mark_notifications_read(user=request.user)
    if request.htmx:
        return HttpResponse("")
    return redirect("followups:notifications")
