import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.forms import ListedModelChoiceFilter

from .models import Channel, Intent, Lead, LeadStatus, Opportunity, OppStage, ProductLine


class LeadFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    intent = django_filters.ChoiceFilter(label=_("Intent grade"), choices=Intent.choices, empty_label=_("Any intent"))
    status = django_filters.ChoiceFilter(label=_("Status"), choices=LeadStatus.choices, empty_label=_("Any status"))
    channel = ListedModelChoiceFilter(label=_("Channel"), queryset=Channel.objects.all(), empty_label=_("Any channel"))

    class Meta:
        model = Lead
        fields = ["q", "intent", "status", "channel"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(company__icontains=value) | Q(contact_name__icontains=value) | Q(phone=value))


class OpportunityFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    stage = django_filters.ChoiceFilter(label=_("Stage"), choices=OppStage.choices, empty_label=_("Any stage"))
    product_line = django_filters.ChoiceFilter(
        label=_("Product line"), choices=ProductLine.choices, empty_label=_("Any product line")
    )

    class Meta:
        model = Opportunity
        fields = ["q", "stage", "product_line"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(customer__name__icontains=value))
