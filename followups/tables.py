import django_tables2 as tables
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from crm.tables import DateTimeColumn
from crm.tables import Table as CrmTable
from crm.templatetags.crm_tags import person

from .models import Complaint, Task, TaskStatus

STATUS_BADGES = {
    TaskStatus.OPEN: "text-bg-primary",
    TaskStatus.DONE: "text-bg-success",
    TaskStatus.CANCELLED: "text-bg-secondary",
    TaskStatus.SUPERSEDED: "text-bg-light border",
}


class TaskTable(CrmTable):
    title = tables.Column(verbose_name=_("Task"), attrs={"td": {"class": "fw-semibold"}})
    customer = tables.Column(verbose_name=_("Customer"), order_by=("customer__name",))
    assignee = tables.Column(verbose_name=_("Assignee"), order_by=("assignee__username",))
    due_at = DateTimeColumn(verbose_name=_("Due"), format="Y-m-d H:i")
    origin = tables.Column(verbose_name=_("Origin"))
    status = tables.Column(verbose_name=_("Status"))
    log = tables.Column(verbose_name="", empty_values=(), orderable=False)

    class Meta:
        model = Task
        fields = []
        sequence = ["title", "log", "customer", "assignee", "due_at", "origin", "status"]
        attrs = {"data-testid": "task-table"}
        template_name = "accounts/partials/table.html"
        empty_text = _("No tasks match.")

    def render_customer(self, record):
        return format_html(
            '<a href="{}">{}</a>', reverse("followups:customer", args=[record.customer_id]), record.customer
        )

    def render_assignee(self, value):
        return person(value)

    def render_due_at(self, record, value):
        text = timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
        if record.status == TaskStatus.OPEN and value < timezone.now():
            return format_html('<span class="text-danger fw-semibold">{}</span>', text)
        return text

    def render_status(self, record):
        return format_html(
            '<span class="badge {}">{}</span>', STATUS_BADGES.get(record.status, ""), record.get_status_display()
        )

    def render_origin(self, record):
        return record.get_origin_display()

    def render_log(self, record):
        if record.status != TaskStatus.OPEN:
            return ""
        url = reverse("followups:log", args=[record.customer_id]) + f"?task={record.pk}"
        return format_html('<a class="btn btn-sm btn-outline-primary" href="{}">{}</a>', url, _("Log"))


class ComplaintTable(CrmTable):
    customer = tables.Column(verbose_name=_("Customer"), order_by=("customer__name",))
    kind = tables.Column(verbose_name=_("Kind"))
    severity = tables.Column(verbose_name=_("Severity"))
    status = tables.Column(verbose_name=_("Status"))
    opened_at = DateTimeColumn(verbose_name=_("Opened"), format="Y-m-d H:i")
    sla = tables.Column(verbose_name=_("SLA"), empty_values=(), orderable=False)

    class Meta:
        model = Complaint
        fields = []
        sequence = ["customer", "kind", "severity", "status", "opened_at", "sla"]
        attrs = {"data-testid": "complaint-table"}
        template_name = "accounts/partials/table.html"
        empty_text = _("No complaints.")

    def render_customer(self, record):
        return format_html('<a href="{}">{}</a>', record.get_absolute_url(), record.customer)

    def render_kind(self, record):
        return record.get_kind_display()

    def render_severity(self, record):
        return record.get_severity_display()

    def render_status(self, record):
        return record.get_status_display()

    def render_sla(self, record):
        from .templatetags.followups_tags import sla_clock

        return sla_clock(record)
