from django.urls import path

from .views import customers

urlpatterns = [
    path("", customers.CustomerListView.as_view(), name="customer_list"),
    path("new/", customers.customer_create, name="customer_create"),
    path("bulk/", customers.customer_bulk, name="customer_bulk"),
    path("columns/", customers.customer_columns, name="customer_columns"),
    path("incomplete/", customers.IncompleteListView.as_view(), name="incomplete"),
    path("<int:pk>/", customers.CustomerDetailView.as_view(), name="customer_detail"),
    path("<int:pk>/edit/", customers.customer_edit, name="customer_edit"),
    path("<int:pk>/contacts/new/", customers.contact_form, name="contact_create"),
    path("<int:pk>/contacts/<int:contact_pk>/edit/", customers.contact_form, name="contact_edit"),
    path("<int:pk>/contacts/<int:contact_pk>/delete/", customers.contact_delete, name="contact_delete"),
]
