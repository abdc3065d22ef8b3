"""Synthetic data at scale for the benchmark (`python manage.py bench_data --customers N`).

PostgreSQL only: rows are streamed with COPY (psycopg 3), never saved one by one through the
ORM. Distributions are skewed like real books of business: a few reps own many customers, a
few customers are large, most are small. Deterministic for a given seed.
"""

import random
import time
from datetime import UTC, datetime, timedelta

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction

from accounts.models import Contact, ContactRole, Customer, CustomerType, EmployeeBand, Industry, SourceChannel, Stage
from accounts.services.customers import normalize_name
from accounts.validators import credit_code_check_char
from crm.models import Team
from crm.roles import Role
from crm.services import create_user, ensure_roles

BENCH_PASSWORD = "bench-Pass-2026"  # noqa: S105 - benchmark logins on a throw-away database
PROVINCES = {
    "上海": ["上海"],
    "北京": ["北京"],
    "广东": ["广州", "深圳", "东莞", "佛山"],
    "浙江": ["杭州", "宁波", "温州"],
    "江苏": ["南京", "苏州", "无锡"],
    "四川": ["成都", "绵阳"],
    "湖北": ["武汉", "宜昌"],
    "山东": ["济南", "青岛", "烟台"],
}
PREFIXES = "华瑞恒信达中泰宏远鑫盛嘉德安腾飞博创新星辰云海天智联金源"
SUFFIXES = ["科技", "信息技术", "制造", "实业", "贸易", "医疗器械", "教育科技", "物流", "能源", "建设"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英"


def _copy(table: str, columns: list[str], rows) -> int:
    count = 0
    with (
        connection.cursor() as cursor,
        cursor.connection.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def _credit_code(rng: random.Random) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = "91" + "".join(rng.choice("0123456789") for _ in range(6)) + "".join(rng.choice(alphabet) for _ in range(9))
    return body + credit_code_check_char(body)


def make_users(reps: int = 200, teams: int = 10) -> dict:
    """Teams of reps with one manager each, plus an admin and finance login."""
    ensure_roles()
    hashed = make_password(BENCH_PASSWORD)
    team_objs = []
    users = {"admin": create_user(username="bench_admin", password_hash=hashed, role=Role.ADMIN)}
    users["finance"] = create_user(username="bench_finance", password_hash=hashed, role=Role.FINANCE)
    for t in range(teams):
        team, _ = Team.objects.get_or_create(name=f"基准团队{t + 1:02d}")
        manager = create_user(username=f"bench_mgr{t + 1:02d}", password_hash=hashed, role=Role.MANAGER, team=team)
        Team.objects.filter(pk=team.pk).update(manager=manager)
        team_objs.append(team)
    rep_list = []
    for r in range(reps):
        role = Role.SENIOR_REP if r % 5 == 0 else Role.SALES_REP
        team = team_objs[r % teams]
        rep_list.append(create_user(username=f"bench_rep{r + 1:03d}", password_hash=hashed, role=role, team=team))
    users["reps"] = rep_list
    users["manager"] = Team.objects.get(pk=team_objs[0].pk).manager
    return users


def make_customers(total: int, users: dict, seed: int = 7, chunk: int = 50_000) -> dict:
    """`total` customers and ~3 contacts each, streamed with COPY in chunks."""
    assert connection.vendor == "postgresql", "bench_data needs PostgreSQL (DATABASE_URL)"
    rng = random.Random(seed)
    reps = users["reps"]
    # Zipf-like ownership: rep k gets weight 1/(k+1)^0.8.
    weights = [1 / (k + 1) ** 0.8 for k in range(len(reps))]
    owners = [(u.pk, u.profile.team_id) for u in reps]
    industries, bands = list(Industry.values), list(EmployeeBand.values)
    band_weights = [40, 30, 18, 9, 3]
    channels, stages = list(SourceChannel.values), list(Stage.values)
    stage_weights = [45, 20, 10, 20, 5]
    provinces = list(PROVINCES)
    now = datetime.now(tz=UTC)
    start_id = (Customer.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    columns = [
        "id", "name", "normalized_name", "credit_code", "customer_type", "industry", "employee_band",
        "annual_revenue", "province", "city", "business_model", "website", "source_channel", "needs",
        "development_plans", "budget", "stage", "status", "owner_id", "team_id", "needs_attention",
        "last_followup_at", "next_followup_at", "next_step", "completeness", "created_at", "updated_at",
    ]  # fmt: skip
    contact_columns = ["customer_id", "name", "role", "title", "phone", "email", "wechat", "preferences",
                       "is_primary", "created_at"]  # fmt: skip
    roles = list(ContactRole.values)
    created = contacts = 0
    started = time.monotonic()
    for base in range(0, total, chunk):
        n = min(chunk, total - base)
        owner_picks = rng.choices(owners, weights=weights, k=n)
        customer_rows, contact_rows = [], []
        for i in range(n):
            cid = start_id + base + i
            brand = rng.choice(PREFIXES) + rng.choice(PREFIXES)
            name = f"{rng.choice(provinces)}{brand}{rng.choice(SUFFIXES)}{cid}有限公司"
            province = rng.choice(provinces)
            owner_id, team_id = owner_picks[i]
            created_at = now - timedelta(days=rng.randint(0, 1500), seconds=rng.randint(0, 86400))
            last = created_at + timedelta(days=rng.randint(0, 200)) if rng.random() < 0.9 else None
            big = rng.random() < 0.03
            customer_rows.append(
                (
                    cid, name, normalize_name(name), _credit_code(rng) if rng.random() < 0.7 else None,
                    CustomerType.END_CUSTOMER, rng.choice(industries), rng.choices(bands, band_weights)[0],
                    round(rng.lognormvariate(16 if big else 14, 1.2), 2), province, rng.choice(PROVINCES[province]),
                    "tob", "", rng.choice(channels), "降本增效，需要统一管理客户与回款", "",
                    round(rng.lognormvariate(13 if big else 11, 1.0), 2), rng.choices(stages, stage_weights)[0],
                    "active" if rng.random() < 0.9 else "dormant", owner_id, team_id, rng.random() < 0.05,
                    min(last, now) if last else None, now + timedelta(days=rng.randint(-20, 40)) if last else None,
                    "电话回访" if last else "", rng.randint(55, 100), created_at, created_at,
                )
            )  # fmt: skip
            for c in range(rng.choice((1, 2, 3, 3, 4, 5))):
                contact_rows.append(
                    (
                        cid, rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN), roles[c % 4] if c else
                        ContactRole.DECISION_MAKER, "经理", f"1{rng.choice('3589')}{rng.randint(0, 999999999):09d}",
                        f"c{cid}_{c}@example.com", "", "", c == 0, created_at,
                    )
                )  # fmt: skip
        with transaction.atomic():
            created += _copy(Customer._meta.db_table, columns, customer_rows)
            contacts += _copy(Contact._meta.db_table, contact_columns, contact_rows)
        print(f"  customers {created:>9,}  contacts {contacts:>10,}  {time.monotonic() - started:6.1f}s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), (SELECT MAX(id) FROM accounts_customer))",
            [Customer._meta.db_table],
        )
        cursor.execute(f"ANALYZE {Customer._meta.db_table}")
        cursor.execute(f"ANALYZE {Contact._meta.db_table}")
    return {"customers": created, "contacts": contacts}
