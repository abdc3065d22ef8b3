"""Demo churn data for `seed_demo`: weekly usage, a few believable warning stories, then a first scan.

Runs after the follow-up, receivables and tiering seeders (crm.demo), so the signals those apps
register already see complaints, NPS answers and overdue installments. This seeder only touches
what accounts owns — weekly usage, the budget-cut flag of the tier inputs, the last follow-up time
— re-tiers after the budget cuts, and picks its stories from what the other signals already
report, so that the scan finds:

- high risk: customers with an overdue payment or complaint who also stopped using the product,
  cut their budget and were not followed up within their cadence;
- medium risk: usage falling for two weeks with a follow-up gap, or a budget cut with a gap;
- low risk: everyone else (steady usage).

Idempotent: a second run finds usage already seeded and changes nothing.
"""

import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from .. import health
from ..models import BudgetLevel, Customer, MaintenanceStrategy, Stage, TierAssessment, TierInputs, UsageWeek
from .churn import current_policy, monday_of, run_scan
from .tiering import apply_retier, strategy_for

WEEKS = 10
DEFAULT_CADENCE = 30
# Weighted points the other apps' signals must already take off for a customer to become a
# high-risk story: with stopped usage (10), a budget cut (9) and a follow-up gap (up to 20) it drops below 50.
HIGH_FROM = 12


def _cadences(customer_ids) -> dict[int, int]:
    strategies = list(MaintenanceStrategy.objects.filter(active=True))
    days = {}
    for pk, tier, potential, relationship in TierAssessment.objects.filter(customer_id__in=customer_ids).values_list(
        "customer_id", "tier", "potential", "relationship"
    ):
        strategy = strategy_for(tier, potential, relationship, strategies)
        days[pk] = (strategy.cadence_days if strategy else None) or DEFAULT_CADENCE
    return days


def seed_churn(*, seed: int = 20261130) -> dict:
    if UsageWeek.objects.exists():
        return {"usage_weeks": 0, "health_scored": 0}
    rng = random.Random(seed)  # noqa: S311 - demo data, reproducible on purpose
    now = timezone.now()
    policy = current_policy()
    ids = list(
        Customer.objects.filter(merged_into__isnull=True)
        .exclude(stage=Stage.CHURNED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not ids:
        return {"usage_weeks": 0, "health_scored": 0}
    # What the other apps' signals already say: weighted points lost per customer.
    lost = dict.fromkeys(ids, 0.0)
    worst = {}
    for signal in health.signals():
        if signal.key in ("usage", "followup_gap", "intent_flags"):
            continue
        weight = float(policy.weights.get(signal.key, 0))
        for customer_id, (severity, *_detail) in signal.compute(now, policy).items():
            if customer_id in lost:
                lost[customer_id] += weight * severity
                worst[customer_id] = max(worst.get(customer_id, 0.0), weight * severity)
    troubled = [pk for pk in ids if lost[pk] >= HIGH_FROM]
    high = set(rng.sample(troubled, min(len(troubled), max(3, len(ids) // 15))))
    rest = [pk for pk in ids if pk not in high]
    medium = set(rng.sample(rest, min(len(rest), max(4, len(ids) // 8))))
    cadence = _cadences(ids)

    this_monday = monday_of(timezone.localdate(now))
    weeks = [this_monday - timedelta(weeks=n) for n in range(WEEKS, 0, -1)]
    usage, gaps, cuts = [], {}, []
    for pk in ids:
        if pk not in high and pk not in medium and rng.random() < 0.3:
            continue  # not every customer reports usage
        mean = rng.randint(20, 300)
        counts = [max(0, round(mean * rng.uniform(0.8, 1.2))) for _week in weeks]
        if pk in high:
            counts[-2:] = [rng.randint(0, mean // 10), rng.randint(0, mean // 10)]  # stopped using it
        elif pk in medium and rng.random() < 0.6:
            counts[-2:] = [round(mean * rng.uniform(0.25, 0.45)) for _week in range(2)]  # falling
        usage.extend(UsageWeek(customer_id=pk, week_start=w, logins=c) for w, c in zip(weeks, counts, strict=True))
        if pk in high or pk in medium:
            # The payment or complaint story stays the main cause where it costs 20 points: a smaller gap.
            overdue = 1.5 if pk in high and worst.get(pk, 0) >= 20 else 2.2
            gaps[pk] = now - timedelta(days=round(cadence.get(pk, DEFAULT_CADENCE) * (overdue + rng.uniform(0, 0.3))))
        if pk in high or (pk in medium and rng.random() < 0.4):
            cuts.append(pk)
    with transaction.atomic():
        UsageWeek.objects.bulk_create(usage, batch_size=2000, ignore_conflicts=True)
        changed = Customer.objects.filter(pk__in=gaps).only("pk", "last_followup_at")
        for customer in changed:
            customer.last_followup_at = gaps[customer.pk]
        Customer.objects.bulk_update(changed, ["last_followup_at"], batch_size=1000)
        TierInputs.objects.bulk_create(
            [TierInputs(customer_id=pk) for pk in cuts], batch_size=1000, ignore_conflicts=True
        )
        TierInputs.objects.filter(customer_id__in=cuts).update(budget_level=BudgetLevel.CUT)
    # A cut budget lowers the potential: the tiers follow now, not at the next seed's re-tier, so
    # the cadence tasks seeded after this see final strategies and a second seed creates none.
    apply_retier(now=now)
    result = run_scan(now=now)
    return {"usage_weeks": len(usage), "health_scored": result["customers"], "high_risk": result["new_high_risk"]}
