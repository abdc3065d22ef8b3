import django_filters
from django.utils.translation import gettext_lazy as _

from .models import Complaint, ComplaintStatus, Task, TaskOrigin, TaskStatus


class TaskFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), field_name="customer__name", lookup_expr="icontains")
    status = django_filters.ChoiceFilter(label=_("Status"), choices=TaskStatus.choices, empty_label=_("Any status"))
    origin = django_filters.ChoiceFilter(label=_("Origin"), choices=TaskOrigin.choices, empty_label=_("Any origin"))
    overdue = django_filters.BooleanFilter(label=_("Overdue only"), method="filter_overdue")

    class Meta:
        model = Task
        fields = ["q", "status", "origin"]

    def filter_overdue(self, queryset, name, value):
        from django.utils import timezone

        if value:
            return queryset.filter(status=TaskStatus.OPEN, due_at__lt=timezone.now())
        return queryset


class ComplaintFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=ComplaintStatus.choices, empty_label=_("Any status")
    )

    class Meta:
        model = Complaint
        fields = ["status", "kind", "severity"]
