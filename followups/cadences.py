"""Tier cadences (DOMAIN §3, §4): the recurring maintenance tasks each customer's strategy asks for.

Daily beat job. Each active customer with a tier assessment follows the most specific active
maintenance strategy of its combination (accounts.services.tiering.strategy_for); each cadence
of that strategy ({"action", "every_days", "responsible"}) is one recurring action. A dormant
customer follows the lower dormant cadence instead (one touch every FollowupPolicy.dormant_touch_days).

For every customer and action the job creates one task when the action falls due, never while
one is open. It is due `every_days` after its anchor: the last done task of that action (when it
was done) or cancelled one (its due time), and for the strategy's most frequent action (the
regular touch) also the customer's last follow-up, whichever is later; superseded tasks were never
done and anchor nothing. No anchor yet: due now. Tasks appear `cadence_lead_days` before they
fall due; one that is due already (or overdue) is due by the end of today, so it lands on today's
list rather than in the past. Open cadence tasks of actions the customer no longer follows (a new
tier, an edited strategy, gone dormant or active again) are superseded.

Set-based: one query for the customers joined with their assessment, team and managers; per chunk
one grouped query of their cadence tasks; bulk inserts with a dedupe key per customer, action
and due date (unique), so a retried or concurrent run creates nothing twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from accounts.models import Customer, MaintenanceStrategy, Stage, Status
from accounts.services.tiering import strategy_for
from crm.history import copy_to_history

from .models import FollowupPolicy, Responsible, Task, TaskOrigin, TaskStatus
from .selectors import day_bounds
from .services import pick_responsible

CHUNK = 1000
DORMANT_KEY = "dormant"


@dataclass(frozen=True)
class Cadence:
    key: str
    action: str
    every_days: int
    responsible: str
    touch: bool  # the regular touch: any follow-up with the customer counts as done


def cadence_key(action: str, every_days: int) -> str:
    """A short stable key of one recurring action (its text and interval)."""
    digest = hashlib.sha1(f"{action.strip().casefold()}|{every_days}".encode(), usedforsecurity=False)
    return f"{every_days}d-{digest.hexdigest()[:12]}"


def strategy_cadences(strategy: MaintenanceStrategy | None) -> list[Cadence]:
    """The valid cadences of a strategy (entries without an action or a positive interval are skipped)."""
    if strategy is None:
        return []
    entries = []
    for entry in strategy.cadences or []:
        action = str(entry.get("action") or "").strip()
        try:
            every = int(entry.get("every_days") or 0)
        except (TypeError, ValueError):
            every = 0
        responsible = entry.get("responsible") or strategy.responsible or Responsible.OWNER
        if action and every > 0:
            entries.append((action[:200], every, responsible))
    shortest = min((every for _action, every, _who in entries), default=None)
    return [Cadence(cadence_key(a, e), a, e, r, e == shortest) for a, e, r in entries]


def dormant_cadence(policy: FollowupPolicy) -> list[Cadence]:
    return [Cadence(DORMANT_KEY, _("Dormant customer: periodic touch"), policy.dormant_touch_days, "owner", True)]


CUSTOMER_COLUMNS = (
    "pk",
    "status",
    "owner_id",
    "team_id",
    "team__manager_id",
    "team__parent__manager_id",
    "last_followup_at",
    "tier_assessment__tier",
    "tier_assessment__potential",
    "tier_assessment__relationship",
)


def _customers():
    """Who follows a cadence: active customers with an assessment and dormant ones (not churned)."""
    return (
        Customer.objects.filter(merged_into__isnull=True)
        .filter(Q(status=Status.DORMANT) | Q(status=Status.ACTIVE, tier_assessment__isnull=False))
        .exclude(stage=Stage.CHURNED)
        .order_by("pk")
        .values_list(*CUSTOMER_COLUMNS)
    )


def _task_state(customer_ids: list[int]) -> tuple[dict, dict]:
    """Open cadence task ids per customer and key; the anchor of the last done or cancelled one per (customer, key)."""
    open_tasks: dict[int, dict[str, list[int]]] = {}
    anchors: dict[tuple[int, str], datetime] = {}
    tasks = Task.objects.filter(customer_id__in=customer_ids, origin=TaskOrigin.CADENCE)
    for pk, customer_id, key in tasks.filter(status=TaskStatus.OPEN).values_list("pk", "customer_id", "cadence"):
        open_tasks.setdefault(customer_id, {}).setdefault(key, []).append(pk)
    closed = (
        tasks.filter(status__in=[TaskStatus.DONE, TaskStatus.CANCELLED])
        .values("customer_id", "cadence")
        .annotate(anchor=Max(Coalesce("completed_at", "due_at")))
        .values_list("customer_id", "cadence", "anchor")
    )
    for customer_id, key, anchor in closed:
        anchors[(customer_id, key)] = anchor
    return open_tasks, anchors


def _insert(tasks: list[Task]) -> int:
    """Insert the tasks whose dedupe key is still free; a racing run's inserts win quietly."""
    keys = [t.dedupe_key for t in tasks]
    taken = set(Task.objects.filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True))
    fresh = [t for t in tasks if t.dedupe_key not in taken]
    if not fresh:
        return 0
    try:
        with transaction.atomic():
            bulk_create_with_history(fresh, Task, batch_size=CHUNK, default_change_reason=_("Tier cadence"))
    except IntegrityError:  # a concurrent run inserted some of them after the check
        before = Task.objects.filter(dedupe_key__in=keys).count()
        Task.objects.bulk_create(fresh, batch_size=CHUNK, ignore_conflicts=True)
        return Task.objects.filter(dedupe_key__in=keys).count() - before
    return len(fresh)


def create_cadence_tasks(*, now: datetime | None = None) -> dict[str, int]:
    """Daily: create the cadence tasks that fall due, supersede the ones no longer followed."""
    now = now or timezone.now()
    counts = {"customers": 0, "created": 0, "superseded": 0}
    with translation.override(settings.LANGUAGE_CODE):  # task titles in the team's language
        policy = FollowupPolicy.current()
        horizon = now + timedelta(days=policy.cadence_lead_days)
        strategies = list(MaintenanceStrategy.objects.filter(active=True))
        plans: dict[tuple, list[Cadence]] = {}
        dormant = dormant_cadence(policy)
        rows = list(_customers())
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            with transaction.atomic():
                created, superseded = _run_chunk(chunk, now, horizon, strategies, plans, dormant)
            counts["customers"] += len(chunk)
            counts["created"] += created
            counts["superseded"] += superseded
        # Customers that follow no cadence any more (churned, blacklisted, merged, untiered).
        # NOT EXISTS (an anti-join), not NOT IN: NOT IN over a million ids does not fit a hashed
        # subplan in work_mem and turns into a nested scan of the whole list for every task.
        orphans = Task.objects.filter(origin=TaskOrigin.CADENCE, status=TaskStatus.OPEN).exclude(
            Exists(_customers().filter(pk=OuterRef("customer_id")))
        )
        with transaction.atomic():
            counts["superseded"] += _supersede(orphans)
    return counts


def _run_chunk(chunk, now, horizon, strategies, plans, dormant) -> tuple[int, int]:
    open_tasks, anchors = _task_state([row[0] for row in chunk])
    today_end = day_bounds(now)[1] - timedelta(minutes=1)  # due already: on today's list, not overdue
    new_tasks, stale_ids = [], []
    for pk, status, owner_id, team_id, manager_id, director_id, last_followup, tier, potential, relationship in chunk:
        if status == Status.DORMANT:
            plan = dormant
        else:
            combination = (tier, potential, relationship)
            if combination not in plans:
                plans[combination] = strategy_cadences(strategy_for(tier, potential, relationship, strategies))
            plan = plans[combination]
        keys = {c.key for c in plan}
        open_now = open_tasks.get(pk, {})
        stale_ids += [task_id for key, ids in open_now.items() if key not in keys for task_id in ids]
        for cadence in plan:
            if cadence.key in open_now:
                continue
            anchor = anchors.get((pk, cadence.key))
            if cadence.touch and last_followup is not None:
                anchor = max(anchor, last_followup) if anchor else last_followup
            due = anchor + timedelta(days=cadence.every_days) if anchor else now
            if due > horizon:
                continue
            assignee = pick_responsible(cadence.responsible, owner=owner_id, manager=manager_id, director=director_id)
            if assignee is None:
                continue
            new_tasks.append(
                Task(
                    customer_id=pk,
                    assignee_id=assignee,
                    team_id=team_id,
                    title=cadence.action,
                    due_at=due if due > now else today_end,
                    origin=TaskOrigin.CADENCE,
                    cadence=cadence.key,
                    dedupe_key=f"cadence:{pk}:{cadence.key}:{timezone.localdate(due):%Y%m%d}",
                )
            )
    return _insert(new_tasks), _supersede(Task.objects.filter(pk__in=stale_ids))


def _supersede(tasks) -> int:
    """Mark the open ones of `tasks` superseded, with a history row each: one UPDATE … WHERE id IN
    per chunk (every row gets the same value), then the history rows copied set-based."""
    ids = list(tasks.filter(status=TaskStatus.OPEN).values_list("pk", flat=True))
    for start in range(0, len(ids), CHUNK):
        Task.objects.filter(pk__in=ids[start : start + CHUNK]).update(status=TaskStatus.SUPERSEDED)
    copy_to_history(Task, ids, reason=_("Superseded: the customer's cadence changed"))
    return len(ids)
