from django.urls import include, path

app_name = "accounts"

# Two route modules so the archive pages and the data tools (import, hand-over, merge) evolve apart.
urlpatterns = [
    path("", include("accounts.urls_archive")),
    path("", include("accounts.urls_tools")),
    path("", include("accounts.urls_churn")),
    path("", include("accounts.urls_tiers")),
]
