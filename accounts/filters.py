import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .models import Customer


class CustomerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")

    class Meta:
        model = Customer
        fields = ["q"]

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(name__icontains=value)) if value else queryset
