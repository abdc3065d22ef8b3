"""Leads follow the customer archive's hand-over and merge."""

import pytest
from django.utils import timezone

from accounts.services.handover import transfer_customers
from accounts.services.merge import merge_customers
from leads.models import Opportunity, OppStage
from tests.factories import CustomerFactory
from tests.leads.factories import LeadFactory

pytestmark = pytest.mark.django_db


def _opportunity(customer, owner, stage=OppStage.INTENT, name="商机"):
    closed = timezone.now() if stage in (OppStage.WON, OppStage.LOST) else None
    return Opportunity.objects.create(
        customer=customer, owner=owner, team=owner.profile.team, name=name, amount=1000, stage=stage, closed_at=closed
    )


def test_it_moves_the_departing_reps_open_opportunities_with_a_hand_over(personas):
    open_opp = _opportunity(personas.customer_a, personas.rep_a)
    won_opp = _opportunity(personas.customer_a, personas.rep_a, stage=OppStage.WON, name="已赢")
    transfer = transfer_customers(from_user=personas.rep_a, to_user=personas.rep_b, by=personas.manager_a)
    open_opp.refresh_from_db()
    won_opp.refresh_from_db()
    assert open_opp.owner == personas.rep_b
    assert won_opp.owner == personas.rep_a  # closed deals keep the rep who won them
    assert transfer.moved["opportunities"] == 1


def test_it_points_opportunities_and_leads_at_the_survivor_of_a_merge(personas):
    loser = CustomerFactory(name="MARKER-A 甲公司 副本", owner=personas.rep_a)
    opp = _opportunity(loser, personas.rep_a)
    lead = LeadFactory(converted_customer=loser)
    merge = merge_customers(survivor=personas.customer_a, loser=loser, by=personas.manager_a)
    opp.refresh_from_db()
    lead.refresh_from_db()
    assert opp.customer == personas.customer_a
    assert lead.converted_customer == personas.customer_a
    assert merge.moved["opportunities"] == 1 and merge.moved["leads"] == 1
