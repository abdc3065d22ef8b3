import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from crm.tables import Table as CrmTable


class DisciplineTable(CrmTable):
    """Team discipline per rep (rows are dicts from selectors.discipline_rows); sortable, exportable."""

    rep = tables.Column(verbose_name=_("Rep"))
    team = tables.Column(verbose_name=_("Team"))
    logged = tables.Column(verbose_name=_("Follow-ups logged"), attrs={"td": {"class": "text-end"}})
    late = tables.Column(verbose_name=_("Late logs"), attrs={"td": {"class": "text-end"}})
    late_share = tables.Column(verbose_name=_("Late (%)"), attrs={"td": {"class": "text-end"}}, default="—")
    overdue = tables.Column(verbose_name=_("Overdue tasks"), attrs={"td": {"class": "text-end"}})
    sop_done = tables.Column(verbose_name=_("SOP steps done"), attrs={"td": {"class": "text-end"}})
    sop_due = tables.Column(verbose_name=_("SOP steps due"), attrs={"td": {"class": "text-end"}})
    sop_completion = tables.Column(
        verbose_name=_("SOP completion (%)"), attrs={"td": {"class": "text-end"}}, default="—"
    )
    leads_taken = tables.Column(verbose_name=_("Leads claimed or assigned"), attrs={"td": {"class": "text-end"}})
    leads_converted = tables.Column(verbose_name=_("Leads converted"), attrs={"td": {"class": "text-end"}})

    class Meta:
        attrs = {"class": "table table-sm table-hover align-middle mb-0", "data-testid": "discipline-table"}
        order_by = ("rep",)
