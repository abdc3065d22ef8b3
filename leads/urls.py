from django.urls import path

from . import views

app_name = "leads"

urlpatterns = [
    path("", views.LeadListView.as_view(), name="lead_list"),
    path("pool/", views.PoolView.as_view(), name="pool"),
    path("new/", views.lead_create, name="lead_create"),
    path("<int:pk>/", views.lead_detail, name="lead_detail"),
    path("<int:pk>/edit/", views.lead_edit, name="lead_edit"),
    path("<int:pk>/claim/", views.lead_claim, name="lead_claim"),
    path("<int:pk>/release/", views.lead_release, name="lead_release"),
    path("<int:pk>/interaction/", views.lead_interaction, name="lead_interaction"),
    path("<int:pk>/reassign/", views.lead_reassign, name="lead_reassign"),
    path("<int:pk>/convert/", views.lead_convert, name="lead_convert"),
    path("pool/customers/<int:pk>/claim/", views.customer_claim, name="customer_claim"),
    path("rules/scoring/", views.scoring_policy, name="scoring_policy"),
    path("rules/assignment/", views.assignment_policy, name="assignment_policy"),
    path("pipeline/", views.PipelineView.as_view(), name="pipeline"),
    path("opportunities/<int:pk>/", views.opportunity_detail, name="opportunity_detail"),
    path("opportunities/<int:pk>/stage/", views.opportunity_stage, name="opportunity_stage"),
    path("high-potential/", views.high_potential, name="high_potential"),
    path("channels/", views.channel_list, name="channel_list"),
    path("import/", views.lead_import, name="lead_import"),
    path("import/template.xlsx", views.lead_import_template, name="lead_import_template"),
    path("import/<int:pk>/", views.lead_import_detail, name="lead_import_detail"),
    path("import/<int:pk>/apply/", views.lead_import_apply, name="lead_import_apply"),
]
