import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from .models import Customer


class CustomerTable(tables.Table):
    name = tables.Column(linkify=True, verbose_name=_("name"))
    owner = tables.Column(verbose_name=_("owner"), order_by=("owner__username",))
    team = tables.Column(verbose_name=_("team"))
    created_at = tables.DateTimeColumn(verbose_name=_("created"), format="Y-m-d")

    class Meta:
        model = Customer
        fields = ["name", "owner", "team", "created_at"]
        order_by = "-created_at"
        empty_text = _("No customers match. Adjust the search, or add the first customer.")
