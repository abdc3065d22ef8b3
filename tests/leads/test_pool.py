"""Assignment, caps, the public pool, claiming (race-safe) and nightly recycling."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import close_old_connections, connection
from django.utils import timezone

from accounts.models import Stage
from crm.roles import Role
from leads import services
from leads.models import AssignmentPolicy, Intent, Lead, LeadStatus, PoolReason
from tests.conftest import require
from tests.factories import CustomerFactory, UserFactory
from tests.leads.factories import LeadFactory

pytestmark = pytest.mark.django_db


def set_cap(n):
    AssignmentPolicy.objects.update_or_create(pk=1, defaults={"open_lead_cap": n})


def test_it_gives_high_intent_leads_to_senior_reps_in_turn(personas):
    second_senior = UserFactory(username="senior2", role=Role.SENIOR_REP, team=personas.team_b)
    owners = []
    for n in range(4):
        lead = LeadFactory(intent=Intent.HIGH, company=f"高意向{n}")
        owners.append(services.assign_lead(lead=lead).owner_id)
    assert owners == [personas.rep_b.pk, second_senior.pk, personas.rep_b.pk, second_senior.pk]
    lead = Lead.objects.get(company="高意向1")
    assert lead.team_id == personas.team_b.pk and lead.pool_reason == "" and lead.assigned_at


def test_it_skips_a_senior_rep_at_the_cap_and_leaves_the_lead_in_the_pool_when_all_are_full(personas):
    set_cap(1)
    LeadFactory(owner=personas.rep_b, status=LeadStatus.WORKING)
    lead = services.assign_lead(lead=LeadFactory(intent=Intent.HIGH))
    assert lead.owner_id is None
    assert lead.pool_reason == PoolReason.NO_CAPACITY


def test_it_sends_medium_and_low_leads_to_nurture(personas):
    for intent in (Intent.MEDIUM, Intent.LOW):
        lead = services.assign_lead(lead=LeadFactory(intent=intent))
        assert (lead.owner_id, lead.status, lead.pool_reason) == (None, LeadStatus.NURTURING, PoolReason.NURTURE)


def test_it_never_gives_ordinary_reps_high_intent_leads(personas):
    personas.rep_b.groups.clear()
    lead = services.assign_lead(lead=LeadFactory(intent=Intent.HIGH))
    assert lead.owner_id is None


def test_it_lets_a_rep_claim_a_pool_lead_and_records_who(personas):
    lead = LeadFactory()
    claimed = services.claim_lead(lead_id=lead.pk, by=personas.rep_a)
    assert claimed.owner == personas.rep_a and claimed.team == personas.team_a
    assert claimed.status == LeadStatus.WORKING
    assert claimed.history.first().history_user == personas.rep_a


def test_it_refuses_a_claim_over_the_cap(personas):
    set_cap(2)
    LeadFactory.create_batch(2, owner=personas.rep_a, status=LeadStatus.WORKING)
    LeadFactory(owner=personas.rep_a, status=LeadStatus.CONVERTED, converted_customer=personas.customer_a)
    lead = LeadFactory()
    with pytest.raises(services.CapReachedError):
        services.claim_lead(lead_id=lead.pk, by=personas.rep_a)
    assert Lead.objects.get(pk=lead.pk).owner_id is None


def test_it_tells_the_second_claimer_that_the_lead_is_gone(personas):
    lead = LeadFactory()
    services.claim_lead(lead_id=lead.pk, by=personas.rep_a)
    with pytest.raises(services.AlreadyClaimedError, match="no longer in the pool"):
        services.claim_lead(lead_id=lead.pk, by=personas.rep_c)
    assert Lead.objects.get(pk=lead.pk).owner == personas.rep_a


def test_it_refuses_claims_from_finance(personas):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.claim_lead(lead_id=LeadFactory().pk, by=personas.finance)


@pytest.mark.django_db(transaction=True)
def test_it_lets_exactly_one_of_two_simultaneous_claims_win(personas):
    require(connection.vendor == "postgresql", "concurrent row locks need PostgreSQL (SQLite has one writer)")
    lead = LeadFactory()
    barrier = threading.Barrier(2)
    outcomes = {}

    def claim(user):
        try:
            barrier.wait()
            services.claim_lead(lead_id=lead.pk, by=user)
            outcomes[user.username] = "won"
        except services.AlreadyClaimedError:
            outcomes[user.username] = "lost"
        finally:
            close_old_connections()

    threads = [threading.Thread(target=claim, args=(u,)) for u in (personas.rep_a, personas.rep_c)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes.values()) == ["lost", "won"]
    winner = next(name for name, result in outcomes.items() if result == "won")
    assert Lead.objects.get(pk=lead.pk).owner.username == winner


@pytest.mark.django_db(transaction=True)
def test_it_keeps_the_cap_when_one_rep_claims_two_leads_at_once(personas):
    require(connection.vendor == "postgresql", "concurrent row locks need PostgreSQL (SQLite has one writer)")
    set_cap(1)
    leads = LeadFactory.create_batch(2)
    barrier = threading.Barrier(2)
    outcomes = []

    def claim(lead):
        try:
            barrier.wait()
            services.claim_lead(lead_id=lead.pk, by=personas.rep_a)
            outcomes.append("won")
        except services.CapReachedError:
            outcomes.append("capped")
        finally:
            close_old_connections()

    threads = [threading.Thread(target=claim, args=(lead,)) for lead in leads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["capped", "won"]
    assert Lead.objects.filter(owner=personas.rep_a).count() == 1


def test_it_lets_a_manager_reassign_within_their_team_and_the_cap(personas):
    lead = LeadFactory(owner=personas.rep_a, status=LeadStatus.WORKING)
    services.reassign_lead(lead=lead, to_user=personas.rep_b, by=personas.manager_a)
    lead.refresh_from_db()
    assert lead.owner == personas.rep_b
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.reassign_lead(lead=lead, to_user=personas.rep_c, by=personas.manager_a)
    with pytest.raises(PermissionDenied):
        services.reassign_lead(lead=lead, to_user=personas.rep_a, by=personas.rep_b)
    set_cap(1)
    services.reassign_lead(lead=LeadFactory(owner=personas.rep_b), to_user=personas.rep_a, by=personas.manager_a)
    with pytest.raises(services.CapReachedError):
        services.reassign_lead(lead=lead, to_user=personas.rep_a, by=personas.manager_a)


def test_it_returns_leads_without_follow_up_for_30_days_to_the_pool(personas):
    with time_machine.travel("2026-01-01 09:00 +0800", tick=False):
        stale = services.claim_lead(lead_id=LeadFactory().pk, by=personas.rep_a)
        fresh = services.claim_lead(lead_id=LeadFactory().pk, by=personas.rep_a)
    with time_machine.travel("2026-01-25 09:00 +0800", tick=False):
        services.record_interaction(lead=fresh, by=personas.rep_a)
    with time_machine.travel("2026-01-30 09:00 +0800", tick=False):
        assert services.recycle_pool() == {"leads": 0, "customers": 0}  # 29 days: not yet
    with time_machine.travel("2026-02-01 09:00 +0800", tick=False):
        assert services.recycle_pool()["leads"] == 1
        assert services.recycle_pool()["leads"] == 0  # idempotent
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.owner_id is None and stale.pool_reason == PoolReason.NO_FOLLOWUP
    assert "30" in stale.history.first().history_change_reason
    assert fresh.owner == personas.rep_a


def test_it_honours_the_recycle_days_a_manager_set(personas):
    AssignmentPolicy.objects.update_or_create(pk=1, defaults={"recycle_days": 7})
    with time_machine.travel("2026-03-01 09:00 +0800", tick=False):
        lead = services.claim_lead(lead_id=LeadFactory().pk, by=personas.rep_a)
    with time_machine.travel("2026-03-09 09:00 +0800", tick=False):
        services.recycle_pool()
    lead.refresh_from_db()
    assert lead.owner_id is None


def test_it_returns_prospect_customers_without_follow_up_to_the_pool(personas):
    old = timezone.now() - timedelta(days=31)
    prospect = CustomerFactory(owner=personas.rep_a, stage=Stage.PROSPECT, last_followup_at=old)
    won = CustomerFactory(owner=personas.rep_a, stage=Stage.WON, last_followup_at=old)
    recent = CustomerFactory(owner=personas.rep_a, stage=Stage.PROSPECT, last_followup_at=timezone.now())
    assert services.recycle_pool()["customers"] == 1
    prospect.refresh_from_db()
    won.refresh_from_db()
    recent.refresh_from_db()
    assert prospect.owner_id is None and won.owner_id and recent.owner_id
    assert "no follow-up" in prospect.history.first().history_change_reason
    assert services.recycle_pool()["customers"] == 0
    claimed = services.claim_customer(customer_id=prospect.pk, by=personas.rep_c)
    assert claimed.owner == personas.rep_c
    with pytest.raises(services.AlreadyClaimedError):
        services.claim_customer(customer_id=prospect.pk, by=personas.rep_a)


def test_it_lets_an_owner_release_a_lead_to_the_pool(personas):
    lead = LeadFactory(owner=personas.rep_a)
    services.release_lead(lead=lead, by=personas.rep_a)
    lead.refresh_from_db()
    assert lead.owner_id is None and lead.pool_reason == PoolReason.RELEASED
