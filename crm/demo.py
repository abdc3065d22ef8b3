"""Demo data shared by `seed_demo` (idempotent)."""

import random
from decimal import Decimal

from django.db import transaction
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


@transaction.atomic
def seed_customers(*, users: dict, total: int, seed: int = 20261123) -> int:
    from accounts.models import Customer

    missing = total - Customer.objects.count()
    if missing <= 0:
        return 0
    fake = Faker("zh_CN")
    fake.seed_instance(seed + Customer.objects.count())
    rng = random.Random(seed)
    owners = [users[u] for u in ("senior", "rep", "rep2", "rep3", "manager")]
    teams = {u.pk: u.profile.team for u in owners}
    rows = []
    for _ in range(missing):
        owner = rng.choice(owners)
        rows.append(
            Customer(
                name=fake.unique.company(),
                owner=owner,
                team=teams[owner.pk],
                budget=Decimal(rng.choice([50, 120, 300, 800, 1500, 5000])) * 1000,
            )
        )
    Customer.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def seed(*, customers: int, if_empty: bool = False) -> dict | None:
    from accounts.models import Customer

    if if_empty and Customer.objects.exists():
        return None
    users = seed_users()
    return {"customers_created": seed_customers(users=users, total=customers)}
