"""Demo data of tiering (issue 5): the inputs the archive lacks, the default strategies, one re-tier.

Called by crm.demo.seed after the revenue (won opportunities, contracts) exists, so the re-tier
gives a realistic A/B/C spread. Idempotent: customers that already have inputs keep them.
"""

import random
from datetime import timedelta

from django.utils import timezone


def seed_tiers(seed: int = 20261123) -> dict:
    from accounts.models import BudgetLevel, Customer, Stage, TierInputs
    from accounts.services import tiering

    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not security
    today = timezone.localdate()
    missing = Customer.objects.filter(merged_into__isnull=True, tier_inputs__isnull=True).values_list("pk", "stage")
    rows = []
    for pk, stage in missing.iterator(chunk_size=5000):
        # customers that bought: most have a recorded start (else the first deal's date is used)
        known = stage in (Stage.WON, Stage.CHURNED) and rng.random() < 0.7
        rows.append(
            TierInputs(
                customer_id=pk,
                expanding=rng.random() < 0.25,
                budget_level=rng.choices(["", BudgetLevel.TOP, BudgetLevel.NORMAL, BudgetLevel.CUT], [3, 2, 4, 1])[0],
                margin_rate=round(rng.triangular(5, 45, 22), 2) if rng.random() < 0.85 else None,
                cooperation_since=today - timedelta(days=rng.randint(60, 8 * 365)) if known else None,
                referrals=rng.choices([0, 1, 2, 3], [6, 2, 1, 1])[0],
            )
        )
    TierInputs.objects.bulk_create(rows, batch_size=2000)
    tiering.ensure_default_strategies()
    plan = tiering.apply_retier()
    return {"tier_inputs_created": len(rows), "tiers": dict(sorted(plan.moves.items()))}
