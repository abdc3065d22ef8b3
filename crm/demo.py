"""Demo data shared by `seed_demo` (idempotent)."""

import random
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from faker import Faker

from .models import Team
from .roles import Role
from .services import create_user, ensure_roles

DEMO_PASSWORD = "demo1234"  # noqa: S105 - printed and documented demo login, never used in production

TEAM_CENTRE, TEAM_EAST, TEAM_NORTH = "销售中心", "华东销售一部", "华北销售二部"

# username, role, team
DEMO_USERS = [
    ("admin", Role.ADMIN, None),
    ("director", Role.MANAGER, TEAM_CENTRE),
    ("manager", Role.MANAGER, TEAM_EAST),
    ("manager2", Role.MANAGER, TEAM_NORTH),
    ("senior", Role.SENIOR_REP, TEAM_EAST),
    ("rep", Role.SALES_REP, TEAM_EAST),
    ("rep2", Role.SALES_REP, TEAM_EAST),
    ("rep3", Role.SALES_REP, TEAM_NORTH),
    ("finance", Role.FINANCE, None),
]
NAMES = {
    "admin": ("管理员", "系统"),
    "director": ("总监", "周"),
    "manager": ("经理", "王"),
    "manager2": ("经理", "李"),
    "senior": ("高级", "陈"),
    "rep": ("小明", "张"),
    "rep2": ("小红", "刘"),
    "rep3": ("小强", "赵"),
    "finance": ("会计", "孙"),
}


@transaction.atomic
def seed_users() -> dict:
    ensure_roles()
    users = {}
    for username, role, team_name in DEMO_USERS:
        first, last = NAMES[username]
        team = Team.objects.get_or_create(name=team_name)[0] if team_name else None
        users[username] = create_user(
            username=username,
            password=DEMO_PASSWORD,
            role=role,
            team=team,
            first_name=first,
            last_name=last,
            email=f"{username}@example.com",
        )
    centre = Team.objects.get(name=TEAM_CENTRE)
    for manager, team_name in (("director", TEAM_CENTRE), ("manager", TEAM_EAST), ("manager2", TEAM_NORTH)):
        Team.objects.filter(name=team_name, manager__isnull=True).update(manager=users[manager])
    # The director manages the sales centre, and so both regional teams below it.
    Team.objects.filter(name__in=[TEAM_EAST, TEAM_NORTH], parent__isnull=True).update(parent=centre)
    return users


TAG_NAMES = ["重点客户", "战略合作", "价格敏感", "决策周期长", "续约中", "竞品在用", "政府项目", "老客户推荐"]
NEEDS = [
    "现有系统分散，销售数据无法统一管理",
    "希望提升客户跟进效率，减少客户流失",
    "财务回款周期长，需要应收账款管理",
    "扩张新区域，需要标准化销售流程",
    "关注成本，要求按年付费和本地部署",
    "需要与现有 ERP 对接",
]
NEXT_STEPS = ["安排产品演示", "发送报价单", "约见决策人", "提交技术方案", "跟进合同审批", "回访使用情况", ""]
TITLES = {
    "decision_maker": ["总经理", "副总裁", "CIO", "董事长"],
    "user": ["销售经理", "运营主管", "IT 工程师"],
    "influencer": ["技术总监", "财务总监", "顾问"],
    "purchaser": ["采购经理", "采购专员"],
}
CREDIT_PREFIXES = ["91110000", "91310000", "91440300", "91330100", "91320500", "91510100"]


def _credit_code(rng: random.Random, used: set) -> str | None:
    from accounts.validators import CREDIT_CODE_ALPHABET, credit_code_check_char

    for _attempt in range(20):
        first17 = rng.choice(CREDIT_PREFIXES) + "".join(rng.choice(CREDIT_CODE_ALPHABET) for _ in range(9))
        code = first17 + credit_code_check_char(first17)
        if code not in used:
            used.add(code)
            return code
    return None


def _mobile(rng: random.Random) -> str:
    return rng.choice(["138", "139", "150", "186", "187", "135", "177", "199"]) + f"{rng.randrange(10**8):08d}"


def _demo_customer(rng, fake, owner, team, used_codes, now):
    """One unsaved demo customer; `used_codes` holds the credit codes and names already taken."""
    from accounts.models import (
        BusinessModel,
        Customer,
        CustomerType,
        EmployeeBand,
        Industry,
        SourceChannel,
        Stage,
        Status,
    )
    from accounts.regions import CITIES
    from accounts.services.customers import normalize_name

    province = rng.choice(list(CITIES))
    name = fake.company()
    while name in used_codes:  # Faker's zh_CN names run out after a few hundred: prefix a city
        name = f"{rng.choice(CITIES[province])}{fake.company()}"
    used_codes.add(name)
    status = rng.choices([Status.ACTIVE, Status.DORMANT, Status.BLACKLISTED], weights=[85, 12, 3])[0]
    last = now - timedelta(days=rng.randint(1, 120), hours=rng.randint(0, 23)) if rng.random() < 0.9 else None
    return Customer(
        name=name,
        normalized_name=normalize_name(name),
        credit_code=_credit_code(rng, used_codes) if rng.random() < 0.7 else None,
        customer_type=rng.choices(list(CustomerType), weights=[80, 15, 5])[0],
        industry=rng.choice(list(Industry)),
        employee_band=rng.choice(list(EmployeeBand)),
        annual_revenue=Decimal(rng.choice([5, 20, 80, 300, 1200, 5000])) * 10**6 if rng.random() < 0.6 else None,
        province=province,
        city=rng.choice(CITIES[province]),
        founded=now.date().replace(year=now.year - rng.randint(2, 30), month=rng.randint(1, 12), day=1),
        business_model=rng.choice(list(BusinessModel)),
        website=f"https://www.{fake.domain_word()}.com.cn" if rng.random() < 0.6 else "",
        source_channel=rng.choice(list(SourceChannel)),
        needs=rng.choice(NEEDS) if rng.random() < 0.8 else "",
        development_plans=rng.choice(["计划明年在华南开设分公司", "拓展海外业务", "上线新产品线", ""]),
        budget=Decimal(rng.choice([50, 120, 300, 800, 1500, 5000])) * 1000,
        stage=rng.choices(list(Stage), weights=[35, 25, 15, 20, 5])[0],
        status=status,
        owner=owner,
        team=team,
        needs_attention=rng.random() < 0.1,
        last_followup_at=last,
        next_followup_at=now + timedelta(days=rng.randint(1, 30)) if rng.random() < 0.8 else None,
        next_step=rng.choice(NEXT_STEPS),
    )


def _demo_contacts(rng, fake, customer):
    from accounts.models import Contact, ContactRole

    roles = [ContactRole.DECISION_MAKER] if rng.random() < 0.8 else []
    roles += rng.sample([ContactRole.USER, ContactRole.INFLUENCER, ContactRole.PURCHASER], rng.randint(0, 3))
    roles = (roles or [ContactRole.USER])[:4]
    contacts = []
    for index, role in enumerate(roles):
        contacts.append(
            Contact(
                customer=customer,
                name=fake.name(),
                role=role,
                title=rng.choice(TITLES[role]),
                phone=_mobile(rng) if rng.random() < 0.9 else "",
                email=f"{fake.user_name()}{rng.randint(1, 999)}@{fake.domain_name()}" if rng.random() < 0.6 else "",
                wechat=f"wx_{fake.user_name()}" if rng.random() < 0.4 else "",
                preferences=rng.choice(["偏好邮件沟通", "关注成本", "喜欢看数据", "周五下午不方便", ""]),
                is_primary=index == 0,
            )
        )
    return contacts


@transaction.atomic
def seed_customers(*, users: dict, total: int, seed: int = 20261123) -> int:
    """Top the archive up to `total` realistic customers with 1–4 contacts each (bulk inserts)."""
    from accounts.models import Contact, Customer, Tag
    from accounts.services.customers import refresh_completeness

    existing = Customer.objects.count()
    missing = total - existing
    if missing <= 0:
        return 0
    fake = Faker("zh_CN")
    fake.seed_instance(seed + existing)
    rng = random.Random(seed + existing)
    now = timezone.now()
    owners = [users[u] for u in ("senior", "rep", "rep2", "rep3", "manager")]
    teams = {u.pk: u.profile.team for u in owners}
    tags = [Tag.objects.get_or_create(name=name)[0] for name in TAG_NAMES]
    used_codes = set(Customer.objects.exclude(credit_code=None).values_list("credit_code", flat=True))
    taken_names = set(Customer.objects.values_list("normalized_name", flat=True))
    rows = []
    while len(rows) < missing:
        owner = rng.choice(owners)
        customer = _demo_customer(rng, fake, owner, teams[owner.pk], used_codes, now)
        if customer.normalized_name in taken_names:
            continue
        taken_names.add(customer.normalized_name)
        rows.append(customer)
    created = Customer.objects.bulk_create(rows, batch_size=1000)
    contacts, tag_links = [], []
    through = Customer.tags.through
    for customer in created:
        contacts.extend(_demo_contacts(rng, fake, customer))
        tag_links.extend(through(customer_id=customer.pk, tag_id=t.pk) for t in rng.sample(tags, rng.randint(0, 2)))
    Contact.objects.bulk_create(contacts, batch_size=2000)
    through.objects.bulk_create(tag_links, batch_size=2000, ignore_conflicts=True)
    refresh_completeness([c.pk for c in created])
    return len(created)


def seed(*, customers: int, if_empty: bool = False) -> dict | None:
    from accounts.models import Customer

    if if_empty and Customer.objects.exists():
        return None
    users = seed_users()
    result = {"customers_created": seed_customers(users=users, total=customers)}
    from followups.demo import seed_followups  # followups (issue 6): histories, tasks, complaints, NPS

    result.update(seed_followups(users))
    from leads.demo import seed_leads  # leads (issue 4): channels, leads, opportunities

    result.update(seed_leads(users=users, total=customers))
    from receivables.demo import seed_receivables  # receivables (issue 7): contracts, plans, payments

    result.update(seed_receivables(users))
    from .demo_tiers import seed_repeat_business  # tiering (issue 5): two years of repeat business

    result.update(seed_repeat_business(users))
    from accounts.demo_tiers import seed_tiers  # tiering (issue 5): inputs, strategies, a first re-tier

    result.update(seed_tiers())
    from accounts.services.churn_demo import seed_churn  # churn (issue 8): usage, warning stories, first scan

    result.update(seed_churn())
    # Last, so the cadence tasks see the final follow-up dates (the churn stories move some back):
    # a second seed then finds every cadence already served.
    from followups.demo import seed_cadences  # followups (issue 6): tier cadence tasks, once tiers exist

    return {**result, **seed_cadences()}
