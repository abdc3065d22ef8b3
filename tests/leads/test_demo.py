"""Demo data: leads across channels, opportunities across every stage over 18 months (idempotent)."""

from datetime import timedelta

import pytest
from django.db.models import Max, Min
from django.utils import timezone

from crm import demo
from leads.models import ChannelCost, Lead, LeadStatus, Opportunity, OpportunityStageChange, OppStage

pytestmark = pytest.mark.django_db


def test_it_seeds_leads_and_a_pipeline_with_plausible_histories():
    result = demo.seed(customers=60)
    assert result["leads_created"] == 60 and result["opportunities_created"] == 20
    assert Lead.objects.values("channel").distinct().count() >= 5
    assert set(Opportunity.objects.values_list("stage", flat=True)) >= {OppStage.WON, OppStage.LOST}
    assert ChannelCost.objects.count() == 7 * 18
    span = Opportunity.objects.aggregate(first=Min("created_at"), last=Max("created_at"))
    assert span["first"] < timezone.now() - timedelta(days=180)
    for opp in Opportunity.objects.filter(stage=OppStage.WON).prefetch_related("stage_changes"):
        stages = [c.to_stage for c in opp.stage_changes.all()]
        assert stages == ["prospect", "intent", "demo", "negotiation", "won"] and opp.closed_at
    assert not Opportunity.objects.filter(stage=OppStage.LOST, lost_reason="").exists()
    assert OpportunityStageChange.objects.count() >= Opportunity.objects.count()
    converted = Lead.objects.filter(status=LeadStatus.CONVERTED).select_related("converted_opportunity")
    assert all(lead.converted_opportunity.lead_id == lead.pk for lead in converted)
    demo.seed(customers=60)
    assert Lead.objects.exclude(status=LeadStatus.CONVERTED).count() == 60
