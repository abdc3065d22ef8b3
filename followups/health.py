"""Churn signals from follow-ups, complaints and NPS, and the retention tasks of new high-risk cases.

Registered with accounts.health in FollowupsConfig.ready. Each signal is one or two grouped
queries over all customers, combined with pandas; none queries per customer.
"""

from datetime import timedelta

import pandas as pd
from django.db.models import Count, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from accounts import health
from accounts.models import BudgetLevel, Customer, MaintenanceStrategy, Stage, TierAssessment, TierInputs
from accounts.services.tiering import strategy_for

from .models import Complaint, ComplaintKind, ComplaintStatus, FollowUp, NpsResponse, Task, TaskOrigin, TaskStatus

DEFAULT_CADENCE_DAYS = 30  # customers without a tier or strategy: a monthly touch
RECENT_DAYS, TRAILING_MONTHS = 30, 6


def _cadence_days() -> dict[str, int]:
    """Cadence in days per tier combination "A|high|strategic" that has a strategy with a cadence."""
    strategies = list(MaintenanceStrategy.objects.filter(active=True))
    combos = TierAssessment.objects.order_by().values_list("tier", "potential", "relationship").distinct()
    days = {}
    for tier, potential, relationship in combos:
        strategy = strategy_for(tier, potential, relationship, strategies)
        if strategy and strategy.cadence_days:
            days[f"{tier}|{potential}|{relationship}"] = strategy.cadence_days
    return days


def followup_gap_signal(now, policy):
    """Days since the last follow-up beyond the tier cadence: the cadence again → full severity."""
    rows = (
        Customer.objects.filter(merged_into__isnull=True)
        .exclude(stage=Stage.CHURNED)
        .order_by()
        .values_list(
            "pk",
            "last_followup_at",
            "created_at",
            "tier_assessment__tier",
            "tier_assessment__potential",
            "tier_assessment__relationship",
        )
    )
    frame = pd.DataFrame.from_records(
        list(rows.iterator(chunk_size=20000)), columns=["pk", "last", "created", "tier", "potential", "rel"]
    )
    if frame.empty:
        return {}
    key = frame["tier"].fillna("") + "|" + frame["potential"].fillna("") + "|" + frame["rel"].fillna("")
    cadence = key.map(_cadence_days()).fillna(DEFAULT_CADENCE_DAYS).astype(float)
    since = pd.to_datetime(frame["last"].fillna(frame["created"]), utc=True)
    gap = (pd.Timestamp(now) - since).dt.days
    late = gap > cadence
    severity = ((gap - cadence) / cadence).clip(0, 1)
    return {
        int(pk): (
            float(sev),
            _("No follow-up for %(gap)s days (cadence: every %(cadence)s days)") % {"gap": int(g), "cadence": int(c)},
        )
        for pk, sev, g, c in zip(frame["pk"][late], severity[late], gap[late], cadence[late], strict=True)
    }


def interaction_drop_signal(now, policy):
    """Fewer follow-ups in the last 30 days than half the customer's own monthly mean of the 6 before."""
    recent_from = now - timedelta(days=RECENT_DAYS)
    start = recent_from - timedelta(days=RECENT_DAYS * TRAILING_MONTHS)
    rows = (
        FollowUp.objects.filter(occurred_at__gte=start, occurred_at__lt=now)
        .order_by()
        .values("customer_id")
        .annotate(recent=Count("pk", filter=Q(occurred_at__gte=recent_from)), before=Count("pk"))
        .values_list("customer_id", "recent", "before")
    )
    result = {}
    for customer_id, recent, total in rows.iterator(chunk_size=20000):
        mean = (total - recent) / TRAILING_MONTHS
        if mean >= 1 and recent < mean / 2:
            detail = _("%(recent)s interactions in the last 30 days, against an own monthly average of %(mean).1f") % {
                "recent": recent,
                "mean": mean,
            }
            result[customer_id] = (1 - recent / mean, detail)
    return result


def complaints_signal(now, policy):
    """Open SLA breaches weigh fully; complaints rising (last 90 days above the 90 before) 0.6; open 0.3."""
    q90, q180 = now - timedelta(days=90), now - timedelta(days=180)
    breached = Q(responded_at__isnull=True, response_due_at__lt=now) | Q(
        resolved_at__isnull=True, resolution_due_at__lt=now
    )
    rows = (
        Complaint.objects.filter(kind=ComplaintKind.COMPLAINT)
        .filter(Q(opened_at__gte=q180) | ~Q(status=ComplaintStatus.RESOLVED))
        .order_by()
        .values("customer_id")
        .annotate(
            breaches=Count("pk", filter=~Q(status=ComplaintStatus.RESOLVED) & breached),
            open=Count("pk", filter=~Q(status=ComplaintStatus.RESOLVED)),
            recent=Count("pk", filter=Q(opened_at__gte=q90)),
            earlier=Count("pk", filter=Q(opened_at__gte=q180, opened_at__lt=q90)),
        )
        .values_list("customer_id", "breaches", "open", "recent", "earlier")
    )
    result = {}
    for customer_id, breaches, open_count, recent, earlier in rows.iterator(chunk_size=20000):
        if breaches:
            result[customer_id] = (
                1.0,
                ngettext("%(count)s open complaint past its SLA", "%(count)s open complaints past their SLA", breaches)
                % {"count": breaches},
            )
        elif recent > earlier and recent >= 2:
            result[customer_id] = (
                0.6,
                _("Complaints rising: %(recent)s in the last 90 days, %(earlier)s in the 90 before")
                % {"recent": recent, "earlier": earlier},
            )
        elif open_count:
            result[customer_id] = (
                0.3,
                ngettext("%(count)s open complaint", "%(count)s open complaints", open_count) % {"count": open_count},
            )
    return result


def nps_signal(now, policy):
    """The latest answer a detractor (0–6) → full severity; falling by 3 points or more → half."""
    rows = (
        NpsResponse.objects.filter(answered_at__gte=now - timedelta(days=730), answered_at__lt=now)
        .order_by()
        .values_list("survey__customer_id", "score", "answered_at")
    )
    frame = pd.DataFrame.from_records(list(rows.iterator(chunk_size=20000)), columns=["customer_id", "score", "at"])
    if frame.empty:
        return {}
    frame = frame.sort_values(["customer_id", "at"], ascending=[True, False])
    latest = frame.groupby("customer_id")["score"].nth(0)
    latest.index = frame.loc[latest.index, "customer_id"]
    previous = frame.groupby("customer_id")["score"].nth(1)
    previous.index = frame.loc[previous.index, "customer_id"]
    previous = previous.reindex(latest.index)
    result = {}
    for customer_id, score in latest.items():
        before = previous.get(customer_id)
        if score <= 6:
            result[int(customer_id)] = (1.0, _("Latest NPS answer %(score)s (a detractor)") % {"score": int(score)})
        elif pd.notna(before) and before - score >= 3:
            result[int(customer_id)] = (
                0.5,
                _("NPS fell from %(before)s to %(score)s") % {"before": int(before), "score": int(score)},
            )
    return result


def intent_flags_signal(now, policy):
    """A termination intent (open, or raised in the last 90 days) → full; budget cuts recorded → 0.6."""
    result = {}
    for customer_id in TierInputs.objects.filter(budget_level=BudgetLevel.CUT).values_list("customer_id", flat=True):
        result[customer_id] = (0.6, _("Budget cuts recorded"))
    termination = (
        Complaint.objects.filter(kind=ComplaintKind.TERMINATION)
        .filter(~Q(status=ComplaintStatus.RESOLVED) | Q(opened_at__gte=now - timedelta(days=90)))
        .values_list("customer_id", flat=True)
        .distinct()
    )
    for customer_id in termination:
        result[customer_id] = (1.0, _("The customer has said they intend to terminate"))
    return result


SIGNALS = [
    health.Signal("followup_gap", gettext_noop("Follow-up gap"), followup_gap_signal),
    health.Signal("interaction_drop", gettext_noop("Fewer interactions"), interaction_drop_signal),
    health.Signal("complaints", gettext_noop("Complaints and SLA breaches"), complaints_signal),
    health.Signal("nps", gettext_noop("NPS"), nps_signal),
    health.Signal("intent_flags", gettext_noop("Termination intent or budget cuts"), intent_flags_signal),
]


def _retention_task(case, key: str, title: str, due_at):
    return Task(
        customer_id=case.customer_id,
        assignee_id=case.customer.owner_id,
        team_id=case.customer.team_id,
        title=title,
        due_at=due_at,
        origin=TaskOrigin.RETENTION,
        dedupe_key=f"{key}:{case.pk}",
    )


def follow_retention_case(case, step: str, now) -> None:
    """Keep the owner's task list in step with the case: the contact task is done once the customer
    was reached, then a plan task is due 24 hours later; a recorded plan or a closed case closes them."""
    done = {"contacted": ["retention"], "planned": ["retention", "retention-plan"]}.get(step)
    keys = done or ["retention", "retention-plan"]
    status = TaskStatus.DONE if done else TaskStatus.CANCELLED
    Task.objects.filter(dedupe_key__in=[f"{key}:{case.pk}" for key in keys], status=TaskStatus.OPEN).update(
        status=status, completed_at=now if done else None
    )
    if step == "contacted" and case.customer.owner_id:
        title = _("Retention plan: %(customer)s (offer, owner, deadline)") % {"customer": case.customer.name}
        Task.objects.bulk_create(
            [_retention_task(case, "retention-plan", title, case.plan_due_at)], ignore_conflicts=True
        )


def create_retention_tasks(cases, now) -> int:
    """One task per new retention case for the customer's owner: contact within 48 hours."""
    tasks = [
        _retention_task(
            case,
            "retention",
            _("Retention: contact %(customer)s (%(cause)s)")
            % {"customer": case.customer.name, "cause": health.label_of(case.cause) if case.cause else "—"},
            case.contact_due_at,
        )
        for case in cases
        if case.customer.owner_id
    ]
    Task.objects.bulk_create(tasks, batch_size=2000, ignore_conflicts=True)
    return len(tasks)
