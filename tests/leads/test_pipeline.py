"""Conversion into customer + contact + opportunity, the blacklist, and the stage door."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts.models import Contact, ContactRole, Customer, Status
from leads import services
from leads.models import Lead, LeadStatus, Opportunity, OpportunityStageChange, OppStage
from tests.factories import CustomerFactory
from tests.leads.factories import ChannelFactory, LeadFactory

pytestmark = pytest.mark.django_db


def owned_lead(personas, **fields):
    defaults = {
        "company": "上海星辰科技有限公司",
        "contact_name": "李总",
        "title": "CEO",
        "phone": "13812345678",
        "email": "li@example.com",
        "owner": personas.rep_a,
        "decision_maker_reached": True,
        "channel": ChannelFactory(code="exhibition", name="展会"),
    }
    return services.create_lead(lead=Lead(**{**defaults, **fields}), by=personas.rep_a, allow_duplicate=True)


def test_it_converts_a_lead_into_a_customer_with_its_contact_and_an_opportunity(personas):
    lead = owned_lead(personas)
    result = services.convert_lead(lead=lead, by=personas.rep_a, amount=120000, opportunity_name="星辰 CRM 项目")
    assert not result.attached
    customer = result.customer
    assert customer.name == "上海星辰科技有限公司" and customer.owner == personas.rep_a
    assert customer.source_channel == "exhibition"
    contact = Contact.objects.get(customer=customer)
    assert (contact.name, contact.phone, contact.role, contact.is_primary) == (
        "李总",
        "13812345678",
        ContactRole.DECISION_MAKER,
        True,
    )
    opp = result.opportunity
    assert (opp.customer, opp.lead, opp.stage, opp.amount, opp.owner) == (
        customer,
        lead,
        OppStage.PROSPECT,
        120000,
        personas.rep_a,
    )
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED and lead.converted_opportunity == opp
    assert OpportunityStageChange.objects.filter(opportunity=opp, from_stage="", to_stage=OppStage.PROSPECT).exists()


def test_it_refuses_to_convert_a_lead_twice(personas):
    lead = owned_lead(personas)
    services.convert_lead(lead=lead, by=personas.rep_a)
    with pytest.raises(services.AlreadyConvertedError):
        services.convert_lead(lead=lead, by=personas.rep_a)
    assert Customer.objects.filter(normalized_name="上海星辰科技").count() == 1
    assert Opportunity.objects.count() == 1


def test_it_attaches_a_duplicate_lead_to_the_existing_customer(personas):
    existing = CustomerFactory(name="上海星辰科技股份有限公司", owner=personas.rep_a, normalized_name="上海星辰科技")
    lead = owned_lead(personas, phone="13900000000")  # same normalised name
    result = services.convert_lead(lead=lead, by=personas.rep_a)
    assert result.attached and result.customer == existing
    assert Customer.objects.filter(normalized_name="上海星辰科技").count() == 1
    assert existing.contacts.filter(phone="13900000000").exists()


def test_it_refuses_an_opportunity_for_a_blacklisted_customer(personas):
    CustomerFactory(
        name="上海星辰科技有限公司", normalized_name="上海星辰科技", owner=personas.rep_a, status=Status.BLACKLISTED
    )
    lead = owned_lead(personas)
    with pytest.raises(services.BlacklistedCustomerError, match="blacklisted"):
        services.convert_lead(lead=lead, by=personas.rep_a)
    assert Opportunity.objects.count() == 0
    lead.refresh_from_db()
    assert lead.status != LeadStatus.CONVERTED
    blacklisted = Customer.objects.get(status=Status.BLACKLISTED)
    with pytest.raises(services.BlacklistedCustomerError):
        services.create_opportunity(customer=blacklisted, owner=personas.rep_a, by=personas.rep_a, name="x")


def test_it_refuses_to_convert_a_pool_lead_or_anothers_lead(personas):
    with pytest.raises(services.LeadError):
        services.convert_lead(lead=LeadFactory(), by=personas.rep_a)
    with pytest.raises(PermissionDenied):
        services.convert_lead(lead=owned_lead(personas), by=personas.rep_c)


def test_it_finds_duplicates_of_leads_and_customers_by_name_and_phone(personas):
    owned_lead(personas)
    with pytest.raises(services.DuplicateLeadError):
        services.create_lead(lead=Lead(company="上海 星辰科技 公司"))
    with pytest.raises(services.DuplicateLeadError):
        services.create_lead(lead=Lead(company="别的名字", phone="13812345678"))
    CustomerFactory(name="北京月光有限公司", normalized_name="北京月光", owner=personas.rep_c)
    with pytest.raises(services.DuplicateLeadError, match="北京月光有限公司"):
        services.create_lead(lead=Lead(company="北京月光"))
    assert services.create_lead(lead=Lead(company="北京月光"), allow_duplicate=True).pk


def opportunity(personas):
    return services.create_opportunity(
        customer=personas.customer_a, owner=personas.rep_a, by=personas.rep_a, name="甲项目", amount=50000
    )


def test_it_moves_an_opportunity_through_the_stages_to_won_with_history(personas):
    opp = opportunity(personas)
    for stage in (OppStage.INTENT, OppStage.DEMO, OppStage.NEGOTIATION, OppStage.WON):
        opp = services.set_opportunity_stage(opportunity=opp, to_stage=stage, by=personas.rep_a)
    assert opp.stage == OppStage.WON and opp.probability == 100 and opp.closed_at
    assert list(opp.stage_changes.values_list("to_stage", flat=True)) == [
        "prospect",
        "intent",
        "demo",
        "negotiation",
        "won",
    ]


def test_it_makes_the_customer_a_won_customer_when_its_opportunity_is_won(personas):
    from accounts.models import Stage as CustomerStage

    opp = opportunity(personas)
    for stage in (OppStage.INTENT, OppStage.DEMO, OppStage.NEGOTIATION, OppStage.WON):
        opp = services.set_opportunity_stage(opportunity=opp, to_stage=stage, by=personas.rep_a)
    personas.customer_a.refresh_from_db()
    assert personas.customer_a.stage == CustomerStage.WON
    assert personas.customer_a.history.first().history_change_reason


def test_it_refuses_a_jump_that_is_not_in_the_transitions_table(personas):
    opp = opportunity(personas)
    with pytest.raises(services.StageTransitionError, match="cannot move"):
        services.set_opportunity_stage(opportunity=opp, to_stage=OppStage.WON, by=personas.rep_a)
    opp.refresh_from_db()
    assert opp.stage == OppStage.PROSPECT and opp.stage_changes.count() == 1


def test_it_needs_a_reason_to_lose_and_can_reopen_a_lost_opportunity(personas):
    opp = opportunity(personas)
    with pytest.raises(services.StageTransitionError, match="why"):
        services.set_opportunity_stage(opportunity=opp, to_stage=OppStage.LOST, by=personas.rep_a)
    at = timezone.now() - timedelta(days=1)
    opp = services.set_opportunity_stage(
        opportunity=opp, to_stage=OppStage.LOST, lost_reason="价格太高", by=personas.rep_a, at=at
    )
    assert (opp.lost_reason, opp.closed_at, opp.probability) == ("价格太高", at, 0)
    opp = services.set_opportunity_stage(opportunity=opp, to_stage=OppStage.PROSPECT, by=personas.rep_a)
    assert opp.closed_at is None and opp.lost_reason == ""


def test_it_never_moves_a_won_opportunity(personas):
    opp = opportunity(personas)
    Opportunity.objects.filter(pk=opp.pk).update(stage=OppStage.WON, closed_at=timezone.now())
    opp.refresh_from_db()
    with pytest.raises(services.StageTransitionError):
        services.set_opportunity_stage(opportunity=opp, to_stage=OppStage.LOST, lost_reason="x", by=personas.rep_a)


def test_it_lets_only_the_owner_their_manager_and_admins_move_stages(personas):
    opp = opportunity(personas)
    for outsider in (personas.rep_b, personas.rep_c, personas.manager_b, personas.finance):
        with pytest.raises(PermissionDenied):
            services.set_opportunity_stage(opportunity=opp, to_stage=OppStage.INTENT, by=outsider)
    services.set_opportunity_stage(opportunity=opp, to_stage=OppStage.INTENT, by=personas.manager_a)
