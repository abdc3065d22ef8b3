from django.urls import path

from .views import customers

urlpatterns = [
    path("", customers.CustomerListView.as_view(), name="customer_list"),
    path("<int:pk>/", customers.CustomerDetailView.as_view(), name="customer_detail"),
]
