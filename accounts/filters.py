import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from crm.forms import style_small_fields

from .models import (
    Contact,
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
from .selectors import visible_owners
from .validators import CREDIT_CODE_ALPHABET


def could_be_credit_code(value: str) -> bool:
    """A prefix of a unified social credit code: only characters of its alphabet."""
    return all(char in CREDIT_CODE_ALPHABET for char in value.upper())


def could_be_phone(value: str) -> bool:
    """Part of a phone number: digits, possibly with the separators phones are written with."""
    return any(char.isdigit() for char in value) and all(char.isdigit() or char in "+-() " for char in value)


class CustomerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    industry = django_filters.ChoiceFilter(label=_("Industry"), choices=Industry.choices)
    province = django_filters.ChoiceFilter(label=_("Province"), choices=PROVINCE_CHOICES)
    employee_band = django_filters.ChoiceFilter(label=_("Employees"), choices=EmployeeBand.choices)
    source_channel = django_filters.ChoiceFilter(label=_("Source channel"), choices=SourceChannel.choices)
    stage = django_filters.ChoiceFilter(label=_("Stage"), choices=Stage.choices)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Status.choices)
    owner = django_filters.ModelChoiceFilter(label=_("Owner"), queryset=lambda request: visible_owners(request.user))
    tag = django_filters.ModelChoiceFilter(label=_("Tag"), field_name="tags", queryset=Tag.objects.all())
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
        """Name, credit code, or a contact's name or phone; EXISTS keeps one row per customer."""
        value = value.strip()
        if not value:
            return queryset
        # A union of index-friendly lookups (trigram indexes on PostgreSQL) instead of one OR
        # across a correlated subquery, which would test every customer row in turn. Credit codes
        # and phones are only searched for a term that could be part of one: a Chinese word
        # cannot, and its lookup would scan a million-row index for nothing.
        lookups = [
            Customer.objects.filter(name__icontains=value).order_by().values("pk"),
            Contact.objects.filter(name__icontains=value).order_by().values("customer_id"),
        ]
        if could_be_credit_code(value):
            lookups.append(Customer.objects.filter(credit_code__istartswith=value).order_by().values("pk"))
        if could_be_phone(value):
            lookups.append(Contact.objects.filter(phone__contains=value).order_by().values("customer_id"))
        return queryset.filter(pk__in=lookups[0].union(*lookups[1:]))

    @property
    def active_count(self) -> int:
        data = self.form.data if self.is_bound else {}
        return sum(1 for key in self.filters if key != "q" and data.get(key) not in (None, ""))
