from django.urls import path

from . import views

app_name = "dashboards"

urlpatterns = [
    path("", views.index, name="index"),
    path("sales/", views.sales, name="sales"),
    path("customers/", views.customers, name="customers"),
    path("acquisition/", views.acquisition, name="acquisition"),
    path("discipline/", views.discipline, name="discipline"),
    path("receivables/", views.receivables, name="receivables"),
    path("cross-sell/", views.cross_sell, name="cross_sell"),
    path("checklist/", views.checklist, name="checklist"),
    path("targets/", views.targets, name="targets"),
    path("targets/<int:pk>/delete/", views.target_delete, name="target_delete"),
    path("settings/", views.policy, name="settings"),
]
