from django.urls import path

from . import views

app_name = "receivables"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("overdue/", views.overdue, name="overdue"),
    path("contracts/", views.contract_list, name="contract_list"),
    path("contracts/new/", views.contract_create, name="contract_create"),
    path("contracts/<int:pk>/", views.contract_detail, name="contract_detail"),
    path("contracts/<int:pk>/payment/", views.payment_create, name="payment_create"),
    path("contracts/<int:pk>/approve/", views.contract_approve, name="contract_approve"),
    path("approvals/", views.approvals, name="approvals"),
    path("ratings/", views.ratings, name="ratings"),
    path("ratings/<int:customer_pk>/", views.rating_set, name="rating_set"),
    path("policies/", views.policies, name="policies"),
    path("blacklist/", views.blacklist, name="blacklist"),
    path("blacklist/<int:customer_pk>/lift/", views.blacklist_lift, name="blacklist_lift"),
]
