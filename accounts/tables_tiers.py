import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from crm.tables import DateTimeColumn
from crm.tables import Table as CrmTable
from crm.templatetags.crm_tags import cny, person

from .models import TierAssessment


class TierCellTable(CrmTable):
    """Customers of one matrix cell (or of the whole matrix), with their label and the why."""

    customer = tables.Column(
        verbose_name=_("Customer"), order_by=("customer__name",), attrs={"td": {"class": "fw-semibold"}}
    )
    label = tables.Column(verbose_name=_("Tier"), empty_values=(), orderable=False)
    score = tables.Column(verbose_name=_("Value score"), attrs={"td": {"class": "text-end"}})
    annual_amount = tables.Column(verbose_name=_("Annual amount"), attrs={"td": {"class": "text-end text-nowrap"}})
    rfm = tables.Column(verbose_name=_("RFM"), empty_values=(), order_by=("-rfm_r", "-rfm_f", "-rfm_m"))
    industry = tables.Column(verbose_name=_("Industry"), accessor="customer__industry", order_by="customer__industry")
    owner = tables.Column(verbose_name=_("Owner"), accessor="customer__owner", order_by="customer__owner__username")
    team = tables.Column(verbose_name=_("Team"), accessor="customer__team", order_by="customer__team__name")
    assessed_at = DateTimeColumn(verbose_name=_("Assessed"), format="Y-m-d")

    class Meta:
        model = TierAssessment
        fields = []
        sequence = ("customer", "label", "score", "annual_amount", "rfm", "industry", "owner", "team", "assessed_at")
        template_name = "accounts/partials/table.html"
        attrs = {"class": "table table-hover align-middle", "data-testid": "tier-cell-table"}
        empty_text = _("No customers in this cell.")

    def render_customer(self, record):
        url = reverse("accounts:customer_detail", args=[record.customer_id])
        return format_html('<a href="{}">{}</a>', url, record.customer.name)

    def value_customer(self, record):
        return record.customer.name

    def render_label(self, record):
        badge = ""
        if record.override_tier:
            badge = format_html(' <span class="badge text-bg-warning">{}</span>', _("overridden"))
        return format_html("{}{}", record.label, badge)

    def value_label(self, record):
        return str(record.label)

    def render_annual_amount(self, value):
        return cny(value, 0)

    def render_rfm(self, record):
        return f"{record.rfm_r}-{record.rfm_f}-{record.rfm_m}"

    def render_owner(self, value):
        return person(value)

    def value_owner(self, value):
        return person(value)

    def render_industry(self, record):
        return record.customer.get_industry_display()

    def value_industry(self, record):
        return record.customer.get_industry_display()
