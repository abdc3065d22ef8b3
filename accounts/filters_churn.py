import django_filters
from django.utils.translation import gettext_lazy as _

from crm.forms import ListedModelChoiceFilter, style_small_fields

from . import health
from .models import CustomerHealth, RiskLevel, ValueTier
from .selectors import visible_owners


def _cause_choices():
    return [(signal.key, health.label_of(signal.key)) for signal in health.signals()]


class WarningFilter(django_filters.FilterSet):
    """Filters of the churn-warning list (流失预警名单)."""

    q = django_filters.CharFilter(label=_("Customer"), field_name="customer__name", lookup_expr="icontains")
    risk = django_filters.ChoiceFilter(label=_("Risk"), choices=RiskLevel.choices, empty_label=_("Any risk"))
    main_cause = django_filters.ChoiceFilter(label=_("Main cause"), choices=_cause_choices)
    owner = ListedModelChoiceFilter(
        label=_("Owner"), field_name="customer__owner", queryset=lambda request: visible_owners(request.user)
    )
    tier = django_filters.ChoiceFilter(
        label=_("Tier"), field_name="customer__tier_assessment__tier", choices=ValueTier.choices
    )

    class Meta:
        model = CustomerHealth
        fields = []

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        style_small_fields(self.form.fields)
