from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import DetailView
from django_filters.views import FilterView
from django_tables2 import LazyPaginator, SingleTableMixin

from crm.access import can_edit_owned, can_view_amounts, get_visible_or_404

from ..filters import CustomerFilter
from ..selectors import visible_customers
from ..tables import CustomerTable


class CustomerListView(LoginRequiredMixin, SingleTableMixin, FilterView):
    table_class = CustomerTable
    filterset_class = CustomerFilter
    template_name = "accounts/customer_list.html"
    paginate_by = 25
    table_pagination = {"paginator_class": LazyPaginator}

    def get_queryset(self):
        return visible_customers(self.request.user).order_by("-id")


class CustomerDetailView(LoginRequiredMixin, DetailView):
    template_name = "accounts/customer_detail.html"
    context_object_name = "customer"

    def get_object(self, queryset=None):
        return get_visible_or_404(visible_customers(self.request.user), pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context["can_edit"] = can_edit_owned(user, self.object)
        context["show_amounts"] = can_view_amounts(user)
        context["history"] = self.object.history.select_related("history_user")[:20]
        return context
