from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from accounts.views import churn as churn_views
from followups import views as followups_views
from leads import views as leads_views

from . import views, views_audit

crm_patterns = (
    [
        path("", views.home, name="home"),
        path("status/", views.status, name="status"),
        path("preferences/", views.preferences, name="preferences"),
        path("language/", views.set_language, name="set_language"),
        path("audit/", views_audit.user_index, name="audit_users"),
        path("audit/customers/<int:pk>/", views_audit.customer_trail, name="audit_customer"),
        path("audit/users/<int:pk>/", views_audit.user_trail, name="audit_user"),
    ],
    "crm",
)

urlpatterns = [
    path("", include(crm_patterns)),
    path("customers/", include("accounts.urls")),
    path("leads/", include("leads.urls")),
    path("forms/lead/", leads_views.public_lead_form, name="public_lead_form"),
    path("followups/", include("followups.urls")),
    path("receivables/", include("receivables.urls")),
    path("dashboards/", include("crm.dashboards.urls")),
    path("nps/<str:token>/", followups_views.nps_answer, name="nps_answer"),
    path("api/usage/", churn_views.usage_api, name="usage_api"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("admin/", admin.site.urls),
]

handler403 = "crm.views.error_403"
handler404 = "crm.views.error_404"
