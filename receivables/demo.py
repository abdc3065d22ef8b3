"""Demo receivables, called by crm.demo.seed (idempotent, set-based).

Ratings for customers with contracts, the default policies, contracts from won opportunities
(or directly for won customers) with 1–3 installments, payments — most on time, a realistic
share late or partial — and at least one overdue installment in every aging bucket.
"""

import random
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import Customer, Status

from .models import (
    ZERO,
    Allocation,
    Condition,
    Contract,
    ContractStatus,
    CreditRating,
    Installment,
    Payment,
    Rating,
)
from .services import ensure_default_policies, split_amount

PLANS = [
    ([Decimal(100)], [0], [Condition.PREPAYMENT]),
    ([Decimal(30), Decimal(70)], [0, 60], [Condition.PREPAYMENT, Condition.ACCEPTANCE]),
    (
        [Decimal(30), Decimal(40), Decimal(30)],
        [0, 45, 120],
        [Condition.PREPAYMENT, Condition.DELIVERY, Condition.ACCEPTANCE],
    ),
]
FORCED_OVERDUE_DAYS = [3, 15, 45, 75, 120]  # one per aging bucket past due (and > 90)


@transaction.atomic
def seed_receivables(users: dict, *, total: int = 80, seed: int = 20261125) -> dict:
    if Contract.objects.exists():
        return {}
    ensure_default_policies()
    rng = random.Random(seed)
    today = timezone.localdate()
    finance = users.get("finance") or users.get("admin")
    from leads.models import Opportunity, OppStage

    opportunities = list(
        Opportunity.objects.filter(stage=OppStage.WON)
        .exclude(customer__status=Status.BLACKLISTED)
        .select_related("customer", "owner")
        .order_by("id")[:total]
    )
    sources = [(o.customer, o.owner, o) for o in opportunities]
    if len(sources) < total:
        extra = Customer.objects.exclude(status=Status.BLACKLISTED).filter(owner__isnull=False).select_related("owner")
        sources += [(c, c.owner, None) for c in extra.order_by("id")[: total - len(sources)]]
    contracts, plans = [], []
    for customer, owner, opp in sources:
        amount = opp.amount if opp and opp.amount > 0 else Decimal(rng.randrange(20, 500) * 1000)
        signed = today - timedelta(days=rng.randrange(10, 365))
        contracts.append(
            Contract(
                customer=customer,
                opportunity=opp,
                title=(opp.name if opp else f"{customer.name} 年度服务合同")[:200],
                amount=amount,
                signed_on=signed,
                product_line=(opp.product_line if opp else "crm"),
                owner=owner,
                team_id=getattr(getattr(owner, "profile", None), "team_id", None),
                status=ContractStatus.ACTIVE,
                created_by=finance,
            )
        )
        plans.append(rng.choice(PLANS))
    Contract.objects.bulk_create(contracts, batch_size=500)
    installments, behaviour = [], {}
    for index, (contract, (percents, offsets, conditions)) in enumerate(zip(contracts, plans, strict=True)):
        parts = split_amount(contract.amount, percents)
        for seq, (part, offset, condition) in enumerate(zip(parts, offsets, conditions, strict=True), start=1):
            due = contract.signed_on + timedelta(days=offset)
            if index < len(FORCED_OVERDUE_DAYS) and seq == len(parts):
                due = today - timedelta(days=FORCED_OVERDUE_DAYS[index])
            installments.append(Installment(contract=contract, seq=seq, amount=part, due_on=due, condition=condition))
        roll = rng.random()
        behaviour[contract.pk] = (
            "forced"
            if index < len(FORCED_OVERDUE_DAYS)
            else ("prompt" if roll < 0.7 else "late" if roll < 0.9 else "bad")
        )
    Installment.objects.bulk_create(installments, batch_size=1000)
    payments, paid_rows = [], []
    for inst in installments:
        kind = behaviour[inst.contract.pk]
        if inst.due_on > today:
            continue
        if kind == "forced" and inst.seq == max(i.seq for i in installments if i.contract is inst.contract):
            paid = (inst.amount * Decimal("0.4")).quantize(Decimal("0.01")) if inst.contract.pk % 2 else ZERO
        elif kind == "bad" and inst.seq > 1:
            paid = ZERO
        elif kind == "late" and inst.seq > 1 and rng.random() < 0.5:
            paid = (inst.amount * Decimal(rng.choice(["0.3", "0.5", "0.8"]))).quantize(Decimal("0.01"))
        else:
            paid = inst.amount
        if paid > 0:
            inst.paid_amount = paid
            received = min(today, inst.due_on + timedelta(days=rng.randrange(0, 20 if kind == "late" else 5)))
            payments.append(
                Payment(
                    contract=inst.contract,
                    amount=paid,
                    received_on=received,
                    recorded_by=finance,
                    reference=f"DEMO-{inst.contract.pk}-{inst.seq}",
                )
            )
            paid_rows.append(inst)
    Installment.objects.bulk_update(paid_rows, ["paid_amount"], batch_size=1000)
    Payment.objects.bulk_create(payments, batch_size=1000)
    Allocation.objects.bulk_create(
        [Allocation(payment=p, installment=i, amount=p.amount) for p, i in zip(payments, paid_rows, strict=True)],
        batch_size=1000,
    )
    fully_paid = [c.pk for c in contracts if all(i.paid_amount == i.amount for i in installments if i.contract is c)]
    Contract.objects.filter(pk__in=fully_paid).update(status=ContractStatus.CLOSED)
    ratings = []
    now = timezone.now()
    seen = set()
    for contract in contracts:
        if contract.customer_id in seen:
            continue
        seen.add(contract.customer_id)
        rating = {"prompt": Rating.GOOD, "late": Rating.FAIR}.get(behaviour[contract.pk], Rating.POOR)
        ratings.append(
            CreditRating(
                customer_id=contract.customer_id, rating=rating, note="演示数据：背调结果", set_by=finance, set_at=now
            )
        )
    CreditRating.objects.bulk_create(ratings, ignore_conflicts=True)
    return {"contracts_created": len(contracts), "payments_created": len(payments)}
