"""Dormancy: no intent for 6 months → dormant (lower cadence); intent shown again → active."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts import revenue
from accounts.models import Customer, Stage, Status, TierAssessment
from followups import dormancy, services, tasks
from followups.models import FollowUp, Method
from leads.models import Opportunity, OppStage

T0 = timezone.make_aware(timezone.datetime(2026, 11, 23, 3, 15))
DAY = timedelta(days=1)


@pytest.fixture
def old(personas):
    """The three customers exist for a year; nothing has happened since."""
    Customer.objects.update(created_at=T0 - 365 * DAY)
    return personas


def _run(at=T0):
    with time_machine.travel(at, tick=False):
        return dormancy.update_dormancy()


def _status(customer):
    return Customer.objects.values_list("status", flat=True).get(pk=customer.pk)


def _followup(customer, author, at, **kwargs):
    return FollowUp.objects.create(
        customer=customer, author=author, method=Method.CALL, occurred_at=at, logged_at=at, summary="回访", **kwargs
    )


def test_it_makes_customers_without_intent_for_6_months_dormant_once(old):
    # a: talked to every month, but no sign of intent → dormant all the same (plain touches are not intent)
    for days in (20, 50, 80, 110, 140, 170):
        _followup(old.customer_a, old.rep_a, T0 - days * DAY)
    Customer.objects.filter(pk=old.customer_a.pk).update(last_followup_at=T0 - 20 * DAY)
    # b: moved to intent 181 days ago (inside the 182-day window) → stays active
    _followup(old.customer_b, old.rep_b, T0 - 181 * DAY, stage_from=Stage.PROSPECT, stage_to=Stage.INTENT)
    # c: moved to intent 183 days ago → dormant
    _followup(old.customer_c, old.rep_c, T0 - 183 * DAY, stage_from=Stage.PROSPECT, stage_to=Stage.INTENT)
    assert _run() == {"dormant": 2, "reactivated": 0}
    assert _run() == {"dormant": 0, "reactivated": 0}
    assert [_status(c) for c in (old.customer_a, old.customer_b, old.customer_c)] == [
        Status.DORMANT,
        Status.ACTIVE,
        Status.DORMANT,
    ]
    latest = old.customer_a.history.order_by("-history_id").first()
    assert latest.status == Status.DORMANT and "182" in latest.history_change_reason


def test_it_leaves_new_customers_and_a_and_b_tiers_alone(old):
    Customer.objects.filter(pk=old.customer_a.pk).update(created_at=T0 - 181 * DAY)
    for customer, tier in ((old.customer_b, "A"), (old.customer_c, "B")):
        TierAssessment.objects.create(
            customer=customer, tier=tier, computed_tier=tier, potential="medium", relationship="new", assessed_at=T0
        )
    assert _run() == {"dormant": 0, "reactivated": 0}
    TierAssessment.objects.filter(customer=old.customer_c).update(tier="C")
    assert _run() == {"dormant": 1, "reactivated": 0}
    assert _status(old.customer_c) == Status.DORMANT


def test_it_leaves_blacklisted_customers_alone(old):
    Customer.objects.update(status=Status.BLACKLISTED)
    assert _run() == {"dormant": 0, "reactivated": 0}
    assert set(Customer.objects.values_list("status", flat=True)) == {Status.BLACKLISTED}


def test_it_counts_opportunity_activity_as_intent_but_not_a_lost_opportunity(old):
    with time_machine.travel(T0 - 100 * DAY, tick=False):
        Opportunity.objects.create(customer=old.customer_a, owner=old.rep_a, name="续约", stage=OppStage.DEMO)
        Opportunity.objects.create(
            customer=old.customer_b,
            owner=old.rep_b,
            name="扩容",
            stage=OppStage.LOST,
            lost_reason="预算",
            closed_at=T0 - 100 * DAY,
        )
    _run()
    assert [_status(c) for c in (old.customer_a, old.customer_b)] == [Status.ACTIVE, Status.DORMANT]


@pytest.fixture
def deals():
    """A revenue source (like contracts from receivables) with one deal per listed customer."""
    rows = []
    revenue.register(revenue.RevenueSource("test-deals", deals=lambda since: [r for r in rows if r[2] >= since]))
    yield rows
    revenue.unregister("test-deals")


def test_it_counts_a_deal_from_any_revenue_source_as_intent(old, deals):
    deals.append((old.customer_c.pk, 1000, T0 - 30 * DAY, ""))
    _run()
    assert _status(old.customer_c) == Status.ACTIVE
    assert _status(old.customer_a) == Status.DORMANT


def test_it_wakes_a_dormant_customer_when_intent_returns_after_it_went_dormant(old, deals):
    deals.append((old.customer_b.pk, 500, T0 - 200 * DAY, ""))  # before the window: no intent now
    assert _run(T0)["dormant"] == 3
    assert _run(T0 + 5 * DAY) == {"dormant": 0, "reactivated": 0}
    with time_machine.travel(T0 + 10 * DAY, tick=False):
        Opportunity.objects.create(customer=old.customer_a, owner=old.rep_a, name="新需求", stage=OppStage.INTENT)
    assert _run(T0 + 11 * DAY) == {"dormant": 0, "reactivated": 1}
    assert _status(old.customer_a) == Status.ACTIVE
    assert old.customer_a.history.order_by("-history_id").first().history_change_reason


def test_it_keeps_dormant_a_customer_whose_intent_predates_its_dormancy(old):
    with time_machine.travel(T0 - 30 * DAY, tick=False):
        Opportunity.objects.create(customer=old.customer_a, owner=old.rep_a, name="旧商机", stage=OppStage.INTENT)
    with time_machine.travel(T0 - DAY, tick=False):  # a manager parks it in the dormant pool afterwards
        customer = Customer.objects.get(pk=old.customer_a.pk)
        customer.status = Status.DORMANT
        customer.save()
    assert _run() == {"dormant": 2, "reactivated": 0}
    assert _status(old.customer_a) == Status.DORMANT


def test_it_wakes_a_dormant_customer_at_once_when_a_follow_up_moves_it_to_intent(old):
    _run()
    with time_machine.travel(T0 + DAY, tick=False):
        services.log_followup(
            customer=old.customer_a,
            by=old.rep_a,
            method=Method.VISIT,
            occurred_at=T0 + DAY - timedelta(hours=1),
            summary="客户有新项目",
            stage=Stage.INTENT,
        )
    assert _status(old.customer_a) == Status.ACTIVE
    assert _run(T0 + 2 * DAY) == {"dormant": 0, "reactivated": 0}  # and the job agrees


def test_it_runs_as_the_daily_celery_task(old):
    with time_machine.travel(T0, tick=False):
        assert tasks.mark_dormant.apply().get() == {"dormant": 3, "reactivated": 0}
