from django.urls import path

from .views import tiers

urlpatterns = [
    path("tiers/", tiers.matrix, name="tier_matrix"),
    path("tiers/customers/", tiers.cell, name="tier_cell"),
    path("tiers/policy/", tiers.policy, name="tier_policy"),
    path("tiers/retier/", tiers.retier, name="tier_retier"),
    path("tiers/runs/", tiers.runs, name="tier_runs"),
    path("tiers/strategies/", tiers.strategies, name="tier_strategies"),
    path("tiers/strategies/new/", tiers.strategy_edit, name="tier_strategy_new"),
    path("tiers/strategies/<int:pk>/", tiers.strategy_edit, name="tier_strategy_edit"),
    path("<int:pk>/tier/override/", tiers.override, name="tier_override"),
    path("<int:pk>/tier/inputs/", tiers.inputs, name="tier_inputs"),
]
