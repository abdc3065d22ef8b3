"""Churn early warning (流失预警, DOMAIN §6): health scan, retention workflow, churn recording.

Health score: 100 minus, for each registered signal (accounts.health), its weight × severity
(0–1). Default weights: follow-up gap 20, fewer interactions 10, complaints 15, payments 20,
NPS 10, termination/budget-cut flags 15, usage 10 (managers edit them). Risk: high below 50,
medium below 75, else low. The main cause is the signal that cost the most points.

The weekly scan is set-based (one call per signal, each a few queries over all customers; pandas
to combine; bulk writes in chunks) and idempotent: a row is written only when its content
changed, and a customer that newly turns high-risk gets one RetentionCase per ISO week (unique
constraint), so a re-run in the same week opens nothing and creates no second task.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

import pandas as pd
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from crm.access import can_edit_owned, has_role, is_admin
from crm.roles import Role

from .. import health
from ..models import (
    ChurnReason,
    ChurnRecord,
    Customer,
    CustomerHealth,
    HealthPolicy,
    RetentionCase,
    RiskLevel,
    Stage,
    TierAssessment,
    UsageWeek,
    default_health_weights,
)
from .lifecycle import set_stage

CHUNK = 2000
CONTACT_WITHIN = timedelta(hours=48)
PLAN_WITHIN = timedelta(hours=24)

# The managed list starts with these (DOMAIN §6); managers add, rename or retire reasons.
BUILTIN_REASONS = [
    ("competitor_price", gettext_noop("Competitor price"), False),
    ("slow_service", gettext_noop("Slow service response"), False),
    ("product_gap", gettext_noop("Product does not meet needs"), False),
    ("budget_cut", gettext_noop("Budget cut"), False),
    ("other", gettext_noop("Other"), True),
]


class ChurnError(Exception):
    """A churn or retention action that cannot be done; str(error) is the message."""


def can_manage_churn(user) -> bool:
    return is_admin(user) or has_role(user, Role.MANAGER)


def iso_week(moment: datetime | date) -> str:
    day = timezone.localdate(moment) if isinstance(moment, datetime) else moment
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d}"


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


# --- policy ---------------------------------------------------------------------------------


def current_policy() -> HealthPolicy:
    return HealthPolicy.current()


@transaction.atomic
def save_policy(*, policy: HealthPolicy, by) -> HealthPolicy:
    """Managers edit weights and bands; the change is audited and applies from the next scan."""
    if not can_manage_churn(by):
        raise PermissionDenied
    known = default_health_weights()
    weights = {key: int(policy.weights.get(key, 0)) for key in known}
    if any(value < 0 or value > 100 for value in weights.values()):
        raise ChurnError(_("Each weight must be between 0 and 100."))
    if not 0 < policy.high_below <= policy.medium_below <= 100:
        raise ChurnError(_("The high-risk band must start below the medium-risk band (0–100)."))
    if not 1 <= policy.usage_ratio <= 100 or policy.usage_run_weeks < 1 or policy.usage_window_weeks < 1:
        raise ChurnError(_("Usage: the ratio must be 1–100 % and the weeks at least 1."))
    policy.weights = weights
    policy.updated_by = by
    policy._history_user = by
    policy.save()
    return policy


def ensure_default_reasons() -> int:
    created = 0
    with translation.override(settings.LANGUAGE_CODE):
        for position, (code, name, needs_note) in enumerate(BUILTIN_REASONS):
            _obj, was_created = ChurnReason.objects.get_or_create(
                code=code, defaults={"name": _(name), "needs_note": needs_note, "position": position}
            )
            created += was_created
    return created


def risk_for(score: int, policy: HealthPolicy) -> str:
    if score < policy.high_below:
        return RiskLevel.HIGH
    if score < policy.medium_below:
        return RiskLevel.MEDIUM
    return RiskLevel.LOW


# --- accounts' own signal: usage activity ---------------------------------------------------


def usage_signal(now: datetime, policy: HealthPolicy) -> health.SignalResult:
    """The last `usage_run_weeks` complete weeks (default 2) all below `usage_ratio` % (default 50) of the
    customer's own weekly mean over the `usage_window_weeks` (default 8) before them."""
    run, window = policy.usage_run_weeks, policy.usage_window_weeks
    this_monday = monday_of(timezone.localdate(now))
    first = this_monday - timedelta(weeks=run + window)
    rows = UsageWeek.objects.filter(week_start__gte=first, week_start__lt=this_monday).values_list(
        "customer_id", "week_start", "logins"
    )
    frame = pd.DataFrame.from_records(list(rows), columns=["customer_id", "week_start", "logins"])
    if frame.empty:
        return {}
    weeks = [first + timedelta(weeks=i) for i in range(run + window)]
    grid = frame.pivot_table(index="customer_id", columns="week_start", values="logins", aggfunc="sum")
    grid = grid.reindex(columns=weeks)
    # A week without a row counts as 0 once the customer has started reporting; before that it is unknown.
    grid = grid.fillna(0).where(grid.notna().cummax(axis=1))
    baseline = grid[weeks[:window]].mean(axis=1)
    recent = grid[weeks[window:]]
    limit = baseline * policy.usage_ratio / 100.0
    below = recent.lt(limit, axis=0).all(axis=1) & (baseline > 0)
    result = {}
    for customer_id in below[below].index:
        mean, latest = float(baseline[customer_id]), float(recent.loc[customer_id].mean())
        severity = min(1.0, max(0.0, 1 - latest / mean))
        detail = _("Usage %(latest).0f a week for %(weeks)s weeks, against an own average of %(mean).0f") % {
            "latest": latest,
            "weeks": run,
            "mean": mean,
        }
        result[int(customer_id)] = (severity, detail)
    return result


# --- the weekly scan ------------------------------------------------------------------------


def _scored(now: datetime, policy: HealthPolicy, customer_ids) -> pd.DataFrame:
    """Score, risk, main cause and signal details of every customer in `customer_ids`."""
    records = []
    for signal in health.signals():
        weight = float(policy.weights.get(signal.key, 0))
        if weight <= 0:
            continue
        for customer_id, (severity, detail, *with_amounts) in signal.compute(now, policy).items():
            penalty = round(weight * min(max(float(severity), 0.0), 1.0), 1)
            if penalty > 0:
                records.append(
                    (customer_id, signal.key, penalty, str(detail), str(with_amounts[0]) if with_amounts else "")
                )
    index = pd.Index(list(customer_ids), name="customer_id")
    frame = pd.DataFrame.from_records(records, columns=["customer_id", "key", "penalty", "detail", "amounts"])
    frame = frame[frame["customer_id"].isin(index)]
    lost = frame.groupby("customer_id")["penalty"].sum().reindex(index, fill_value=0.0)
    out = pd.DataFrame({"score": (100 - lost).clip(0, 100).round().astype(int)}, index=index)
    out["risk"] = [risk_for(s, policy) for s in out["score"]]
    ranked = frame.sort_values(["customer_id", "penalty", "key"], ascending=[True, False, True])
    out["main_cause"] = ranked.groupby("customer_id")["key"].first().reindex(index).fillna("")
    signals = {cid: {} for cid in index}
    for customer_id, key, penalty, detail, amounts in ranked.itertuples(index=False):
        signals[customer_id][key] = {
            "penalty": penalty,
            "detail": detail,
            **({"detail_amounts": amounts} if amounts else {}),
        }
    out["signals"] = pd.Series(signals)
    return out


def _scanned_customers():
    return Customer.objects.filter(merged_into__isnull=True).exclude(stage=Stage.CHURNED).order_by()


def run_scan(*, now: datetime | None = None) -> dict[str, int]:
    """Score every customer, write what changed, open retention cases for the newly high-risk."""
    now = now or timezone.now()
    today, week = timezone.localdate(now), iso_week(now)
    policy = current_policy()
    ids = list(_scanned_customers().values_list("pk", flat=True).iterator(chunk_size=20000))
    scored = _scored(now, policy, ids)
    old = {
        row[0]: row[1:]
        for row in CustomerHealth.objects.values_list(
            "customer_id", "score", "risk", "main_cause", "signals", "high_since"
        )
        .order_by()
        .iterator(chunk_size=20000)
    }
    create, update, newly_high = [], [], []
    for customer_id, score, risk, cause, signals in scored[["score", "risk", "main_cause", "signals"]].itertuples():
        before = old.get(customer_id)
        was_high = before is not None and before[1] == RiskLevel.HIGH
        high_since = (before[4] if was_high else today) if risk == RiskLevel.HIGH else None
        row = CustomerHealth(
            customer_id=customer_id,
            score=int(score),
            risk=risk,
            main_cause=cause,
            signals=signals,
            week=week,
            scanned_at=now,
            high_since=high_since,
        )
        if before is None:
            create.append(row)
        elif (int(score), risk, cause, signals, high_since) != tuple(before):
            update.append(row)
        if risk == RiskLevel.HIGH and not was_high:
            newly_high.append(customer_id)
    with transaction.atomic():
        CustomerHealth.objects.bulk_create(create, batch_size=CHUNK)
        CustomerHealth.objects.bulk_update(
            update, ["score", "risk", "main_cause", "signals", "week", "scanned_at", "high_since"], batch_size=CHUNK
        )
        cases = _open_cases(newly_high, scored, now, week)
        for hook in health.high_risk_hooks():
            hook(cases, now)
        _queue_manager_emails(week, {case.customer_id for case in cases})
    return {"customers": len(ids), "written": len(create) + len(update), "new_high_risk": len(cases)}


def _open_cases(customer_ids, scored, now, week) -> list[RetentionCase]:
    """One case per newly high-risk customer and week, unless one is still open."""
    if not customer_ids:
        return []
    busy = set(
        RetentionCase.objects.filter(customer_id__in=customer_ids)
        .filter(
            Q(week=week)
            | Q(state__in=[RetentionCase.State.OPEN, RetentionCase.State.CONTACTED, RetentionCase.State.PLANNED])
        )
        .values_list("customer_id", flat=True)
    )
    todo = [cid for cid in customer_ids if cid not in busy]
    RetentionCase.objects.bulk_create(
        [
            RetentionCase(
                customer_id=cid,
                week=week,
                opened_at=now,
                cause=scored.loc[cid, "main_cause"],
                contact_due_at=now + CONTACT_WITHIN,
            )
            for cid in todo
        ],
        batch_size=CHUNK,
        ignore_conflicts=True,
    )
    return list(RetentionCase.objects.filter(customer_id__in=todo, week=week).select_related("customer"))


EMAIL_LINES = 50  # customers listed in one manager's email; the rest are on the page


def _queue_manager_emails(week: str, new_ids: set[int]) -> int:
    """One email per team manager and ISO week (outbox key, so a re-run sends nothing twice): the
    team's new high-risk customers first, then how many stay high-risk, with a link to the list."""
    from crm.models import Team
    from crm.outbox import queue_emails

    by_team: dict[int, list] = {}
    rows = (
        CustomerHealth.objects.filter(risk=RiskLevel.HIGH, customer__team__isnull=False)
        .order_by("score", "customer_id")
        .values_list("customer__team_id", "customer_id", "customer__name", "main_cause", "score")
    )
    for team_id, customer_id, name, cause, score in rows.iterator(chunk_size=20000):
        by_team.setdefault(team_id, []).append((customer_id in new_ids, name, cause, score))
    link = settings.CRM_PUBLIC_URL.rstrip("/") + reverse("accounts:churn_warnings") + "?risk=high"
    messages = []
    teams = Team.objects.filter(pk__in=by_team, manager__isnull=False).select_related("manager__profile")
    for team in teams:
        manager, customers = team.manager, by_team[team.pk]
        fresh = [c for c in customers if c[0]]
        if not manager.email or not fresh:
            continue
        profile = getattr(manager, "profile", None)
        with translation.override(getattr(profile, "language", "") or settings.LANGUAGE_CODE):
            subject = _("Churn warning %(week)s: %(new)s new high-risk customers in %(team)s") % {
                "week": week,
                "new": len(fresh),
                "team": team.name,
            }
            lines = [_("New this week (health score, main cause):")]
            lines += [
                f"- {name} ({score}, {health.label_of(cause) if cause else '—'})" for _n, name, cause, score in fresh
            ]
            lines = lines[: EMAIL_LINES + 1]
            lines += ["", _("High-risk customers in all: %(count)s") % {"count": len(customers)}, link]
        messages.append((f"churn-warning:{week}:{team.pk}:{manager.pk}", subject, "\n".join(lines), [manager.email]))
    return queue_emails(messages)


# --- retention workflow ---------------------------------------------------------------------


def can_work_case(user, case: RetentionCase) -> bool:
    return can_edit_owned(user, case.customer)


def _locked(case: RetentionCase, user) -> RetentionCase:
    if not can_work_case(user, case):
        raise PermissionDenied
    return RetentionCase.objects.select_for_update().select_related("customer").get(pk=case.pk)


@transaction.atomic
def record_contact(*, case: RetentionCase, by, note: str = "", now: datetime | None = None) -> RetentionCase:
    """The owner reached the customer: the retention plan is now due within 24 hours."""
    case = _locked(case, by)
    if case.state != RetentionCase.State.OPEN:
        raise ChurnError(_("This customer has already been contacted."))
    now = now or timezone.now()
    case.state = RetentionCase.State.CONTACTED
    case.contacted_at = now
    case.plan_due_at = now + PLAN_WITHIN
    case.note = "\n".join(filter(None, [case.note, note.strip()]))
    case._history_user = by
    case.save()
    _after_step(case, "contacted", now)
    return case


def _after_step(case: RetentionCase, step: str, now: datetime) -> None:
    for hook in health.case_hooks():
        hook(case, step, now)


@transaction.atomic
def record_plan(*, case: RetentionCase, offer: str, owner, deadline: date, by, now=None) -> RetentionCase:
    case = _locked(case, by)
    if case.state not in (RetentionCase.State.CONTACTED, RetentionCase.State.PLANNED):
        raise ChurnError(_("Contact the customer before recording the retention plan."))
    if not offer.strip():
        raise ChurnError(_("Describe the offer of the retention plan."))
    if deadline < timezone.localdate(now or timezone.now()):
        raise ChurnError(_("The plan deadline cannot be in the past."))
    case.state = RetentionCase.State.PLANNED
    case.offer, case.plan_owner, case.plan_deadline = offer.strip(), owner, deadline
    case.planned_at = now or timezone.now()
    case._history_user = by
    case.save()
    _after_step(case, "planned", case.planned_at)
    return case


@transaction.atomic
def close_case(
    *, case: RetentionCase, retained: bool, by, reason: ChurnReason | None = None, note: str = "", now=None
) -> RetentionCase:
    """Record the outcome: retained, or lost with a reason (which marks the customer churned)."""
    case = _locked(case, by)
    if not case.is_open:
        raise ChurnError(_("This retention case is already closed."))
    now = now or timezone.now()
    if not retained:
        mark_churned(customer=case.customer, reason=reason, note=note, by=by, on=timezone.localdate(now))
        case.lost_reason = reason
    case.state = RetentionCase.State.RETAINED if retained else RetentionCase.State.LOST
    case.closed_at = now
    case.note = "\n".join(filter(None, [case.note, note.strip()]))
    case._history_user = by
    case.save()
    _after_step(case, "closed", now)
    return case


# --- churn recording ------------------------------------------------------------------------


@transaction.atomic
def mark_churned(*, customer: Customer, reason: ChurnReason | None, by, note: str = "", on: date | None = None):
    """A churned customer needs a reason from the managed list (and a note for "other")."""
    if not can_edit_owned(by, customer):
        raise PermissionDenied
    if reason is None or not reason.active:
        raise ChurnError(_("Choose why the customer left."))
    if reason.needs_note and not note.strip():
        raise ChurnError(_("Describe the reason in the note."))
    if customer.stage == Stage.CHURNED:
        raise ChurnError(_("This customer is already marked as churned."))
    tier = TierAssessment.objects.filter(customer=customer).values_list("tier", flat=True).first() or ""
    set_stage(customer=customer, stage=Stage.CHURNED, by=by, reason=_("Churned: %(reason)s") % {"reason": reason})
    return ChurnRecord.objects.create(
        customer=customer,
        reason=reason,
        note=note.strip(),
        churned_on=on or timezone.localdate(),
        tier=tier,
        industry=customer.industry,
        owner_id=customer.owner_id,
        team_id=customer.team_id,
        by=by,
    )


def validate_reason(reason: ChurnReason | None, note: str) -> None:
    """Form-level check shared by the churn and lost-case forms."""
    if reason is not None and reason.needs_note and not (note or "").strip():
        raise ValidationError(_("Describe the reason in the note."))


# --- attribution ----------------------------------------------------------------------------


def churn_breakdown(values: list, bases: dict | int) -> list[dict]:
    """Churns per value: count, share of all churns, and churn rate = count ÷ the value's own base
    (customers with that value at the start of the period; an int is one base for every value)."""
    counts = Counter(values)
    total = sum(counts.values())
    rows = []
    for key, count in counts.most_common():
        base = bases if isinstance(bases, int) else bases.get(key, 0)
        rows.append(
            {
                "key": key,
                "count": count,
                "share": round(count * 100 / total, 1) if total else 0.0,
                "base": base,
                "rate": round(count * 100 / base, 1) if base else None,
            }
        )
    return rows
