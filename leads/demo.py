"""Demo data of the lead pool and pipeline, called by crm.demo.seed (idempotent, set-based).

Channels with 18 months of costs, leads across channels (owned, in the pool, in nurture,
converted), and opportunities across every stage with stage histories spread over the last
18 months, so funnel conversion and sales-cycle length have something to show.
"""

import random
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from faker import Faker

from accounts.models import Customer, EmployeeBand, Industry, Status
from accounts.services.customers import normalize_name

from .models import (
    DEFAULT_PROBABILITY,
    Channel,
    ChannelCost,
    Intent,
    Lead,
    LeadStatus,
    Opportunity,
    OpportunityStageChange,
    OppStage,
    PoolReason,
    ProductLine,
    ScoringPolicy,
)
from .services import compute_score

# code, name, quality, monthly cost range (CNY)
CHANNELS = [
    ("website", "官网表单", 60, (8_000, 15_000)),
    ("exhibition", "行业展会", 55, (30_000, 80_000)),
    ("referral", "客户推荐", 85, (5_000, 12_000)),
    ("search", "搜索推广", 45, (20_000, 40_000)),
    ("partner", "合作伙伴", 65, (6_000, 15_000)),
    ("social", "社交媒体", 35, (10_000, 20_000)),
    ("cold_call", "电话外呼", 25, (15_000, 25_000)),
]
MONTHS = 18
# stage a demo opportunity ends in, with its weight
FINAL_STAGES = [
    (OppStage.PROSPECT, 14),
    (OppStage.INTENT, 14),
    (OppStage.DEMO, 12),
    (OppStage.NEGOTIATION, 10),
    (OppStage.WON, 28),
    (OppStage.LOST, 22),
]
PATH = [OppStage.PROSPECT, OppStage.INTENT, OppStage.DEMO, OppStage.NEGOTIATION]
LOST_REASONS = ["价格超出预算", "选择了竞争对手", "项目暂停", "需求不匹配", "决策人变动"]


def _month_starts(today: date) -> list[date]:
    first = today.replace(day=1)
    months = []
    for _ in range(MONTHS):
        months.append(first)
        first = (first - timedelta(days=1)).replace(day=1)
    return months


def _unique_company(fake, used: set) -> str:
    """Faker's zh_CN company names repeat after a few hundred: prefix a city until it is new."""
    name = fake.company()
    while name in used:
        name = f"{fake.city_name()}{fake.company()}"
    used.add(name)
    return name


def seed_channels(rng: random.Random) -> list[Channel]:
    channels = []
    for code, name, quality, _cost in CHANNELS:
        channel, _created = Channel.objects.get_or_create(code=code, defaults={"name": name, "quality": quality})
        channels.append(channel)
    months = _month_starts(timezone.localdate())
    costs = [
        ChannelCost(channel=channel, month=month, amount=Decimal(rng.randint(*spec[3]) // 100 * 100))
        for channel, spec in zip(channels, CHANNELS, strict=True)
        for month in months
    ]
    ChannelCost.objects.bulk_create(costs, ignore_conflicts=True)
    return channels


@transaction.atomic
def seed_leads(users: dict, total: int, seed: int = 20261124) -> dict:
    """Top the demo up to `total` leads (and about a third as many opportunities)."""
    rng = random.Random(seed)
    channels = seed_channels(rng)
    missing = total - Lead.objects.count()
    if missing <= 0:
        return {"leads_created": 0, "opportunities_created": 0}
    fake = Faker("zh_CN")
    fake.seed_instance(seed + Lead.objects.count())
    policy = ScoringPolicy.current()
    now = timezone.now()
    reps = [users[u] for u in ("senior", "rep", "rep2", "rep3") if u in users]
    teams = {u.pk: u.profile.team_id for u in reps}
    bands = list(EmployeeBand.values)
    industries = list(Industry.values)
    leads = []
    used = set(Lead.objects.values_list("company", flat=True))
    for _ in range(missing):
        channel = rng.choice(channels)
        created = now - timedelta(days=rng.randint(0, MONTHS * 30), hours=rng.randint(0, 23))
        interactions = rng.choice([0, 0, 1, 1, 2, 3, 4, 6])
        dm = rng.random() < 0.35
        band = rng.choice(bands)
        score, grade, breakdown = compute_score(
            policy,
            interaction_count=interactions,
            employee_band=band,
            decision_maker_reached=dm,
            channel_quality=channel.quality,
        )
        roll = rng.random()
        owner = rng.choice(reps) if roll < 0.55 else None
        if owner is None:
            status = LeadStatus.NURTURING if grade != Intent.HIGH else LeadStatus.NEW
            reason = PoolReason.NURTURE if status == LeadStatus.NURTURING else PoolReason.NO_FOLLOWUP
        else:
            status = rng.choice([LeadStatus.NEW, LeadStatus.WORKING, LeadStatus.WORKING, LeadStatus.DISQUALIFIED])
            reason = ""
        company = _unique_company(fake, used)
        last_activity = created + timedelta(days=rng.randint(0, 20)) if interactions else None
        if owner is not None and status in (LeadStatus.NEW, LeadStatus.WORKING):
            last_activity = now - timedelta(days=rng.randint(0, 25))  # owned open leads are being worked
        leads.append(
            Lead(
                company=company,
                normalized_company=normalize_name(company),
                contact_name=fake.name(),
                title=rng.choice(["总经理", "销售总监", "IT 经理", "采购经理", "运营总监"]),
                phone=fake.phone_number(),
                email=fake.company_email(),
                channel=channel,
                industry=rng.choice(industries),
                employee_band=band,
                province=fake.province(),
                city=fake.city_name(),
                needs=rng.choice(["销售过程管理", "客户数据统一", "回款跟踪", "线索分配自动化", "移动办公"]),
                score=score,
                intent=grade,
                score_breakdown=breakdown,
                owner=owner,
                team_id=teams[owner.pk] if owner else None,
                status=status,
                pool_reason=reason,
                assigned_at=created if owner else None,
                last_activity_at=last_activity,
                interaction_count=interactions,
                decision_maker_reached=dm,
                created_at=created,
            )
        )
    Lead.objects.bulk_create(leads, batch_size=1000)
    opportunities = _seed_opportunities(rng, reps, teams, channels, count=missing // 3, now=now)
    return {"leads_created": len(leads), "opportunities_created": opportunities}


def _seed_opportunities(rng, reps, teams, channels, *, count: int, now) -> int:
    customers = list(
        Customer.objects.exclude(status=Status.BLACKLISTED)
        .filter(owner__isnull=False, merged_into__isnull=True)
        .values_list("pk", "owner_id", "name")[:2000]
    )
    if not customers or not reps:
        return 0
    owner_ids = {u.pk for u in reps}
    by_pk = {u.pk: u for u in reps}
    stages, weights = zip(*FINAL_STAGES, strict=True)
    opportunities, paths = [], []
    for _ in range(count):
        customer_id, owner_id, _name = rng.choice(customers)
        owner = by_pk.get(owner_id) if owner_id in owner_ids else rng.choice(reps)
        final = rng.choices(stages, weights)[0]
        start = now - timedelta(days=rng.randint(5, MONTHS * 30))
        steps = PATH[: PATH.index(final) + 1] if final in PATH else [*PATH[: rng.randint(1, 4)], final]
        if final == OppStage.WON:
            steps = [*PATH, OppStage.WON]
        times, moment = [], start
        for _step in steps:
            times.append(moment)
            moment = min(moment + timedelta(days=rng.randint(3, 40), hours=rng.randint(0, 8)), now)
        closed = times[-1] if final in (OppStage.WON, OppStage.LOST) else None
        opportunities.append(
            Opportunity(
                customer_id=customer_id,
                owner=owner,
                team_id=teams[owner.pk],
                name=f"{rng.choice(ProductLine.labels)} · {rng.choice(['一期', '二期', '扩容', '续约', '新购'])}",
                amount=Decimal(rng.choice([30, 60, 120, 250, 480, 900])) * 1000,
                product_line=rng.choice(ProductLine.values),
                stage=final,
                probability=DEFAULT_PROBABILITY[final],
                expected_close_date=(start + timedelta(days=rng.randint(30, 150))).date(),
                lost_reason=rng.choice(LOST_REASONS) if final == OppStage.LOST else "",
                closed_at=closed,
                created_by=owner,
                created_at=start,
            )
        )
        paths.append(list(zip(steps, times, strict=True)))
    Opportunity.objects.bulk_create(opportunities, batch_size=1000)
    changes = []
    for opportunity, path in zip(opportunities, paths, strict=True):
        previous = ""
        for stage, at in path:
            changes.append(
                OpportunityStageChange(
                    opportunity=opportunity, from_stage=previous, to_stage=stage, at=at, by=opportunity.owner
                )
            )
            previous = stage
    OpportunityStageChange.objects.bulk_create(changes, batch_size=2000)
    # About 40% of opportunities came from a converted lead (for channel ROI / CAC).
    names = {pk: name for pk, _owner, name in customers}
    converted = [o for o in opportunities if rng.random() < 0.4]
    leads = [
        Lead(
            company=names[o.customer_id],
            normalized_company=normalize_name(names[o.customer_id]),
            channel=rng.choice(channels),
            owner=o.owner,
            team_id=o.team_id,
            status=LeadStatus.CONVERTED,
            intent=Intent.HIGH,
            score=rng.randint(60, 95),
            converted_customer_id=o.customer_id,
            converted_opportunity=o,
            converted_at=o.created_at,
            assigned_at=o.created_at - timedelta(days=rng.randint(3, 30)),
            created_at=o.created_at - timedelta(days=rng.randint(5, 45)),
        )
        for o in converted
    ]
    Lead.objects.bulk_create(leads, batch_size=1000)
    for lead in leads:
        lead.converted_opportunity.lead_id = lead.pk
    Opportunity.objects.bulk_update([lead.converted_opportunity for lead in leads], ["lead"], batch_size=1000)
    return len(opportunities)
