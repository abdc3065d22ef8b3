"""Audit pages: the trail of one customer and of one user, for managers (their teams) and admins.

The trails come from crm.audit (model histories, tier moves and AuditEntry rows, merged newest
first, amounts already masked for viewers without crm.view_amounts). Reps and finance get 403;
a customer or user outside the viewer's teams is a 404, as everywhere else.
"""

from datetime import datetime, time, timedelta

import django_tables2 as tables
from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_safe
from django_tables2 import RequestConfig

from accounts.selectors import visible_customers
from crm.tables import DateTimeColumn
from crm.tables import Table as CrmTable

from . import audit
from .access import can_view_amounts, get_visible_or_404, has_role, is_admin, managed_team_ids
from .forms import style_small_fields
from .models import AuditAction
from .roles import Role
from .templatetags.crm_tags import person

PER_PAGE = 25
# How many trail items one page set may hold (newest first); narrow the dates to go further back.
TRAIL_LIMIT = 1000
ACTION_BADGES = {
    AuditAction.CREATE: "text-bg-success",
    AuditAction.UPDATE: "text-bg-primary",
    AuditAction.DELETE: "text-bg-danger",
    AuditAction.DENIED: "text-bg-warning",
    AuditAction.LOGIN_FAILED: "text-bg-warning",
    AuditAction.LOCKOUT: "text-bg-danger",
}
# "Created"/"Changed"/"Deleted" alone are ambiguous to translate (a date column, a state…).
ACTION_LABELS = {
    AuditAction.CREATE: pgettext_lazy("audit action", "Created"),
    AuditAction.UPDATE: pgettext_lazy("audit action", "Changed"),
    AuditAction.DELETE: pgettext_lazy("audit action", "Deleted"),
}


def can_browse_audit(user) -> bool:
    return is_admin(user) or has_role(user, Role.MANAGER)


def auditable_users(user) -> QuerySet:
    """Users whose trail `user` may read: everyone for admins, a manager's teams and themself."""
    users = get_user_model().objects.select_related("profile__team").order_by("username")
    if is_admin(user):
        return users
    return users.filter(Q(pk=user.pk) | Q(profile__team__in=managed_team_ids(user)))


class TrailFilterForm(forms.Form):
    since = forms.DateField(
        label=pgettext_lazy("date range", "From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=pgettext_lazy("date range", "To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    action = forms.ChoiceField(
        label=_("Action"), required=False, choices=[("", _("All actions")), *AuditAction.choices]
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_small_fields(self.fields)

    def trail_filter(self) -> audit.TrailFilter:
        """Whole days in the current time zone; the "to" day is included."""
        if not self.is_valid():
            return audit.EVERYTHING
        data = self.cleaned_data

        def start_of(day):
            return timezone.make_aware(datetime.combine(day, time.min)) if day else None

        return audit.TrailFilter(
            since=start_of(data["since"]),
            until=start_of(data["until"] + timedelta(days=1)) if data["until"] else None,
            action=data["action"],
        )


class TrailTable(CrmTable):
    at = DateTimeColumn(verbose_name=_("When"), format="Y-m-d H:i")
    username = tables.Column(verbose_name=_("Who"), empty_values=())
    action = tables.Column(verbose_name=_("Action"))
    object_label = tables.Column(verbose_name=_("Record"), empty_values=())
    changes = tables.TemplateColumn(template_name="crm/audit/_changes.html", verbose_name=_("Changes"), orderable=False)
    note = tables.Column(verbose_name=_("Note"), orderable=False, attrs={"td": {"class": "small text-break"}})

    class Meta:
        attrs = {"class": "table table-hover align-middle mb-0", "data-testid": "trail-table"}
        row_attrs = {"data-action": lambda record: record.action}
        empty_text = _("Nothing recorded for these filters.")
        order_by = "-at"

    def render_username(self, record):
        return person(record.actor) if record.actor is not None else (record.username or "—")

    def render_action(self, record):
        badge = ACTION_BADGES.get(record.action, "text-bg-secondary")
        return format_html(
            '<span class="badge {}">{}</span>', badge, ACTION_LABELS.get(record.action, record.action_label)
        )

    def render_object_label(self, record):
        return format_html(
            '<div class="small text-body-secondary">{}</div><div>{}</div>', record.object_label, record.object_repr
        )


def _trail_page(request, *, template: str, subject, reader, subject_id: int):
    form = TrailFilterForm(request.GET or None)
    items = reader(subject_id, show_amounts=can_view_amounts(request.user), limit=TRAIL_LIMIT, only=form.trail_filter())
    table = TrailTable(items)
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    return render(
        request,
        template,
        {"subject": subject, "form": form, "table": table, "limit": TRAIL_LIMIT, "at_limit": len(items) >= TRAIL_LIMIT},
    )


@login_required
@require_safe
def customer_trail(request, pk: int):
    if not can_browse_audit(request.user):
        raise PermissionDenied
    customer = get_visible_or_404(visible_customers(request.user), pk=pk)
    return _trail_page(
        request, template="crm/audit/customer.html", subject=customer, reader=audit.trail_for_customer, subject_id=pk
    )


@login_required
@require_safe
def user_trail(request, pk: int):
    if not can_browse_audit(request.user):
        raise PermissionDenied
    subject = get_visible_or_404(auditable_users(request.user), pk=pk)
    return _trail_page(
        request, template="crm/audit/user.html", subject=subject, reader=audit.trail_for_user, subject_id=pk
    )


class UserTable(CrmTable):
    username = tables.Column(verbose_name=_("User name"))
    name = tables.Column(verbose_name=_("Name"), accessor="pk", orderable=False)
    team = tables.Column(verbose_name=_("Team"), accessor="profile__team", order_by=("profile__team__name",))
    trail = tables.Column(verbose_name="", accessor="pk", orderable=False)

    class Meta:
        attrs = {"class": "table table-hover align-middle mb-0", "data-testid": "audit-users"}
        empty_text = _("No user to show.")

    def render_name(self, record):
        return person(record)

    def render_trail(self, record):
        return format_html(
            '<a class="btn btn-sm btn-outline-secondary" href="{}"><i class="bi bi-clock-history me-1"></i>{}</a>',
            reverse("crm:audit_user", args=[record.pk]),
            _("Audit trail"),
        )


@login_required
@require_safe
def user_index(request):
    """The users whose trail the viewer may read, to pick one."""
    if not can_browse_audit(request.user):
        raise PermissionDenied
    table = UserTable(auditable_users(request.user))
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    return render(request, "crm/audit/index.html", {"table": table})
