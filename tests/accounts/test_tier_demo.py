"""Demo data of tiering: repeat business, inputs and a first re-tier give an A/B/C spread (idempotent)."""

import pytest
from django.db.models import Count

from accounts.models import MaintenanceStrategy, TierAssessment, TierInputs, TierRun
from crm import demo
from leads.models import Opportunity, OppStage

pytestmark = pytest.mark.django_db


def test_the_demo_tiers_every_customer_with_a_realistic_spread():
    result = demo.seed(customers=120)
    assert result["tier_inputs_created"] == 120 and result["repeat_deals_created"] > 0
    tiers = dict(TierAssessment.objects.values_list("tier").annotate(n=Count("pk")))
    assert sum(tiers.values()) == 120
    assert tiers.get("A", 0) >= 2 and tiers.get("B", 0) >= 5 and tiers["C"] > tiers["B"] > tiers["A"]
    # the first re-tier, and the one after the churn stories cut some budgets
    assert MaintenanceStrategy.objects.count() == 3 and TierRun.objects.count() == 2
    for opp in Opportunity.objects.filter(stage=OppStage.WON).prefetch_related("stage_changes")[:50]:
        assert [c.to_stage for c in opp.stage_changes.all()][-1] == "won"
    deals = Opportunity.objects.count()
    again = demo.seed(customers=120)
    assert again["repeat_deals_created"] == 0 and again["tier_inputs_created"] == 0
    assert Opportunity.objects.count() == deals + again.get("opportunities_created", 0)
    assert TierInputs.objects.count() == 120
