"""Demo follow-up data for `seed_demo`: histories, open and overdue tasks, complaints, NPS answers.

Idempotent: runs once (when no follow-up exists yet); bulk inserts, no email is sent.
"""

import random
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

SUMMARIES = [
    "电话沟通采购计划，客户预计下月立项",
    "上门拜访，演示了销售管理模块",
    "微信发送案例资料，客户表示会内部讨论",
    "与技术负责人确认对接 ERP 的接口方案",
    "客户反馈报价偏高，需要申请折扣",
    "回访使用情况，客户对报表功能满意",
]
FEEDBACK = ["关注价格", "希望尽快上线", "需要老板拍板", "对服务满意", "", ""]
TASK_TITLES = ["回访报价反馈", "发送合同草稿", "约见决策人", "确认演示时间", "催收首付款资料"]
COMPLAINTS = [
    ("complaint", "high", "实施进度延期两周，客户不满"),
    ("termination", "critical", "客户表示考虑终止合作，转用竞品"),
    ("complaint", "medium", "发票抬头错误，需要重开"),
]


@transaction.atomic
def seed_followups(users: dict, *, seed: int = 20261123) -> dict:
    from accounts.models import Customer, Stage, Status

    from .models import (
        Complaint,
        FollowUp,
        FollowupPolicy,
        Method,
        NpsResponse,
        NpsSurvey,
        Task,
        TaskOrigin,
    )
    from .services import ensure_default_sops, open_complaint, period_of

    if FollowUp.objects.exists():
        return {}
    ensure_default_sops()
    rng = random.Random(seed)
    now = timezone.now()
    policy = FollowupPolicy.current()
    reps = [users[name] for name in ("senior", "rep", "rep2", "rep3") if name in users]
    customers = list(
        Customer.objects.filter(owner__in=reps, status=Status.ACTIVE, merged_into__isnull=True)
        .select_related("owner", "team")
        .order_by("id")[:120]
    )
    followups, tasks = [], []
    for customer in customers:
        for _ in range(rng.randint(1, 4)):
            occurred = now - timedelta(days=rng.randint(0, 60), hours=rng.randint(0, 10))
            delay = timedelta(hours=rng.choice([1, 2, 5, 20, 30, 50]))
            logged = min(occurred + delay, now)
            followups.append(
                FollowUp(
                    customer=customer,
                    author=customer.owner,
                    method=rng.choice(list(Method)),
                    occurred_at=occurred,
                    logged_at=logged,
                    is_late=logged - occurred > timedelta(hours=policy.late_after_hours),
                    summary=rng.choice(SUMMARIES),
                    feedback=rng.choice(FEEDBACK),
                    next_followup_at=occurred + timedelta(days=rng.randint(3, 14)),
                )
            )
        if rng.random() < 0.5:
            tasks.append(
                Task(
                    customer=customer,
                    assignee=customer.owner,
                    team=customer.team,
                    title=rng.choice(TASK_TITLES),
                    due_at=now + timedelta(hours=rng.randint(-72, 7 * 24)),
                    origin=TaskOrigin.MANUAL,
                    created_by=customer.owner,
                )
            )
    FollowUp.objects.bulk_create(followups, batch_size=1000)
    Task.objects.bulk_create(tasks, batch_size=1000)
    # Every rep has something overdue and something due today on "My day".
    for rep in reps:
        own = [c for c in customers if c.owner_id == rep.pk][:2]
        for customer, due in zip(own, (now - timedelta(hours=5), now + timedelta(hours=3)), strict=False):
            Task.objects.create(
                customer=customer,
                assignee=rep,
                team=customer.team,
                title="回访报价反馈" if due < now else "确认演示时间",
                due_at=due,
                origin=TaskOrigin.MANUAL,
            )
    complaints = 0
    for (kind, severity, text), customer in zip(COMPLAINTS, customers[3:], strict=False):
        open_complaint(customer=customer, by=customer.owner, kind=kind, severity=severity, description=text)
        complaints += 1
    # One case already past its response SLA, so the next SLA check escalates it.
    first = Complaint.objects.order_by("id").first()
    if first is not None:
        Complaint.objects.filter(pk=first.pk).update(
            opened_at=now - timedelta(hours=30),
            response_due_at=now - timedelta(hours=6),
            resolution_due_at=now + timedelta(hours=18),
        )
    # Last quarter's NPS answers for won customers.
    last_quarter = now - timedelta(days=92)
    won = [c for c in customers if c.stage == Stage.WON][:40]
    surveys = [
        NpsSurvey(
            token=secrets.token_urlsafe(24),
            customer=c,
            team=c.team,
            period=period_of(last_quarter),
            sent_at=last_quarter,
            expires_at=last_quarter + timedelta(days=policy.nps_valid_days),
        )
        for c in won
    ]
    NpsSurvey.objects.bulk_create(surveys, ignore_conflicts=True)
    answers = [
        NpsResponse(
            survey=s,
            score=rng.choices(range(11), weights=[1, 1, 1, 1, 2, 2, 3, 6, 8, 10, 9])[0],
            comment=rng.choice(["服务响应快", "价格偏高", "功能满足需求", ""]),
            answered_at=s.sent_at + timedelta(days=rng.randint(1, 10)),
        )
        for s in NpsSurvey.objects.filter(period=period_of(last_quarter))
        if rng.random() < 0.8
    ]
    NpsResponse.objects.bulk_create(answers)
    return {
        "followups": len(followups),
        "tasks": Task.objects.count(),
        "complaints": complaints,
        "nps_answers": len(answers),
    }


def seed_cadences() -> dict:
    """Tier cadence tasks for the demo: after the tiering seed (or a first re-tier here when none ran).

    Idempotent like the daily job it runs: a second call creates nothing.
    """
    from accounts.models import TierAssessment
    from accounts.services.tiering import apply_retier, ensure_default_strategies

    from .cadences import create_cadence_tasks
    from .dormancy import update_dormancy

    ensure_default_strategies()
    if not TierAssessment.objects.exists():
        apply_retier()
    update_dormancy()
    return {"cadence_tasks": create_cadence_tasks()["created"]}
