import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from crm.forms import ListedModelChoiceFilter, style_small_fields

from .models import (
    Customer,
    EmployeeBand,
    Industry,
    Potential,
    Relationship,
    SourceChannel,
    Stage,
    Status,
    Tag,
    ValueTier,
)
from .regions import PROVINCE_CHOICES
from .search import search_customers
from .selectors import visible_owners


class CustomerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    industry = django_filters.ChoiceFilter(label=_("Industry"), choices=Industry.choices)
    province = django_filters.ChoiceFilter(label=_("Province"), choices=PROVINCE_CHOICES)
    employee_band = django_filters.ChoiceFilter(label=_("Employees"), choices=EmployeeBand.choices)
    source_channel = django_filters.ChoiceFilter(label=_("Source channel"), choices=SourceChannel.choices)
    stage = django_filters.ChoiceFilter(label=_("Stage"), choices=Stage.choices)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Status.choices)
    owner = ListedModelChoiceFilter(label=_("Owner"), queryset=lambda request: visible_owners(request.user))
    tag = ListedModelChoiceFilter(label=_("Tag"), field_name="tags", queryset=Tag.objects.all())
    needs_attention = django_filters.BooleanFilter(
        label=_("Needs attention"),
        widget=forms.Select(choices=[("", "---------"), ("true", _("Yes")), ("false", _("No"))]),
    )
    tier = django_filters.ChoiceFilter(label=_("Tier"), field_name="tier_assessment__tier", choices=ValueTier.choices)
    tier_potential = django_filters.ChoiceFilter(
        label=_("Potential"), field_name="tier_assessment__potential", choices=Potential.choices
    )
    tier_relationship = django_filters.ChoiceFilter(
        label=_("Relationship"), field_name="tier_assessment__relationship", choices=Relationship.choices
    )
    completeness_below = django_filters.NumberFilter(
        label=_("Completeness below (%)"), field_name="completeness", lookup_expr="lt", min_value=0, max_value=100
    )

    class Meta:
        model = Customer
        fields = []

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        style_small_fields(self.form.fields)

    def search(self, queryset, name, value):
        """Name, credit code, or a contact's name or phone (accounts/search.py)."""
        return search_customers(queryset, value)

    @property
    def active_count(self) -> int:
        data = self.form.data if self.is_bound else {}
        return sum(1 for key in self.filters if key != "q" and data.get(key) not in (None, ""))
