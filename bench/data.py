"""Synthetic data at scale for the benchmark (`python manage.py bench_data --customers N`).

PostgreSQL only. Every table is generated column-wise with numpy, rendered to CSV by pandas and
streamed with COPY — never saved row by row through the ORM. Customers are built in chunks; each
chunk carries everything that hangs off its customers:

    customers (+ one "created" history row each), ~3 contacts, tiering inputs, ~5 follow-ups,
    tasks (open / overdue / done), opportunities with their stage history, one contract per won
    deal with 1–4 installments summing exactly to its amount, payments with their allocations (a
    realistic share late or unpaid), credit ratings, a few complaints and NPS surveys, and about
    one lead per customer (converted, disqualified, owned, or in the public pool).

Distributions are skewed like real books of business: reps own customers on a Zipf curve, and a
heavy-tailed "size" per customer drives how many contacts, follow-ups, tasks and deals it has (a
few large customers, many small). Deterministic for a given seed.

Columns the generator does not know (added by later migrations) are filled from the model
field's default, so new nullable or defaulted columns never break the build; a new required
column without a default is reported by name.

After loading, `run_jobs()` runs the set-based jobs through their own services (re-tier, daily
receivables reminders, …) so derived tables hold what the application would have computed.
"""

import functools
import io
import json
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from django.contrib.auth.hashers import make_password
from django.db import connection, models, transaction

from accounts.models import (
    BudgetLevel,
    Contact,
    ContactRole,
    Customer,
    CustomerType,
    EmployeeBand,
    Industry,
    SourceChannel,
    Stage,
    Status,
    TierInputs,
)
from accounts.services.customers import normalize_name
from accounts.validators import CREDIT_CODE_ALPHABET, CREDIT_CODE_WEIGHTS
from crm.models import Team
from crm.roles import Role
from crm.services import create_user, ensure_roles
from followups.models import (
    Complaint,
    ComplaintKind,
    ComplaintStatus,
    FollowUp,
    Method,
    NpsResponse,
    NpsSurvey,
    Severity,
    Task,
    TaskOrigin,
    TaskStatus,
)
from leads.models import (
    OPEN_STATUSES,
    Intent,
    Lead,
    LeadStatus,
    Opportunity,
    OpportunityStageChange,
    OppStage,
    PoolReason,
)
from leads.models import ProductLine as Product
from receivables.models import (
    Allocation,
    Contract,
    ContractStatus,
    CreditRating,
    Installment,
    Payment,
    Rating,
)

BENCH_PASSWORD = "bench-Pass-2026"  # noqa: S105 - benchmark logins on a throw-away database
CHUNK = 100_000
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
REGIONS = [(p, c) for p, cities in PROVINCES.items() for c in cities]
OPEN = [str(s) for s in OPEN_STATUSES]
PREFIXES = list("华瑞恒信达中泰宏远鑫盛嘉德安腾飞博创新星辰云海天智联金源")
SUFFIXES = ["科技", "信息技术", "制造", "实业", "贸易", "医疗器械", "教育科技", "物流", "能源", "建设"]
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗")
GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂")
SUMMARIES = [
    "电话沟通采购计划，客户关注价格与交付周期",
    "上门拜访，演示新版本报表功能",
    "微信确认合同条款，等待法务审核",
    "会议讨论二期需求，预算待批",
    "邮件发送报价单与案例资料",
    "回访使用情况，客户反馈响应速度满意",
    "技术答疑：数据导入与权限配置",
    "客户提出续约意向，约定下周详谈",
]
FEEDBACK = ["", "", "价格偏高", "希望加快实施", "满意", "需要内部评估", "对服务响应满意"]
TASK_TITLES = ["电话回访", "发送方案", "安排演示", "季度拜访", "续约沟通", "收集需求"]
LOST_REASONS = ["竞品价格更低", "预算取消", "需求变更", "决策延期"]


def _columns_default(field_: models.Field, now: datetime):
    """Value for a column the generator does not set: the field's default, else NULL or ''."""
    if getattr(field_, "auto_now", False) or getattr(field_, "auto_now_add", False):
        return now.replace(tzinfo=None)
    if field_.has_default():
        value = field_.get_default()
        return json.dumps(value) if isinstance(field_, models.JSONField) else value
    if field_.null:
        return None
    if isinstance(field_, models.CharField | models.TextField):
        return ""
    raise ValueError(f"bench_data does not know how to fill {field_.model.__name__}.{field_.name}")


@functools.cache
def _table_columns(table: str) -> frozenset[str]:
    with connection.cursor() as cursor:
        return frozenset(c.name for c in connection.introspection.get_table_description(cursor, table))


def copy_frame(model: type[models.Model], frame: pd.DataFrame, now: datetime) -> int:
    """COPY a frame into the model's table; columns it lacks get their field defaults (fields
    whose migration has not run yet are left out)."""
    if frame.empty:
        return 0
    frame = frame.copy()
    columns = []
    existing = _table_columns(model._meta.db_table)
    for field_ in model._meta.concrete_fields:
        if field_.column not in existing:
            continue
        if field_.column not in frame:
            if isinstance(field_, models.AutoField):
                continue
            frame[field_.column] = _columns_default(field_, now)
        columns.append(field_.column)
    buffer = io.StringIO()
    frame[columns].to_csv(buffer, header=False, index=False, na_rep="\\N", float_format="%.2f")
    sql = f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
    with connection.cursor() as cursor, cursor.connection.cursor().copy(sql) as copy:
        copy.write(buffer.getvalue())
    return len(frame)


def _next_id(model: type[models.Model]) -> int:
    return (model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1


def _reset_sequences(tables: list[str]) -> None:
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence(%s, 'id'), COALESCE((SELECT MAX(id) FROM {table}), 1))",  # noqa: S608 - table names come from model meta
                [table],
            )


# --- users --------------------------------------------------------------------------------------


def make_users(reps: int = 200, teams: int = 10) -> dict:
    """Teams of reps with one manager each, plus an admin and a finance login (idempotent)."""
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


# --- the generator ------------------------------------------------------------------------------


@dataclass
class Builder:
    """Generates one chunk of customers and everything attached to them, then COPYs it."""

    users: dict
    seed: int = 7
    now: datetime = field(default_factory=lambda: datetime.now(tz=UTC).replace(microsecond=0))
    counts: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)

    MODELS = (
        Customer,
        Contact,
        TierInputs,
        Lead,
        Opportunity,
        OpportunityStageChange,
        Contract,
        Installment,
        Payment,
        Allocation,
        CreditRating,
        FollowUp,
        Task,
        Complaint,
        NpsSurvey,
        NpsResponse,
    )

    def __post_init__(self):
        self.rng = np.random.default_rng(self.seed)
        reps = self.users["reps"]
        self.rep_ids = np.array([u.pk for u in reps])
        self.rep_teams = np.array([u.profile.team_id for u in reps])
        weights = 1 / (np.arange(len(reps)) + 1) ** 0.8  # Zipf-like: rep k owns ∝ 1/(k+1)^0.8
        self.rep_weights = weights / weights.sum()
        self.finance_id = self.users["finance"].pk
        self.next = {model: _next_id(model) for model in self.MODELS if model not in (TierInputs, NpsResponse)}
        from leads.demo import seed_channels

        self.channel_ids = np.array([c.pk for c in seed_channels(random.Random(self.seed))])
        self.t_now = np.datetime64(self.now.replace(tzinfo=None), "s")

    # helpers
    def ids(self, model, n: int) -> np.ndarray:
        start = self.next[model]
        self.next[model] = start + n
        return np.arange(start, start + n, dtype=np.int64)

    def pick(self, values, n: int, p=None) -> np.ndarray:
        values = np.asarray(values, dtype=object)
        p = None if p is None else np.asarray(p, dtype=float) / np.sum(p)
        return values[self.rng.choice(len(values), size=n, p=p)]

    def days_ago(self, lo, hi, n: int) -> np.ndarray:
        """Timestamps between `hi` and `lo` days before now (arrays or scalars), to the second."""
        seconds = self.rng.uniform(lo, hi, size=n) * 86400
        return self.t_now - seconds.astype("timedelta64[s]")

    def copy(self, model, frame: pd.DataFrame) -> None:
        started = time.monotonic()
        name = model._meta.model_name
        self.counts[name] = self.counts.get(name, 0) + copy_frame(model, frame, self.now)
        self.seconds[name] = self.seconds.get(name, 0) + time.monotonic() - started

    def chunk(self, n: int) -> None:
        rng = self.rng
        cid = self.ids(Customer, n)
        # heavy-tailed size: Lomax(1.8) has mean 1.25; scaled to mean ≈ 1, a few customers ≫ 10
        size = (rng.pareto(1.8, n) + 0.25) / 1.5
        owner_index = rng.choice(len(self.rep_ids), size=n, p=self.rep_weights)
        owner = self.rep_ids[owner_index].astype(object)
        team = self.rep_teams[owner_index].astype(object)
        unowned = rng.random(n) < 0.02  # prospects back in the public pool
        owner[unowned], team[unowned] = None, None
        created = self.days_ago(0, 1500, n)
        age_days = (self.t_now - created).astype("timedelta64[s]").astype(np.int64) / 86400
        customers = self._customers(cid, size, owner, team, created)
        contacts = self._contacts(cid, size, created)
        opps, changes = self._opportunities(cid, size, owner, team, created, age_days)
        won_customers = set(opps.loc[opps.stage == OppStage.WON, "customer_id"])
        stage = customers["stage"].to_numpy(dtype=object)
        has_won = np.isin(cid, list(won_customers))
        stage[has_won & (stage != Stage.CHURNED)] = Stage.WON
        stage[~has_won & (stage == Stage.WON)] = Stage.NEGOTIATION
        customers["stage"] = stage
        contracts, installments, payments, allocations = self._receivables(opps)
        followups = self._followups(cid, size, owner, age_days, contacts, stage)
        last = followups.groupby("customer_id").occurred_at.max()
        last_next = followups.sort_values("occurred_at").groupby("customer_id").next_followup_at.last()
        customers["last_followup_at"] = customers["id"].map(last)
        customers["next_followup_at"] = customers["id"].map(last_next)
        customers["next_step"] = np.where(customers["last_followup_at"].notna(), "电话回访", "")
        tasks = self._tasks(cid, size, owner, team, created)
        self.copy(Customer, customers)
        self.copy(Customer.history.model, self._customer_history(customers))
        self.copy(Contact, contacts)
        self.copy(TierInputs, self._tier_inputs(cid, created))
        self.copy(Lead, self._leads(cid, n, created))
        self.copy(Opportunity, opps)
        self.copy(OpportunityStageChange, changes)
        self.copy(Contract, contracts)
        self.copy(Installment, installments)
        self.copy(Payment, payments)
        self.copy(Allocation, allocations)
        self.copy(CreditRating, self._ratings(contracts))
        self.copy(FollowUp, followups)
        self.copy(Task, tasks)
        complaints = self._complaints(cid, owner)
        self.copy(Complaint, complaints)
        surveys, answers = self._nps(cid[has_won], team[has_won])
        self.copy(NpsSurvey, surveys)
        self.copy(NpsResponse, answers)

    # tables
    def _customers(self, cid, size, owner, team, created) -> pd.DataFrame:
        rng, n = self.rng, len(cid)
        region = rng.integers(0, len(REGIONS), n)
        provinces = np.array([r[0] for r in REGIONS], dtype=object)[region]
        cities = np.array([r[1] for r in REGIONS], dtype=object)[region]
        brand = self.pick(PREFIXES, n) + self.pick(PREFIXES, n)
        names = provinces + brand + self.pick(SUFFIXES, n) + cid.astype(str).astype(object) + "有限公司"
        big = size > 3
        frame = pd.DataFrame(
            {
                "id": cid,
                "name": names,
                "normalized_name": [normalize_name(v) for v in names],
                "credit_code": _credit_codes(cid, rng.random(n) < 0.7),
                "customer_type": self.pick(CustomerType.values, n, [90, 7, 3]),
                "industry": self.pick(Industry.values, n),
                "employee_band": np.where(
                    big, self.pick(EmployeeBand.values[2:], n), self.pick(EmployeeBand.values[:3], n, [50, 35, 15])
                ),
                "annual_revenue": np.round(rng.lognormal(14, 1.2, n) * np.maximum(size, 0.3), 2),
                "province": provinces,
                "city": cities,
                "business_model": "tob",
                "source_channel": self.pick(SourceChannel.values, n),
                "needs": "降本增效，需要统一管理客户与回款",
                "budget": np.round(rng.lognormal(11, 1.0, n) * np.maximum(size, 0.3), 2),
                "stage": self.pick(Stage.values, n, [40, 20, 12, 20, 8]),
                "status": self.pick([Status.ACTIVE, Status.DORMANT], n, [92, 8]),
                "owner_id": owner,
                "team_id": team,
                "needs_attention": rng.random(n) < 0.03,
                "completeness": rng.integers(55, 101, n),
                "created_at": created,
                "updated_at": created,
            }
        )  # fmt: skip
        frame["owner_id"] = frame["owner_id"].astype("Int64")
        frame["team_id"] = frame["team_id"].astype("Int64")
        return frame

    def _customer_history(self, customers: pd.DataFrame) -> pd.DataFrame:
        model = Customer.history.model
        own = {f.column for f in model._meta.concrete_fields}
        frame = customers[[c for c in customers.columns if c in own]].copy()
        frame["history_date"] = customers["created_at"]
        frame["history_type"] = "+"
        frame["history_change_reason"] = None
        frame["history_user_id"] = customers["owner_id"]
        return frame

    def _repeat(self, cid, counts):
        """(parent index per child row, ordinal of the child within its parent)."""
        parent = np.repeat(np.arange(len(cid)), counts)
        starts = np.repeat(np.cumsum(counts) - counts, counts)
        return parent, np.arange(len(parent)) - starts

    def _contacts(self, cid, size, created) -> pd.DataFrame:
        rng = self.rng
        counts = np.minimum(1 + rng.poisson(2 * size), 15)
        parent, ordinal = self._repeat(cid, counts)
        m = len(parent)
        ids = self.ids(Contact, m)
        roles = np.array(ContactRole.values, dtype=object)
        return pd.DataFrame(
            {
                "id": ids,
                "customer_id": cid[parent],
                "name": self.pick(SURNAMES, m) + self.pick(GIVEN, m) + self.pick(GIVEN, m),
                "role": roles[ordinal % 4],
                "title": self.pick(["总经理", "采购经理", "IT主管", "财务总监", "运营经理"], m),
                "phone": [
                    f"1{p}{d:09d}"
                    for p, d in zip(self.pick(list("3589"), m), rng.integers(0, 999_999_999, m), strict=True)
                ],
                "email": [f"c{i}@example.com" for i in ids],
                "is_primary": ordinal == 0,
                "created_at": created[parent],
            }
        )  # fmt: skip

    def _tier_inputs(self, cid, created) -> pd.DataFrame:
        rng, n = self.rng, len(cid)
        keep = rng.random(n) < 0.6
        k = int(keep.sum())
        since = created[keep].astype("datetime64[D]") - rng.integers(0, 900, k).astype("timedelta64[D]")
        return pd.DataFrame(
            {
                "customer_id": cid[keep],
                "expanding": rng.random(k) < 0.2,
                "budget_level": self.pick(
                    [BudgetLevel.TOP, BudgetLevel.NORMAL, BudgetLevel.CUT, ""], k, [10, 60, 10, 20]
                ),
                "margin_rate": np.round(rng.uniform(5, 45, k), 2),
                "cooperation_since": np.where(rng.random(k) < 0.5, since.astype(object), None),
                "referrals": rng.poisson(0.3, k),
            }
        )  # fmt: skip

    def _leads(self, cid, n, created) -> pd.DataFrame:
        """About one lead per customer: 30 % converted into it, 10 % disqualified, the rest open
        (a third of those in the public pool)."""
        rng = self.rng
        ids = self.ids(Lead, n)
        status = self.pick(
            [LeadStatus.CONVERTED, LeadStatus.DISQUALIFIED, LeadStatus.NEW, LeadStatus.WORKING, LeadStatus.NURTURING],
            n,
            [30, 10, 25, 25, 10],
        )
        converted = status == LeadStatus.CONVERTED
        pooled = np.isin(status, [LeadStatus.NEW, LeadStatus.NURTURING]) & (rng.random(n) < 0.55)
        owner_index = rng.choice(len(self.rep_ids), size=n, p=self.rep_weights)
        owner = self.rep_ids[owner_index].astype(object)
        team = self.rep_teams[owner_index].astype(object)
        owner[pooled], team[pooled] = None, None
        score = np.clip(rng.normal(45, 20, n), 0, 100).astype(int)
        company = (
            self.pick(PREFIXES, n)
            + self.pick(PREFIXES, n)
            + self.pick(SUFFIXES, n)
            + ids.astype(str).astype(object)
            + "有限公司"
        )
        lead_created = np.where(converted, created - np.timedelta64(20, "D"), self.days_ago(0, 400, n))
        return pd.DataFrame(
            {
                "id": ids,
                "company": company,
                "normalized_company": [normalize_name(v) for v in company],
                "contact_name": self.pick(SURNAMES, n) + self.pick(GIVEN, n),
                "phone": [f"139{d:08d}" for d in rng.integers(0, 99_999_999, n)],
                "email": [f"l{i}@example.com" for i in ids],
                "channel_id": self.pick(self.channel_ids, n),
                "industry": self.pick(Industry.values, n),
                "employee_band": self.pick(EmployeeBand.values, n, [40, 30, 18, 9, 3]),
                "province": self.pick(list(PROVINCES), n),
                "score": score,
                "intent": np.where(score >= 70, Intent.HIGH, np.where(score >= 40, Intent.MEDIUM, Intent.LOW)),
                "owner_id": pd.array(owner, dtype="Int64"),
                "team_id": pd.array(team, dtype="Int64"),
                "status": status,
                "pool_reason": np.where(
                    pooled, self.pick([PoolReason.NEW, PoolReason.NO_FOLLOWUP, PoolReason.NURTURE], n), ""
                ),
                "assigned_at": np.where(pooled, None, lead_created.astype(object)),
                # owned open leads are being worked (the nightly recycling keeps it so)
                "last_activity_at": self.days_ago(0, np.where(pooled | ~np.isin(status, OPEN), 90, 25), n),
                "interaction_count": rng.poisson(2, n),
                "decision_maker_reached": rng.random(n) < 0.3,
                "converted_customer_id": pd.array(np.where(converted, cid, None), dtype="Int64"),
                "converted_at": np.where(converted, created.astype(object), None),
                "created_at": lead_created,
                "updated_at": lead_created,
            }
        )  # fmt: skip

    def _opportunities(self, cid, size, owner, team, created, age_days):
        rng = self.rng
        counts = np.minimum(rng.poisson(1.2 * size), 60)
        counts[pd.isna(owner)] = 0
        parent, _ordinal = self._repeat(cid, counts)
        m = len(parent)
        ids = self.ids(Opportunity, m)
        stages = np.array(OppStage.values, dtype=object)
        stage_index = rng.choice(len(stages), size=m, p=np.array([15, 12, 12, 11, 30, 20]) / 100)
        stage = stages[stage_index]
        opened = self.days_ago(0, np.maximum(age_days[parent], 1), m)
        closed_offset = (rng.uniform(10, 150, m) * 86400).astype("timedelta64[s]")
        closed = np.minimum(opened + closed_offset, self.t_now)
        is_closed = np.isin(stage, [OppStage.WON, OppStage.LOST])
        probability = np.array([10, 25, 50, 75, 100, 0])[stage_index]
        opps = pd.DataFrame(
            {
                "id": ids,
                "customer_id": cid[parent],
                "owner_id": owner[parent].astype(np.int64),
                "team_id": pd.array(team[parent], dtype="Int64"),
                "name": [f"商机{i}" for i in ids],
                "amount": np.round(rng.lognormal(11.5, 0.9, m) * np.sqrt(np.maximum(size[parent], 0.3)), 2),
                "product_line": self.pick(Product.values, m, [35, 20, 20, 15, 10]),
                "stage": stage,
                "probability": probability,
                "expected_close_date": (opened + closed_offset).astype("datetime64[D]"),
                "lost_reason": np.where(stage == OppStage.LOST, self.pick(LOST_REASONS, m), ""),
                "closed_at": np.where(is_closed, closed.astype(object), None),
                "created_at": opened,
                "updated_at": np.where(is_closed, closed, opened),
            }
        )
        # stage history: prospect → … → the current stage (lost deals stop at a random open stage)
        reached = np.where(stage == OppStage.LOST, rng.integers(2, 5, m), stage_index + 1)
        reached = np.minimum(reached, 5)
        step_parent = np.repeat(np.arange(m), reached)
        step = np.arange(len(step_parent)) - np.repeat(np.cumsum(reached) - reached, reached)
        to_stage = stages[step]
        last = step == reached[step_parent] - 1
        to_stage = np.where(last & (stage[step_parent] == OppStage.LOST), OppStage.LOST, to_stage)
        from_stage = np.where(step == 0, "", stages[np.maximum(step - 1, 0)])
        span = (closed - opened)[step_parent]
        at = opened[step_parent] + (span * step / np.maximum(reached[step_parent], 1)).astype("timedelta64[s]")
        changes = pd.DataFrame(
            {
                "id": self.ids(OpportunityStageChange, len(step_parent)),
                "opportunity_id": ids[step_parent],
                "from_stage": from_stage,
                "to_stage": to_stage,
                "at": at,
                "by_id": owner[parent][step_parent].astype(np.int64),
            }
        )
        return opps, changes

    def _receivables(self, opps: pd.DataFrame):
        """One contract per won deal, 1–4 installments that sum exactly to its amount (in cents),
        paid on time mostly; recent misses are likelier than old ones, and a few are never paid."""
        rng = self.rng
        won = opps[opps.stage == OppStage.WON]
        m = len(won)
        contract_ids = self.ids(Contract, m)
        signed = won["closed_at"].to_numpy(dtype="datetime64[s]").astype("datetime64[D]")
        cents = np.round(won["amount"].to_numpy(dtype=float) * 100).astype(np.int64)
        parts = rng.choice([1, 2, 3, 4], size=m, p=[0.2, 0.35, 0.3, 0.15])
        parent = np.repeat(np.arange(m), parts)
        seq = np.arange(len(parent)) - np.repeat(np.cumsum(parts) - parts, parts)
        # first installment 30 % prepayment (when split), the rest equal, the last takes the remainder
        first = np.where(parts > 1, cents * 30 // 100, cents)
        rest = np.where(parts > 1, (cents - first) // np.maximum(parts - 1, 1), 0)
        amount = np.where(seq == 0, first[parent], rest[parent])
        is_last = seq == parts[parent] - 1
        remainder = cents[parent] - first[parent] - rest[parent] * (parts[parent] - 1)
        amount = np.where(is_last & (seq > 0), amount + remainder, amount)
        due = signed[parent] + (seq * 45).astype("timedelta64[D]")
        today = self.t_now.astype("datetime64[D]")
        overdue_days = (today - due).astype(np.int64)
        miss = np.select([overdue_days <= 0, overdue_days <= 30, overdue_days <= 90], [0.0, 0.15, 0.08], 0.015)
        unpaid = rng.random(len(parent)) < miss
        partly = unpaid & (rng.random(len(parent)) < 0.3)
        paid = np.where(overdue_days < -5, 0, np.where(unpaid, np.where(partly, amount // 2, 0), amount))
        paid = np.where((overdue_days <= 0) & (overdue_days >= -5) & (rng.random(len(parent)) < 0.5), amount, paid)
        installment_ids = self.ids(Installment, len(parent))
        open_contract = np.zeros(m, dtype=bool)
        np.logical_or.at(open_contract, parent, paid < amount)
        contracts = pd.DataFrame(
            {
                "id": contract_ids,
                "customer_id": won["customer_id"].to_numpy(),
                "opportunity_id": won["id"].to_numpy(),
                "title": [f"合同{i}" for i in contract_ids],
                "amount": cents / 100,
                "signed_on": signed,
                "product_line": won["product_line"].to_numpy(),
                "owner_id": won["owner_id"].to_numpy(),
                "team_id": won["team_id"].array,
                "status": np.where(open_contract, ContractStatus.ACTIVE, ContractStatus.CLOSED),
                "created_at": won["closed_at"].to_numpy(),
            }
        )
        installments = pd.DataFrame(
            {
                "id": installment_ids,
                "contract_id": contract_ids[parent],
                "seq": seq + 1,
                "amount": amount / 100,
                "due_on": due,
                "condition": np.where(seq == 0, "prepayment", "date"),
                "paid_amount": paid / 100,
            }
        )
        with_money = paid > 0
        k = int(with_money.sum())
        payment_ids = self.ids(Payment, k)
        late = np.where(rng.random(k) < 0.2, rng.integers(1, 25, k), -rng.integers(0, 5, k))
        received = np.minimum(due[with_money] + late.astype("timedelta64[D]"), today)
        payments = pd.DataFrame(
            {
                "id": payment_ids,
                "contract_id": contract_ids[parent][with_money],
                "amount": paid[with_money] / 100,
                "received_on": received,
                "reference": [f"BANK{i}" for i in payment_ids],
                "recorded_by_id": self.finance_id,
                "created_at": received.astype("datetime64[s]"),
            }
        )
        allocations = pd.DataFrame(
            {
                "payment_id": payment_ids,
                "installment_id": installment_ids[with_money],
                "amount": paid[with_money] / 100,
            }
        )
        return contracts, installments, payments, allocations

    def _ratings(self, contracts: pd.DataFrame) -> pd.DataFrame:
        customers = contracts["customer_id"].drop_duplicates().to_numpy()
        keep = customers[self.rng.random(len(customers)) < 0.6]
        k = len(keep)
        return pd.DataFrame(
            {
                "id": self.ids(CreditRating, k),
                "customer_id": keep,
                "rating": self.pick(Rating.values, k, [55, 35, 10]),
                "note": "工商信息与付款记录核查",
                "set_by_id": self.finance_id,
                "set_at": self.days_ago(0, 700, k),
            }
        )

    def _followups(self, cid, size, owner, age_days, contacts, stage) -> pd.DataFrame:
        rng = self.rng
        counts = np.minimum(1 + rng.poisson(4 * size), 400)
        counts[pd.isna(owner)] = 0
        parent, ordinal = self._repeat(cid, counts)
        m = len(parent)
        # spread over the customer's life, skewed to the recent past; for 85 % of the customers
        # the latest contact is within the last 4 months (the rest are going quiet)
        span = np.maximum(age_days[parent], 0.5)
        latest = (ordinal == 0) & (rng.random(len(cid)) < 0.85)[parent]
        span = np.where(latest, np.minimum(span, 120), span)
        # that latest contact is the one that moved the customer into its current stage (intent)
        moved = latest & np.isin(stage[parent], [Stage.INTENT, Stage.NEGOTIATION, Stage.WON])
        previous = {Stage.INTENT: Stage.PROSPECT, Stage.NEGOTIATION: Stage.INTENT, Stage.WON: Stage.NEGOTIATION}
        occurred = self.t_now - (rng.random(m) ** 1.8 * span * 86400).astype("timedelta64[s]")
        late = rng.random(m) < 0.1
        delay_hours = np.where(late, rng.uniform(25, 96, m), rng.uniform(0.2, 20, m))
        logged = np.minimum(occurred + (delay_hours * 3600).astype("timedelta64[s]"), self.t_now)
        primary = contacts.loc[contacts.is_primary].set_index("customer_id")["id"]
        has_next = rng.random(m) < 0.7
        next_at = occurred + (rng.uniform(3, 45, m) * 86400).astype("timedelta64[s]")
        return pd.DataFrame(
            {
                "id": self.ids(FollowUp, m),
                "customer_id": cid[parent],
                "contact_id": pd.array(pd.Series(cid[parent]).map(primary).to_numpy(), dtype="Int64"),
                "author_id": owner[parent].astype(np.int64),
                "method": self.pick(Method.values, m, [15, 45, 15, 20, 5]),
                "occurred_at": occurred,
                "logged_at": logged,
                "is_late": late,
                "summary": self.pick(SUMMARIES, m),
                "feedback": self.pick(FEEDBACK, m),
                "next_followup_at": np.where(has_next, next_at.astype(object), None),
                "next_step": np.where(has_next, "电话回访", ""),
                "stage_from": np.where(moved, [previous.get(v, "") for v in stage[parent]], ""),
                "stage_to": np.where(moved, stage[parent], ""),
            }
        )

    def _tasks(self, cid, size, owner, team, created) -> pd.DataFrame:
        """~3 tasks per customer: 60 % done, 35 % open (about a third of those overdue), 5 % cancelled."""
        rng = self.rng
        counts = np.minimum(rng.poisson(3 * size), 200)
        counts[pd.isna(owner)] = 0
        parent, _ordinal = self._repeat(cid, counts)
        m = len(parent)
        status = self.pick([TaskStatus.DONE, TaskStatus.OPEN, TaskStatus.CANCELLED], m, [60, 35, 5])
        is_open = status == TaskStatus.OPEN
        due = np.where(
            is_open,
            self.t_now + (rng.uniform(-20, 40, m) * 86400).astype("timedelta64[s]"),
            self.days_ago(1, 600, m),
        )
        done = status == TaskStatus.DONE
        return pd.DataFrame(
            {
                "id": self.ids(Task, m),
                "title": self.pick(TASK_TITLES, m),
                "customer_id": cid[parent],
                "assignee_id": owner[parent].astype(np.int64),
                "team_id": pd.array(team[parent], dtype="Int64"),
                "due_at": due,
                "status": status,
                # No cadence tasks: they are derived data of the cadence job (followups.cadences),
                # which would supersede generated ones (they carry no cadence key) row by row.
                "origin": self.pick([TaskOrigin.SOP, TaskOrigin.MANUAL, TaskOrigin.COLLECTION], m, [50, 45, 5]),
                "completed_at": np.where(done, due.astype(object), None),
                "created_at": due - np.timedelta64(3, "D"),
            }
        )  # fmt: skip

    def _complaints(self, cid, owner) -> pd.DataFrame:
        rng = self.rng
        pick = (rng.random(len(cid)) < 0.02) & ~pd.isna(owner)
        k = int(pick.sum())
        opened = self.days_ago(0, 400, k)
        status = self.pick(ComplaintStatus.values, k, [10, 10, 80])
        responded = opened + (rng.uniform(1, 30, k) * 3600).astype("timedelta64[s]")
        resolved = responded + (rng.uniform(2, 60, k) * 3600).astype("timedelta64[s]")
        return pd.DataFrame(
            {
                "id": self.ids(Complaint, k),
                "customer_id": cid[pick],
                "kind": self.pick(ComplaintKind.values, k, [85, 15]),
                "severity": self.pick(Severity.values, k, [30, 45, 20, 5]),
                "description": "实施进度慢，响应不及时",
                "status": status,
                "opened_at": opened,
                "opened_by_id": owner[pick].astype(np.int64),
                "response_due_at": opened + np.timedelta64(24, "h"),
                "resolution_due_at": opened + np.timedelta64(48, "h"),
                "responded_at": np.where(status != ComplaintStatus.OPEN, responded.astype(object), None),
                "resolved_at": np.where(status == ComplaintStatus.RESOLVED, resolved.astype(object), None),
            }
        )

    def _nps(self, won_cid, won_team):
        rng = self.rng
        pick = rng.random(len(won_cid)) < 0.3
        k = int(pick.sum())
        ids = self.ids(NpsSurvey, k)
        sent = self.days_ago(100, 180, k)
        surveys = pd.DataFrame(
            {
                "id": ids,
                "token": [f"bench-{i:012d}" for i in ids],
                "customer_id": won_cid[pick],
                "team_id": pd.array(won_team[pick], dtype="Int64"),
                "period": "bench",
                "sent_at": sent,
                "expires_at": sent + np.timedelta64(30, "D"),
            }
        )
        answered = rng.random(k) < 0.6
        a = int(answered.sum())
        answers = pd.DataFrame(
            {
                "survey_id": ids[answered],
                "score": rng.choice(11, size=a, p=np.array([1, 1, 1, 2, 2, 4, 6, 10, 18, 25, 30]) / 100),
                "answered_at": sent[answered] + np.timedelta64(2, "D"),
            }
        )
        return surveys, answers


def _credit_codes(cid: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Valid, unique unified social credit codes derived from the customer id (or NULL)."""
    alphabet = np.array(list(CREDIT_CODE_ALPHABET))
    n = len(cid)
    digits = np.zeros((n, 17), dtype=np.int64)
    digits[:, 0], digits[:, 1] = 9, 1  # "91": an enterprise
    digits[:, 2:8] = np.array([3, 1, 0, 0, 0, 0])  # Shanghai region code
    value = cid.copy()
    for position in range(16, 7, -1):  # the id in base 31 over the 9-character body
        digits[:, position] = value % 31
        value //= 31
    weights = np.array(CREDIT_CODE_WEIGHTS[:17])
    check = (31 - (digits * weights).sum(axis=1) % 31) % 31
    chars = np.concatenate([alphabet[digits], alphabet[check][:, None]], axis=1)
    codes = np.array(["".join(row) for row in chars], dtype=object)
    codes[~present] = None
    return codes


TRUNCATE = [model._meta.db_table for model in Builder.MODELS] + [
    Customer.history.model._meta.db_table,
    "accounts_customer_tags",
]


def reset() -> None:
    """Empty every table the generator fills (and, through CASCADE, whatever hangs off them)."""
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(TRUNCATE)} CASCADE")


def _secondary_indexes(tables: list[str]) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the plain indexes of these tables: not primary keys, not
    unique, not backing a constraint — the ones that only make loading slower."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT ci.relname, pg_get_indexdef(i.indexrelid)
            FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class ci ON ci.oid = i.indexrelid
            WHERE c.relname = ANY(%s) AND NOT i.indisprimary AND NOT i.indisunique
              AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
            """,
            [tables],
        )
        return cursor.fetchall()


def _create_indexes(definitions: list[str], workers: int = 2) -> None:
    """CREATE INDEX statements on two connections at once: each build is one CPU-bound backend,
    and this machine has two cores. The biggest tables' indexes go first."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    pending = sorted(definitions, key=_table_bytes, reverse=True)

    def worker() -> None:
        try:
            with connection.cursor() as cursor:  # this thread's own connection
                cursor.execute("SET maintenance_work_mem = '1GB'")
                while True:
                    try:
                        statement = pending.pop(0)  # atomic: the two threads never take the same one
                    except IndexError:
                        return
                    cursor.execute(statement)
        finally:
            connections.close_all()  # this thread's

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(worker) for _ in range(workers)]:
            future.result()


def _table_bytes(definition: str) -> int:
    table = definition.split(" ON ", 1)[1].split()[0]  # "CREATE INDEX name ON public.table USING …"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_relation_size(%s::regclass)", [table])
        return cursor.fetchone()[0]


def build(total: int, users: dict, *, seed: int = 7, chunk: int = CHUNK, log=print) -> dict:
    """`total` customers with everything attached, in chunks; returns row counts per table.

    Plain indexes are dropped for the load and rebuilt once at the end (one sort each instead
    of millions of random inserts); unique indexes stay so the data is checked as it goes in."""
    assert connection.vendor == "postgresql", "bench_data needs PostgreSQL (DATABASE_URL)"
    builder = Builder(users=users, seed=seed)
    started = time.monotonic()
    indexes = _secondary_indexes(TRUNCATE)
    with connection.cursor() as cursor:
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
    try:
        for base in range(0, total, chunk):
            with transaction.atomic(), connection.cursor() as cursor:
                # The generator keeps every reference valid itself: skip the per-row foreign-key
                # triggers in this transaction (PostgreSQL superuser; the benchmark's own database).
                cursor.execute("SET LOCAL session_replication_role = replica")
                cursor.execute("SET LOCAL synchronous_commit = off")
                builder.chunk(min(chunk, total - base))
            rows = sum(builder.counts.values())
            log(f"  customers {builder.counts['customer']:>9,}  rows {rows:>11,}  {time.monotonic() - started:6.1f}s")
    finally:
        _create_indexes([definition for _name, definition in indexes])
        log(f"  {len(indexes)} indexes rebuilt  {time.monotonic() - started:6.1f}s")
    _reset_sequences([m._meta.db_table for m in Builder.MODELS if m not in (TierInputs, NpsResponse)])
    with connection.cursor() as cursor:
        for table in TRUNCATE:
            cursor.execute(f"ANALYZE {table}")
    return builder.counts
