"""Lead scoring: a weighted model managers configure; grades follow the bands."""

import pytest

from leads import services
from leads.models import Intent, Lead, ScoringPolicy
from tests.leads.factories import ChannelFactory, LeadFactory

pytestmark = pytest.mark.django_db


def test_it_scores_a_lead_from_its_inputs_with_the_default_weights(policies):
    channel = ChannelFactory(quality=100)
    lead = services.create_lead(
        lead=Lead(
            company="星辰科技",
            channel=channel,
            employee_band="5000+",
            interaction_count=5,
            decision_maker_reached=True,
        )
    )
    assert lead.score == 100
    assert lead.intent == Intent.HIGH
    assert set(lead.score_breakdown) == {"interactions", "company_size", "decision_maker", "channel"}
    assert lead.score_breakdown["decision_maker"]["points"] == 30.0


def test_it_grades_a_cold_lead_low():
    lead = services.create_lead(lead=Lead(company="冷线索公司"))
    assert (lead.score, lead.intent) == (0, Intent.LOW)


def test_it_changes_the_grade_when_a_manager_changes_the_weights(personas):
    lead = services.create_lead(lead=Lead(company="决策人公司", decision_maker_reached=True))
    assert lead.intent == Intent.LOW  # 30 of 100
    policy = ScoringPolicy.current()
    policy.weight_decision_maker, policy.weight_interactions = 80, 10
    policy.weight_company_size, policy.weight_channel = 5, 5
    services.save_scoring_policy(policy=policy, by=personas.manager_a)
    lead.refresh_from_db()
    assert lead.score == 80
    assert lead.intent == Intent.HIGH


def test_it_changes_the_grade_when_the_bands_move(personas):
    lead = services.create_lead(lead=Lead(company="中等公司", decision_maker_reached=True, employee_band="1000-4999"))
    assert lead.score == 52 and lead.intent == Intent.MEDIUM
    policy = ScoringPolicy.current()
    policy.high_from = 50
    services.save_scoring_policy(policy=policy, by=personas.admin)
    lead.refresh_from_db()
    assert lead.intent == Intent.HIGH


def test_it_keeps_an_intent_set_by_hand_when_rescoring():
    lead = services.create_lead(lead=Lead(company="手工公司", intent=Intent.HIGH, intent_set_by_hand=True))
    assert lead.score == 0 and lead.intent == Intent.HIGH
    services.rescore_all()
    lead.refresh_from_db()
    assert lead.intent == Intent.HIGH


def test_it_refuses_weights_from_a_rep(personas):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.save_scoring_policy(policy=ScoringPolicy.current(), by=personas.rep_b)


def test_it_rescores_all_open_leads_in_bulk_and_only_changed_rows(django_assert_max_num_queries):
    channel = ChannelFactory(quality=100)
    leads = LeadFactory.create_batch(30, channel=channel, interaction_count=5)
    with django_assert_max_num_queries(12):
        changed = services.rescore_all()
    assert changed == 30
    assert {lead.score for lead in Lead.objects.filter(pk__in=[x.pk for x in leads])} == {45}
    assert services.rescore_all() == 0


def test_it_recomputes_the_score_when_an_interaction_is_recorded(personas):
    lead = services.create_lead(lead=Lead(company="互动公司", owner=personas.rep_a))
    lead = services.record_interaction(lead=lead, by=personas.rep_a, decision_maker_reached=True)
    assert lead.interaction_count == 1
    assert lead.score == 36  # 6 for one of five interactions + 30 for the decision-maker
    assert lead.last_activity_at is not None
