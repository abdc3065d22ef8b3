import django_tables2 as tables
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from crm.tables import DateColumn, DateTimeColumn
from crm.tables import Table as CrmTable
from crm.templatetags.crm_tags import cny, person

from .models import Intent, Lead, LeadStatus, Opportunity, OppStage

INTENT_BADGES = {Intent.HIGH: "text-bg-danger", Intent.MEDIUM: "text-bg-warning", Intent.LOW: "text-bg-secondary"}
STATUS_BADGES = {
    LeadStatus.NEW: "text-bg-primary",
    LeadStatus.WORKING: "text-bg-info",
    LeadStatus.NURTURING: "text-bg-light border",
    LeadStatus.CONVERTED: "text-bg-success",
    LeadStatus.DISQUALIFIED: "text-bg-dark",
}
STAGE_BADGES = {
    OppStage.PROSPECT: "text-bg-light border",
    OppStage.INTENT: "text-bg-info",
    OppStage.DEMO: "text-bg-primary",
    OppStage.NEGOTIATION: "text-bg-warning",
    OppStage.WON: "text-bg-success",
    OppStage.LOST: "text-bg-secondary",
}


def badge(css: str, label) -> str:
    return format_html('<span class="badge {}">{}</span>', css, label)


class LeadTable(CrmTable):
    company = tables.Column(linkify=True, verbose_name=_("Company"), attrs={"td": {"class": "fw-semibold"}})
    contact_name = tables.Column(verbose_name=_("Contact"))
    channel = tables.Column(verbose_name=_("Channel"), order_by=("channel__name",))
    intent = tables.Column(verbose_name=_("Intent grade"))
    score = tables.Column(verbose_name=_("Score"), attrs={"td": {"class": "text-end"}, "th": {"class": "text-end"}})
    status = tables.Column(verbose_name=_("Status"))
    owner = tables.Column(verbose_name=_("Owner"), order_by=("owner__username",))
    last_activity_at = DateTimeColumn(verbose_name=_("Last activity"), format="Y-m-d")
    next_followup_at = DateTimeColumn(verbose_name=_("Next follow-up"), format="Y-m-d H:i")
    created_at = DateTimeColumn(verbose_name=_("Created"), format="Y-m-d")

    class Meta:
        model = Lead
        fields = []
        sequence = [
            "company",
            "contact_name",
            "channel",
            "intent",
            "score",
            "status",
            "owner",
            "last_activity_at",
            "next_followup_at",
            "created_at",
        ]
        attrs = {"class": "table table-hover align-middle mb-0", "data-testid": "lead-table"}
        empty_text = _("No leads match. Claim some from the pool or add one.")

    def render_intent(self, value, record):
        return badge(INTENT_BADGES.get(record.intent, ""), value)

    def render_status(self, value, record):
        return badge(STATUS_BADGES.get(record.status, ""), value)

    def render_owner(self, value):
        return person(value)


class PoolTable(CrmTable):
    company = tables.Column(linkify=True, verbose_name=_("Company"), attrs={"td": {"class": "fw-semibold"}})
    industry = tables.Column(verbose_name=_("Industry"))
    employee_band = tables.Column(verbose_name=_("Employees"))
    channel = tables.Column(verbose_name=_("Channel"), order_by=("channel__name",))
    intent = tables.Column(verbose_name=_("Intent grade"))
    score = tables.Column(verbose_name=_("Score"), attrs={"td": {"class": "text-end"}, "th": {"class": "text-end"}})
    pool_reason = tables.Column(verbose_name=_("Why in the pool"))
    created_at = DateTimeColumn(verbose_name=_("Created"), format="Y-m-d")
    claim = tables.Column(verbose_name="", empty_values=(), orderable=False, attrs={"td": {"class": "text-end"}})

    class Meta:
        model = Lead
        fields = []
        sequence = [
            "company",
            "industry",
            "employee_band",
            "channel",
            "intent",
            "score",
            "pool_reason",
            "created_at",
            "claim",
        ]
        attrs = {"class": "table table-hover align-middle mb-0", "data-testid": "pool-table"}
        empty_text = _("The pool is empty: every lead has an owner.")
        row_attrs = {"id": lambda record: f"pool-lead-{record.pk}"}

    def render_intent(self, value, record):
        return badge(INTENT_BADGES.get(record.intent, ""), value)

    def render_claim(self, record):
        url = reverse("leads:lead_claim", args=[record.pk])
        return format_html(
            '<form method="post" action="{url}" hx-post="{url}" hx-target="#pool-lead-{pk}" hx-swap="outerHTML">'
            '<input type="hidden" name="csrfmiddlewaretoken" value="{token}">'
            '<button class="btn btn-sm btn-primary" type="submit" data-testid="claim-{pk}">'
            '<i class="bi bi-hand-index-thumb me-1"></i>{label}</button></form>',
            url=url,
            pk=record.pk,
            token=get_token(self.request),
            label=_("Claim"),
        )


class OpportunityTable(CrmTable):
    name = tables.Column(linkify=True, verbose_name=_("Name"), attrs={"td": {"class": "fw-semibold"}})
    customer = tables.Column(verbose_name=_("Customer"), order_by=("customer__name",))
    stage = tables.Column(verbose_name=_("Stage"))
    amount = tables.Column(
        verbose_name=_("Amount"), attrs={"td": {"class": "money text-end"}, "th": {"class": "text-end"}}
    )
    probability = tables.Column(verbose_name=_("Probability"), attrs={"td": {"class": "text-end"}})
    expected_close_date = DateColumn(verbose_name=_("Expected close"), format="Y-m-d")
    owner = tables.Column(verbose_name=_("Owner"), order_by=("owner__username",))
    created_at = DateTimeColumn(verbose_name=_("Created"), format="Y-m-d")

    class Meta:
        model = Opportunity
        fields = []
        sequence = ["name", "customer", "stage", "amount", "probability", "expected_close_date", "owner", "created_at"]
        attrs = {"class": "table table-hover align-middle mb-0", "data-testid": "opportunity-table"}
        empty_text = _("No opportunities yet. Convert a lead to open one.")

    def render_stage(self, value, record):
        return badge(STAGE_BADGES.get(record.stage, ""), value)

    def render_amount(self, value):
        return cny(value)

    def render_probability(self, value):
        return f"{value}%"

    def render_owner(self, value):
        return person(value)
