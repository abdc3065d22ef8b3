from django.urls import path

from .views import tools

urlpatterns = [
    path("import/", tools.import_upload, name="import_upload"),
    path("import/template.xlsx", tools.import_template, name="import_template"),
    path("import/<int:pk>/", tools.import_detail, name="import_detail"),
    path("import/<int:pk>/progress/", tools.import_progress, name="import_progress"),
    path("import/<int:pk>/apply/", tools.import_apply, name="import_apply"),
    path("handover/", tools.handover_view, name="handover"),
    path("<int:pk>/merge/", tools.merge_search, name="merge_search"),
    path("<int:pk>/merge/<int:other>/", tools.merge_view, name="merge"),
]
