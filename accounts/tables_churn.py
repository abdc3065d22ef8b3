import django_tables2 as tables
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from crm.tables import Table as CrmTable
from crm.templatetags.crm_tags import person

from . import health
from .models import CustomerHealth, RiskLevel

RISK_BADGES = {RiskLevel.HIGH: "text-bg-danger", RiskLevel.MEDIUM: "text-bg-warning", RiskLevel.LOW: "text-bg-success"}


def risk_badge(risk: str) -> str:
    return format_html(
        '<span class="badge {}" data-risk="{}">{}</span>', RISK_BADGES.get(risk, ""), risk, RiskLevel(risk).label
    )


def tier_of(customer) -> str:
    return getattr(getattr(customer, "tier_assessment", None), "tier", "")


def days_since(customer) -> int | None:
    moment = customer.last_followup_at
    return (timezone.now() - moment).days if moment else None


class WarningTable(CrmTable):
    """The churn-warning list (流失预警名单)."""

    customer = tables.Column(verbose_name=_("Customer"), order_by=("customer__name",))
    score = tables.Column(verbose_name=_("Health"), attrs={"td": {"class": "text-end"}, "th": {"class": "text-end"}})
    risk = tables.Column(verbose_name=_("Risk"))
    main_cause = tables.Column(verbose_name=_("Main cause"), orderable=False)
    owner = tables.Column(accessor="customer__owner", verbose_name=_("Owner"), order_by=("customer__owner__username",))
    tier = tables.Column(accessor="customer", verbose_name=_("Tier"), order_by=("customer__tier_assessment__tier",))
    last_contact = tables.Column(
        accessor="customer__last_followup_at",
        verbose_name=_("Days since last contact"),
        attrs={"td": {"class": "text-end"}, "th": {"class": "text-end"}},
    )

    class Meta:
        model = CustomerHealth
        fields = ()
        sequence = ("customer", "score", "risk", "main_cause", "owner", "tier", "last_contact")
        attrs = {"class": "table table-hover align-middle mb-0", "data-testid": "warning-table"}
        row_attrs = {"data-customer": lambda record: record.customer_id}
        empty_text = _("No customer on the list: none matches the filters, or the weekly scan has not run yet.")

    def render_customer(self, record):
        url = reverse("accounts:customer_detail", args=[record.customer_id]) + "#health"
        return format_html('<a class="fw-semibold" href="{}">{}</a>', url, record.customer.name)

    def render_risk(self, value, record):
        return risk_badge(record.risk)

    def __init__(self, *args, show_amounts: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.show_amounts = show_amounts

    def render_main_cause(self, record):
        if not record.main_cause:
            return "—"
        detail = main_detail(record, show_amounts=self.show_amounts)
        return format_html(
            '<div>{}</div><div class="small text-body-secondary">{}</div>', health.label_of(record.main_cause), detail
        )

    def render_owner(self, value):
        return person(value)

    def render_tier(self, value):
        return tier_of(value) or "—"

    def render_last_contact(self, record):
        days = days_since(record.customer)
        return "—" if days is None else days


def main_detail(row, *, show_amounts: bool) -> str:
    return health.detail_for((row.signals or {}).get(row.main_cause, {}), show_amounts=show_amounts)


def export_rows(rows, *, show_amounts: bool):
    for row in rows:
        days = days_since(row.customer)
        yield [
            row.customer.name,
            row.score,
            str(RiskLevel(row.risk).label),
            health.label_of(row.main_cause) if row.main_cause else "",
            main_detail(row, show_amounts=show_amounts),
            person(row.customer.owner) if row.customer.owner_id else "",
            tier_of(row.customer),
            "" if days is None else days,
        ]


EXPORT_HEADERS = [
    _("Customer"),
    _("Health"),
    _("Risk"),
    _("Main cause"),
    _("Why"),
    _("Owner"),
    _("Tier"),
    _("Days since last contact"),
]
