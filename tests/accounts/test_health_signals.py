"""Each churn signal on hand-built histories (DOMAIN §6). Time is frozen on Monday 2026-11-23 10:00."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone, translation

from accounts import health
from accounts.models import (
    BudgetLevel,
    HealthPolicy,
    MaintenanceStrategy,
    TierAssessment,
    TierInputs,
    UsageWeek,
)
from accounts.services.churn import usage_signal
from followups.health import (
    complaints_signal,
    followup_gap_signal,
    intent_flags_signal,
    interaction_drop_signal,
    nps_signal,
)
from followups.models import Complaint, ComplaintKind, ComplaintStatus, FollowUp, NpsResponse, NpsSurvey
from receivables.health import payment_signal
from receivables.models import Contract, ContractStatus, Installment
from tests.factories import CustomerFactory

NOW = timezone.make_aware(timezone.datetime(2026, 11, 23, 10, 0))
THIS_MONDAY = date(2026, 11, 23)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False), translation.override("en"):
        yield


@pytest.fixture
def policy(db):
    return HealthPolicy.objects.create()


def test_every_signal_is_registered_by_its_own_app():
    assert {s.key for s in health.signals()} >= {
        "usage",
        "followup_gap",
        "interaction_drop",
        "complaints",
        "nps",
        "intent_flags",
        "payments",
    }


# --- usage: two weeks running below 50 % of the customer's own mean ---------------------------------


def _usage(customer, baseline: list[int], recent: list[int]):
    """Weekly counts: `baseline` for the 8 weeks before the last two, `recent` for the last two complete weeks."""
    weeks = [THIS_MONDAY - timedelta(weeks=n) for n in range(len(baseline) + len(recent), 0, -1)]
    for week, logins in zip(weeks, baseline + recent, strict=True):
        if logins is not None:
            UsageWeek.objects.create(customer=customer, week_start=week, logins=logins)


@pytest.mark.parametrize(
    ("recent", "flagged"),
    [
        ([49, 49], True),  # both weeks below 50 of a mean of 100
        ([50, 49], False),  # exactly 50 % is not below
        ([49, 50], False),
        ([10, 80], False),  # one week low is not "two weeks running"
        ([None, None], True),  # a customer that stops reporting counts as 0
    ],
)
def test_usage_flags_two_weeks_running_below_half_of_the_own_mean(policy, recent, flagged):
    customer = CustomerFactory()
    _usage(customer, [100] * 8, recent)
    result = usage_signal(NOW, policy)
    assert (customer.pk in result) is flagged


def test_usage_severity_is_how_far_below_the_mean_it_fell(policy):
    customer = CustomerFactory()
    _usage(customer, [120, 80] * 4, [30, 20])  # mean 100, recent mean 25
    severity, detail = usage_signal(NOW, policy)[customer.pk]
    assert severity == pytest.approx(0.75)
    assert "100" in detail and "25" in detail


def test_usage_ignores_the_current_incomplete_week_and_weeks_before_reporting_started(policy):
    started_late = CustomerFactory()
    _usage(started_late, [None] * 6 + [10, 10], [4, 4])  # mean of the two reported baseline weeks: 10
    UsageWeek.objects.create(customer=started_late, week_start=THIS_MONDAY, logins=100)  # current week: ignored
    assert usage_signal(NOW, policy)[started_late.pk][0] == pytest.approx(0.6)
    nothing_before = CustomerFactory()
    _usage(nothing_before, [None] * 8, [1, 1])
    assert nothing_before.pk not in usage_signal(NOW, policy)


def test_usage_window_and_ratio_are_configurable(policy):
    customer = CustomerFactory()
    _usage(customer, [100] * 8, [100, 55, 55])  # weeks -3, -2, -1
    assert customer.pk not in usage_signal(NOW, policy)  # 55 is not below 50 %
    policy.usage_ratio = 60
    assert customer.pk in usage_signal(NOW, policy)  # below 60 % two weeks running
    policy.usage_run_weeks = 3
    assert customer.pk not in usage_signal(NOW, policy)  # but not three
    policy.usage_window_weeks, policy.usage_run_weeks = 2, 1
    UsageWeek.objects.filter(customer=customer, week_start=THIS_MONDAY - timedelta(weeks=3)).update(logins=200)
    # window of 2 = weeks -3 and -2: mean (200 + 55) / 2 = 127.5; 60 % = 76.5 > 55 of week -1
    assert customer.pk in usage_signal(NOW, policy)


# --- follow-ups ---------------------------------------------------------------------------------------


def _assess(customer, tier="B", potential="medium", relationship="long_term"):
    TierAssessment.objects.create(
        customer=customer,
        tier=tier,
        computed_tier=tier,
        potential=potential,
        relationship=relationship,
        assessed_at=NOW,
    )


def test_followup_gap_is_measured_against_the_tier_cadence(policy):
    MaintenanceStrategy.objects.all().delete()
    MaintenanceStrategy.objects.create(
        tier="A", goal="维护", cadences=[{"action": "拜访", "every_days": 14}, {"action": "高层", "every_days": 90}]
    )
    a_late = CustomerFactory(last_followup_at=NOW - timedelta(days=21))
    _assess(a_late, tier="A")
    a_fine = CustomerFactory(last_followup_at=NOW - timedelta(days=14))
    _assess(a_fine, tier="A")
    untiered = CustomerFactory(last_followup_at=NOW - timedelta(days=45))  # default cadence: 30 days
    never = CustomerFactory()
    never.__class__.objects.filter(pk=never.pk).update(created_at=NOW - timedelta(days=70))

    result = followup_gap_signal(NOW, policy)

    assert result[a_late.pk][0] == pytest.approx(0.5)  # 7 days beyond a 14-day cadence
    assert "21" in result[a_late.pk][1] and "14" in result[a_late.pk][1]
    assert a_fine.pk not in result  # exactly on the cadence is not late
    assert result[untiered.pk][0] == pytest.approx(0.5)  # 15 days beyond 30
    assert result[never.pk][0] == 1.0  # 70 days since it was created: more than twice the cadence


def _followups(customer, days_ago: list[int]):
    for days in days_ago:
        FollowUp.objects.create(
            customer=customer,
            author=customer.owner,
            occurred_at=NOW - timedelta(days=days),
            logged_at=NOW - timedelta(days=days),
            summary="联系",
        )


def test_fewer_interactions_than_the_own_trailing_mean(policy):
    dropped = CustomerFactory()
    _followups(dropped, [40 + 15 * i for i in range(12)])  # 12 in the 6 months before: 2 a month
    steady = CustomerFactory()
    _followups(steady, [5] + [40 + 15 * i for i in range(12)])  # 1 in the last 30 days = half the mean
    new = CustomerFactory()
    _followups(new, [45, 60])  # mean 1/3 a month: too few to judge

    result = interaction_drop_signal(NOW, policy)

    assert result[dropped.pk][0] == 1.0
    assert "2.0" in result[dropped.pk][1]
    assert steady.pk not in result
    assert new.pk not in result


def _complaint(customer, *, days_ago, kind=ComplaintKind.COMPLAINT, status=ComplaintStatus.OPEN, responded=True):
    opened = NOW - timedelta(days=days_ago)
    return Complaint.objects.create(
        customer=customer,
        kind=kind,
        description="投诉",
        status=status,
        opened_at=opened,
        opened_by=customer.owner,
        response_due_at=opened + timedelta(hours=24),
        resolution_due_at=opened + timedelta(hours=48),
        responded_at=opened + timedelta(hours=1) if responded else None,
        resolved_at=opened + timedelta(hours=40) if status == ComplaintStatus.RESOLVED else None,
    )


def test_complaints_open_sla_breaches_weigh_more_than_rising_counts(policy):
    breached = CustomerFactory()
    _complaint(breached, days_ago=3)  # solution was due 2 days after opening: breached
    rising = CustomerFactory()
    for days in (10, 20):
        _complaint(rising, days_ago=days, status=ComplaintStatus.RESOLVED)
    _complaint(rising, days_ago=100, status=ComplaintStatus.RESOLVED)  # 2 in the last 90 days vs 1 before
    flat = CustomerFactory()
    for days in (10, 100, 120):
        _complaint(flat, days_ago=days, status=ComplaintStatus.RESOLVED)  # 1 recent, 2 before: falling
    fresh = CustomerFactory()
    fresh_case = _complaint(fresh, days_ago=0)  # open, still within its SLA
    fresh_case.opened_at = NOW - timedelta(hours=2)
    fresh_case.response_due_at, fresh_case.resolution_due_at = NOW + timedelta(hours=22), NOW + timedelta(hours=46)
    fresh_case.save()

    result = complaints_signal(NOW, policy)

    assert result[breached.pk][0] == 1.0
    assert result[rising.pk][0] == 0.6
    assert flat.pk not in result
    assert result[fresh.pk][0] == 0.3


def _nps(customer, answers: list[tuple[int, int]]):
    """(days ago, score) answers, one survey each."""
    for n, (days, score) in enumerate(answers):
        survey = NpsSurvey.objects.create(
            token=f"t{customer.pk}-{n}",
            customer=customer,
            period=f"P{n}",
            sent_at=NOW - timedelta(days=days + 1),
            expires_at=NOW,
        )
        NpsResponse.objects.create(survey=survey, score=score, answered_at=NOW - timedelta(days=days))


def test_nps_detractor_or_falling_score(policy):
    detractor = CustomerFactory()
    _nps(detractor, [(200, 9), (10, 6)])
    falling = CustomerFactory()
    _nps(falling, [(200, 10), (10, 7)])
    slipping = CustomerFactory()
    _nps(slipping, [(200, 9), (10, 7)])  # 2 points: not "falling"
    recovered = CustomerFactory()
    _nps(recovered, [(200, 3), (10, 9)])  # the latest answer counts

    result = nps_signal(NOW, policy)

    assert result[detractor.pk][0] == 1.0
    assert result[falling.pk] == (0.5, "NPS fell from 10 to 7")
    assert slipping.pk not in result
    assert recovered.pk not in result


def test_termination_intent_and_budget_cuts(policy):
    leaving = CustomerFactory()
    _complaint(leaving, days_ago=5, kind=ComplaintKind.TERMINATION)
    long_ago = CustomerFactory()
    _complaint(long_ago, days_ago=200, kind=ComplaintKind.TERMINATION, status=ComplaintStatus.RESOLVED)
    cutting = CustomerFactory()
    TierInputs.objects.create(customer=cutting, budget_level=BudgetLevel.CUT)
    ample = CustomerFactory()
    TierInputs.objects.create(customer=ample, budget_level=BudgetLevel.TOP)

    result = intent_flags_signal(NOW, policy)

    assert result[leaving.pk][0] == 1.0
    assert long_ago.pk not in result
    assert result[cutting.pk][0] == 0.6
    assert ample.pk not in result


# --- receivables --------------------------------------------------------------------------------------


def _contract(customer, installments, status=ContractStatus.ACTIVE):
    contract = Contract.objects.create(
        customer=customer,
        title="合同",
        amount=sum(Decimal(a) for a, *_rest in installments),
        signed_on=date(2026, 1, 1),
        owner=customer.owner,
        status=status,
    )
    for seq, (amount, due_on, paid) in enumerate(installments, start=1):
        Installment.objects.create(
            contract=contract, seq=seq, amount=Decimal(amount), due_on=due_on, paid_amount=Decimal(paid)
        )


def test_payment_delays_grow_with_the_oldest_overdue_installment(policy):
    today = THIS_MONDAY
    one_day = CustomerFactory()
    _contract(one_day, [("1000.00", today - timedelta(days=1), "0")])
    month = CustomerFactory()
    _contract(month, [("5000.00", today - timedelta(days=30), "2000.00"), ("300.50", today - timedelta(days=2), "0")])
    two_months = CustomerFactory()
    _contract(two_months, [("800.00", today - timedelta(days=60), "0")])
    paid = CustomerFactory()
    _contract(paid, [("800.00", today - timedelta(days=60), "800.00")])
    due_today = CustomerFactory()
    _contract(due_today, [("800.00", today, "0")])
    draft = CustomerFactory()
    _contract(draft, [("800.00", today - timedelta(days=60), "0")], status=ContractStatus.DRAFT)

    result = payment_signal(NOW, policy)

    assert result[one_day.pk][0] == 0.3
    assert result[month.pk] == (
        0.6,
        "An installment overdue, the oldest 30 days late",
        "¥3,300.50 overdue, the oldest 30 days late",
    )
    assert result[two_months.pk][0] == 1.0
    assert {paid.pk, due_today.pk, draft.pk}.isdisjoint(result)
