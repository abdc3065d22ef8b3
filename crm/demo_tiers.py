"""Demo repeat business for tiering (issue 5): the leads seeder gives most customers one deal,
which tiering rightly calls one-off (C). Here customers that have bought (stage "won") get a
realistic history over two years — renewals of the same product line, sometimes a second line —
and churned ones only older deals, so the first re-tier shows an A/B/C spread. Bulk inserts,
deterministic; every customer handled gets a deal older than a year, so re-running adds nothing.
"""

import random
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone


def _amount(rng) -> Decimal:
    return Decimal(round(rng.lognormvariate(11.9, 0.7), -3))  # median about 150k CNY


@transaction.atomic
def seed_repeat_business(users: dict, seed: int = 20261123) -> dict:
    from accounts.models import Customer, Stage
    from leads.models import Opportunity, OpportunityStageChange, OppStage, ProductLine

    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not security
    now = timezone.now()
    year_ago = now - timedelta(days=365)
    won = Opportunity.objects.filter(stage=OppStage.WON)
    with_history = set(won.filter(closed_at__lt=year_ago).values_list("customer_id", flat=True))
    current = {}
    for customer_id, line in won.filter(closed_at__gte=year_ago).values_list("customer_id", "product_line"):
        current.setdefault(customer_id, set()).add(line or ProductLine.CRM)
    customers = (
        Customer.objects.filter(stage__in=[Stage.WON, Stage.CHURNED], merged_into__isnull=True)
        .exclude(pk__in=with_history)
        .values_list("pk", "stage", "owner_id", "team_id")
    )
    owners = {u.pk: u for u in users.values()}
    fallback = users["rep"]
    lines = list(ProductLine.values)
    rows = []

    def deal(customer_id, owner_id, team_id, line, days_ago):
        closed = now - timedelta(days=days_ago, hours=rng.randint(0, 23))
        rows.append(
            Opportunity(
                customer_id=customer_id,
                owner=owners.get(owner_id, fallback),
                team_id=team_id,
                name=f"{ProductLine(line).label} · {closed:%Y}",
                amount=_amount(rng),
                product_line=line,
                stage=OppStage.WON,
                probability=100,
                closed_at=closed,
                created_by=owners.get(owner_id, fallback),
                created_at=closed - timedelta(days=rng.randint(20, 90)),
            )
        )

    for customer_id, stage, owner_id, team_id in customers.iterator(chunk_size=2000):
        if stage == Stage.CHURNED:  # bought before, nothing in the last year
            deal(customer_id, owner_id, team_id, rng.choice(lines), rng.randint(400, 700))
            continue
        bought = current.get(customer_id) or set()
        if not bought:
            line = rng.choice(lines)
            deal(customer_id, owner_id, team_id, line, rng.randint(10, 330))
            bought = {line}
        if rng.random() < 0.35:  # a second product line this year
            extra = rng.choice(lines)
            deal(customer_id, owner_id, team_id, extra, rng.randint(10, 330))
            bought.add(extra)
        renewed = [line for line in sorted(bought) if rng.random() < 0.7]  # most lines are renewals
        for line in renewed or [rng.choice([x for x in lines if x not in bought] or lines)]:  # or a dropped line
            deal(customer_id, owner_id, team_id, line, rng.randint(380, 700))
    Opportunity.objects.bulk_create(rows, batch_size=1000)
    path = [OppStage.PROSPECT, OppStage.INTENT, OppStage.DEMO, OppStage.NEGOTIATION, OppStage.WON]
    changes = []
    for opp in rows:  # the same stage history as every won deal of the leads seeder
        step = (opp.closed_at - opp.created_at) / (len(path) - 1)
        changes.extend(
            OpportunityStageChange(
                opportunity=opp,
                from_stage=path[i - 1] if i else "",
                to_stage=stage,
                at=opp.created_at + step * i,
                by=opp.owner,
            )
            for i, stage in enumerate(path)
        )
    OpportunityStageChange.objects.bulk_create(changes, batch_size=2000)
    return {"repeat_deals_created": len(rows)}
