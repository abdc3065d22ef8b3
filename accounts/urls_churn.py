from django.urls import path

from .views import churn, usage_import

urlpatterns = [
    path("churn/", churn.warning_list, name="churn_warnings"),
    path("churn/scan/", churn.scan_now, name="churn_scan"),
    path("churn/policy/", churn.health_policy, name="health_policy"),
    path("churn/report/", churn.report, name="churn_report"),
    path("churn/usage-import/", usage_import.usage_import, name="usage_import"),
    path("churn/usage-import/template.xlsx", usage_import.usage_import_template, name="usage_import_template"),
    path("churn/usage-import/<int:pk>/", usage_import.usage_import_detail, name="usage_import_detail"),
    path("churn/usage-import/<int:pk>/progress/", usage_import.usage_import_progress, name="usage_import_progress"),
    path("churn/usage-import/<int:pk>/apply/", usage_import.usage_import_apply, name="usage_import_apply"),
    path("churn/cases/<int:pk>/", churn.case_detail, name="retention_case"),
    path("churn/cases/<int:pk>/contact/", churn.case_contact, name="retention_contact"),
    path("churn/cases/<int:pk>/plan/", churn.case_plan, name="retention_plan"),
    path("churn/cases/<int:pk>/close/", churn.case_close, name="retention_close"),
    path("<int:pk>/churned/", churn.mark_churned, name="mark_churned"),
    path("<int:pk>/usage-token/", churn.usage_token, name="usage_token"),
]
