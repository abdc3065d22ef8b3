import django_tables2 as tables
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from crm.tables import CheckBoxColumn, DateTimeColumn
from crm.tables import Table as CrmTable
from crm.templatetags.crm_tags import cny, person

from .models import Customer, Potential, Relationship, Stage, Status

STAGE_BADGES = {
    Stage.PROSPECT: "text-bg-light border",
    Stage.INTENT: "text-bg-info",
    Stage.NEGOTIATION: "text-bg-warning",
    Stage.WON: "text-bg-success",
    Stage.CHURNED: "text-bg-secondary",
}
TIER_BADGES = {"A": "text-bg-success", "B": "text-bg-primary", "C": "text-bg-secondary"}
STATUS_BADGES = {
    Status.ACTIVE: "text-bg-success",
    Status.DORMANT: "text-bg-secondary",
    Status.BLACKLISTED: "text-bg-dark",
}


def completeness_badge(score: int) -> str:
    css = "text-bg-success" if score >= 95 else "text-bg-warning" if score >= 70 else "text-bg-danger"
    return format_html('<span class="badge {}" data-completeness="{}">{}%</span>', css, score, score)


class CustomerTable(CrmTable):
    """The archive list. Columns other than `select` and `name` can be hidden by the user."""

    select = CheckBoxColumn(
        accessor="pk",
        exclude_from_export=True,
        attrs={
            "th__input": {"class": "form-check-input", "data-select-all": "pks", "aria-label": _("Select all")},
            "td__input": {"class": "form-check-input", "name": "pks", "form": "bulk-form", "aria-label": _("Select")},
        },
    )
    name = tables.Column(
        linkify=True,
        verbose_name=_("Name"),
        attrs={"td": {"class": "fw-semibold"}, "a": {"class": "link-underline link-underline-opacity-0"}},
    )
    credit_code = tables.Column(verbose_name=_("Credit code"), attrs={"td": {"class": "font-monospace small"}})
    industry = tables.Column(verbose_name=_("Industry"))
    region = tables.Column(
        accessor="province", verbose_name=_("Region"), order_by=("province", "city"), empty_values=("",)
    )
    employee_band = tables.Column(verbose_name=_("Employees"))
    source_channel = tables.Column(verbose_name=_("Source channel"))
    stage = tables.Column(verbose_name=_("Stage"))
    status = tables.Column(verbose_name=_("Status"))
    owner = tables.Column(verbose_name=_("Owner"), order_by=("owner__username",))
    team = tables.Column(verbose_name=_("Team"), order_by=("team__name",))
    tags = tables.Column(verbose_name=_("Tags"), orderable=False, empty_values=())
    needs_attention = tables.BooleanColumn(verbose_name=_("Needs attention"))
    completeness = tables.Column(verbose_name=_("Completeness"))
    last_followup_at = DateTimeColumn(verbose_name=_("Last follow-up"), format="Y-m-d H:i")
    next_followup_at = DateTimeColumn(verbose_name=_("Next follow-up"), format="Y-m-d H:i")
    next_step = tables.Column(verbose_name=_("Next step"))
    budget = tables.Column(verbose_name=_("Budget (CNY)"), attrs={"td": {"class": "money text-end"}})
    # tiering (annotated by selectors.archive_customers)
    tier = tables.Column(verbose_name=_("Tier"), order_by=("tier_assessment__tier",))
    tier_potential = tables.Column(verbose_name=_("Potential"), order_by=("tier_assessment__potential",))
    tier_relationship = tables.Column(verbose_name=_("Relationship"), order_by=("tier_assessment__relationship",))
    created_at = DateTimeColumn(verbose_name=_("Created"), format="Y-m-d")

    class Meta:
        model = Customer
        fields = []
        sequence = [
            "select",
            "name",
            "credit_code",
            "industry",
            "region",
            "employee_band",
            "source_channel",
            "stage",
            "status",
            "owner",
            "team",
            "tier",
            "tier_potential",
            "tier_relationship",
            "tags",
            "needs_attention",
            "completeness",
            "last_followup_at",
            "next_followup_at",
            "next_step",
            "budget",
            "created_at",
        ]
        attrs = {"class": "table table-hover align-middle mb-0 text-nowrap", "data-testid": "customer-table"}
        empty_text = _("No customers match. Adjust the search or filters, or add the first customer.")

    def render_name(self, value, record):
        flag = (
            format_html(' <i class="bi bi-flag-fill text-danger" title="{}"></i>', _("Needs attention"))
            if record.needs_attention
            else ""
        )
        return format_html("{}{}", value, flag)

    def render_region(self, record):
        return " · ".join(part for part in (record.province, record.city) if part)

    def value_region(self, record):
        return self.render_region(record)

    def render_stage(self, value, record):
        return format_html('<span class="badge {}">{}</span>', STAGE_BADGES.get(record.stage, "text-bg-light"), value)

    def value_stage(self, record):
        return record.get_stage_display()

    def render_status(self, value, record):
        return format_html('<span class="badge {}">{}</span>', STATUS_BADGES.get(record.status, ""), value)

    def value_status(self, record):
        return record.get_status_display()

    def render_tags(self, value):
        names = [t.name for t in value.all()]  # the customer's tags (prefetched by the list)
        if not names:
            return "—"
        return format_html_join(
            " ", '<span class="badge rounded-pill text-bg-light border">{}</span>', ((n,) for n in names)
        )

    def value_tags(self, record):
        return ", ".join(t.name for t in record.tags.all())

    def render_completeness(self, value):
        return completeness_badge(value)

    def value_completeness(self, value):
        return value

    def render_budget(self, value):
        return cny(value)

    def value_budget(self, value):
        return value

    def render_owner(self, value):
        return person(value)

    def value_owner(self, value):
        return person(value)

    def value_name(self, value):
        return value

    def render_tier(self, value):
        return format_html('<span class="badge {}">{}</span>', TIER_BADGES.get(value, "text-bg-light"), value)

    def value_tier(self, value):
        return value

    def render_tier_potential(self, value):
        return Potential(value).label

    value_tier_potential = render_tier_potential

    def render_tier_relationship(self, value):
        return Relationship(value).label

    value_tier_relationship = render_tier_relationship


ALWAYS_SHOWN = ("select", "name")
AMOUNT_COLUMNS = ("budget",)
OPTIONAL_COLUMNS = [c for c in CustomerTable.Meta.sequence if c not in ALWAYS_SHOWN]
DEFAULT_COLUMNS = [
    "industry",
    "region",
    "stage",
    "status",
    "owner",
    "tier",
    "tags",
    "completeness",
    "next_followup_at",
    "budget",
]


class IncompleteTable(CrmTable):
    """Active customers lacking a required field, with what is missing."""

    name = tables.Column(
        linkify=True,
        verbose_name=_("Name"),
        attrs={"td": {"class": "fw-semibold"}, "a": {"class": "link-underline link-underline-opacity-0"}},
    )
    owner = tables.Column(verbose_name=_("Owner"), order_by=("owner__username",))
    completeness = tables.Column(verbose_name=_("Completeness"))
    missing = tables.Column(verbose_name=_("Missing"), empty_values=(), orderable=False)

    class Meta:
        model = Customer
        fields = []
        sequence = ["name", "owner", "completeness", "missing"]
        attrs = {"class": "table table-hover align-middle mb-0", "data-testid": "incomplete-table"}
        empty_text = _("Every active customer has its required fields. Well done.")

    def render_completeness(self, value):
        return completeness_badge(value)

    def render_owner(self, value):
        return person(value)

    def render_missing(self, record):
        from .services.customers import missing_fields, required_missing

        required = required_missing(record)
        others = [label for label in missing_fields(record) if label not in required]
        return format_html(
            "{} {}",
            format_html_join(" ", '<span class="badge text-bg-danger">{}</span>', ((r,) for r in required)),
            format_html_join(" ", '<span class="badge text-bg-light border">{}</span>', ((o,) for o in others)),
        )
