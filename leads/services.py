"""Business actions of the lead pool and the pipeline (DOMAIN §2).

Every write goes through one of these keyword-only functions: transactional, audited
(django-simple-history, with the acting user and a reason), called alike by views, Celery
tasks, commands and tests. Batch jobs are set-based (bulk_update in chunks, never one save per row).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Contact, ContactRole, Customer, SourceChannel, Status
from accounts.models import Stage as CustomerStage
from accounts.services.customers import create_customer, find_duplicates, normalize_name, save_contact
from accounts.services.lifecycle import record_won_deal
from crm import outbox
from crm.access import can_edit_owned, has_role, is_admin, managed_team_ids
from crm.history import copy_to_history
from crm.roles import SALES_ROLES, Role

from . import sms
from .models import (
    DEFAULT_PROBABILITY,
    OPEN_STATUSES,
    AssignmentPolicy,
    HighPotentialList,
    Intent,
    Lead,
    LeadStatus,
    Opportunity,
    OpportunityStageChange,
    OppStage,
    PoolReason,
    ScoringPolicy,
    Touch,
    TouchKind,
)

CHUNK = 1000


# --- domain errors: views turn them into messages ---------------------------------------------


class LeadError(Exception):
    """A business rule refused the action; str(error) is the message for the user."""


class DuplicateLeadError(LeadError):
    def __init__(self, *, leads: list[Lead], customers: list[Customer]):
        names = ", ".join([str(x) for x in leads] + [str(x) for x in customers])
        super().__init__(
            _("A lead or customer with this company name or phone already exists: %(names)s.") % {"names": names}
        )
        self.leads, self.customers = leads, customers


class AlreadyClaimedError(LeadError):
    pass


class CapReachedError(LeadError):
    pass


class AlreadyConvertedError(LeadError):
    pass


class BlacklistedCustomerError(LeadError):
    pass


class StageTransitionError(LeadError):
    pass


def is_sales(user) -> bool:
    return is_admin(user) or has_role(user, *SALES_ROLES)


def is_lead_manager(user) -> bool:
    return is_admin(user) or has_role(user, Role.MANAGER)


def _team_id_of(user) -> int | None:
    if user is None:
        return None
    profile = getattr(user, "profile", None)
    return profile.team_id if profile else None


def _audit(obj, by, reason: str = "") -> None:
    obj._history_user = by
    obj._change_reason = reason or None


# --- duplicates and creation ----------------------------------------------------------------


@dataclass
class LeadDuplicates:
    leads: list[Lead] = field(default_factory=list)
    customers: list[Customer] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.leads or self.customers)


def find_lead_duplicates(*, company: str, phone: str = "", exclude_pk: int | None = None) -> LeadDuplicates:
    """Open leads and customers with the same normalised company name or the same phone, company-wide."""
    normalized = normalize_name(company)
    phone = (phone or "").strip()
    lead_match = Q(normalized_company=normalized) if normalized else Q(pk__in=[])
    if phone:
        lead_match |= Q(phone=phone)
    leads = Lead.objects.filter(lead_match, status__in=OPEN_STATUSES)
    if exclude_pk:
        leads = leads.exclude(pk=exclude_pk)
    customer_match = Q(normalized_name=normalized) if normalized else Q(pk__in=[])
    if phone:
        customer_match |= Q(Exists(Contact.objects.filter(customer=OuterRef("pk"), phone=phone)))
    customers = Customer.objects.filter(customer_match, merged_into__isnull=True)
    return LeadDuplicates(leads=list(leads[:5]), customers=list(customers[:5]))


def _prepare(lead: Lead) -> None:
    lead.company = (lead.company or "").strip()
    lead.normalized_company = normalize_name(lead.company)
    lead.phone = (lead.phone or "").strip()
    lead.email = (lead.email or "").strip().lower()
    if lead.owner_id and not lead.team_id:
        lead.team_id = _team_id_of(lead.owner)


@transaction.atomic
def create_lead(*, lead: Lead, by=None, tags: Iterable = (), allow_duplicate: bool = False) -> Lead:
    """Save a new lead (scored at once). Refuses duplicates of leads/customers unless allowed."""
    _prepare(lead)
    if not allow_duplicate:
        duplicates = find_lead_duplicates(company=lead.company, phone=lead.phone)
        if duplicates:
            raise DuplicateLeadError(leads=duplicates.leads, customers=duplicates.customers)
    now = timezone.now()
    if lead.owner_id:
        lead.assigned_at = lead.assigned_at or now
        lead.pool_reason = ""
    elif not lead.pool_reason:
        lead.pool_reason = PoolReason.NEW
    lead.created_by = by
    _apply_score(lead, ScoringPolicy.current())
    _audit(lead, by, _("Lead created"))
    lead.save()
    if tags:
        lead.tags.set(tags)
    return lead


@transaction.atomic
def update_lead(*, lead: Lead, by, tags: Iterable | None = None, reason: str = "") -> Lead:
    """Save edits of a lead; its score and grade are recomputed from the new inputs."""
    if not can_edit_owned(by, lead):
        raise PermissionDenied
    _prepare(lead)
    _apply_score(lead, ScoringPolicy.current())
    _audit(lead, by, reason)
    lead.save()
    if tags is not None:
        lead.tags.set(tags)
    return lead


@transaction.atomic
def record_interaction(*, lead: Lead, by, decision_maker_reached: bool = False, next_followup_at=None) -> Lead:
    """A call, visit or meeting with the lead: counts towards its score and resets the recycle clock."""
    if not can_edit_owned(by, lead) or lead.owner_id is None:
        raise PermissionDenied
    lead = Lead.objects.select_for_update(of=("self",)).select_related("channel").get(pk=lead.pk)
    lead.interaction_count += 1
    lead.last_activity_at = timezone.now()
    lead.decision_maker_reached = lead.decision_maker_reached or decision_maker_reached
    if next_followup_at is not None:
        lead.next_followup_at = next_followup_at
    if lead.status == LeadStatus.NEW:
        lead.status = LeadStatus.WORKING
    _apply_score(lead, ScoringPolicy.current())
    _audit(lead, by, _("Interaction recorded"))
    lead.save()
    return lead


# --- scoring ------------------------------------------------------------------------------------

SIZE_FACTORS = {"1-49": 0.2, "50-199": 0.4, "200-999": 0.7, "1000-4999": 0.9, "5000+": 1.0}


def compute_score(
    policy: ScoringPolicy,
    *,
    interaction_count: int,
    employee_band: str,
    decision_maker_reached: bool,
    channel_quality: int | None,
) -> tuple[int, str, dict]:
    """(score 0–100, grade, breakdown) for one lead's inputs. Pure: used per lead and in batches."""
    factors = {
        "interactions": min(interaction_count / max(policy.interactions_for_full, 1), 1.0),
        "company_size": SIZE_FACTORS.get(employee_band or "", 0.0),
        "decision_maker": 1.0 if decision_maker_reached else 0.0,
        "channel": (channel_quality or 0) / 100,
    }
    weights = {
        "interactions": policy.weight_interactions,
        "company_size": policy.weight_company_size,
        "decision_maker": policy.weight_decision_maker,
        "channel": policy.weight_channel,
    }
    total = sum(weights.values()) or 1
    breakdown = {}
    raw = 0.0
    for key, factor in factors.items():
        points = 100 * weights[key] * factor / total
        raw += points
        breakdown[key] = {"factor": round(factor, 2), "weight": weights[key], "points": round(points, 1)}
    score = max(0, min(100, round(raw)))
    return score, grade_for(policy, score), breakdown


def grade_for(policy: ScoringPolicy, score: int) -> str:
    if score >= policy.high_from:
        return Intent.HIGH
    if score >= policy.medium_from:
        return Intent.MEDIUM
    return Intent.LOW


def _apply_score(lead: Lead, policy: ScoringPolicy) -> bool:
    """Set score, breakdown and (unless set by hand) intent; True when anything changed."""
    quality = lead.channel.quality if lead.channel_id else None
    score, grade, breakdown = compute_score(
        policy,
        interaction_count=lead.interaction_count,
        employee_band=lead.employee_band,
        decision_maker_reached=lead.decision_maker_reached,
        channel_quality=quality,
    )
    intent = lead.intent if lead.intent_set_by_hand else grade
    changed = (lead.score, lead.intent, lead.score_breakdown) != (score, intent, breakdown)
    lead.score, lead.intent, lead.score_breakdown = score, intent, breakdown
    return changed


@transaction.atomic
def score_lead(*, lead: Lead, by=None) -> Lead:
    """Recompute one lead's score and grade now."""
    if _apply_score(lead, ScoringPolicy.current()):
        _audit(lead, by, _("Rescored"))
        lead.save(update_fields=["score", "intent", "score_breakdown", "updated_at"])
    return lead


def _write_scores(rows: list[tuple[int, int, str, dict]]) -> None:
    """Write (id, score, intent, breakdown) rows. On PostgreSQL one UPDATE … FROM (VALUES …) per
    chunk: bulk_update's CASE with a branch per row and field costs seconds per thousand rows."""
    if connection.vendor != "postgresql":
        Lead.objects.bulk_update(
            [
                Lead(pk=pk, score=score, intent=intent, score_breakdown=breakdown)
                for pk, score, intent, breakdown in rows
            ],
            ["score", "intent", "score_breakdown"],
            batch_size=CHUNK,
        )
        return
    field = Lead._meta.get_field("score_breakdown")
    table = Lead._meta.db_table
    with connection.cursor() as cursor:
        for start in range(0, len(rows), CHUNK):
            part = rows[start : start + CHUNK]
            values = ", ".join(["(%s::bigint, %s::smallint, %s::varchar, %s::jsonb)"] * len(part))
            params = [
                value
                for pk, score, intent, breakdown in part
                for value in (pk, score, intent, field.get_db_prep_value(breakdown, connection))
            ]
            cursor.execute(
                f"UPDATE {table} AS lead SET score = v.score, intent = v.intent, score_breakdown = v.breakdown "  # noqa: S608 - table name from model meta
                f"FROM (VALUES {values}) AS v(id, score, intent, breakdown) WHERE lead.id = v.id",
                params,
            )


def rescore_all(*, by=None) -> int:
    """Recompute every open lead's score (nightly and after a policy change), set-based in chunks:
    the inputs are read as columns, only changed leads are written, each with a history row."""
    policy = ScoringPolicy.current()
    reason = _("Rescored")
    rows = (
        Lead.objects.filter(status__in=OPEN_STATUSES)
        .order_by("pk")
        .values_list(
            "pk", "interaction_count", "employee_band", "decision_maker_reached", "channel__quality",
            "intent_set_by_hand", "score", "intent", "score_breakdown",
        )
    )  # fmt: skip
    changed, batch = 0, []

    def flush():
        nonlocal batch, changed
        if batch:
            with transaction.atomic():
                _write_scores(batch)
                copy_to_history(Lead, [row[0] for row in batch], reason=reason, user_id=getattr(by, "pk", None))
            changed += len(batch)
            batch = []

    for pk, interactions, band, reached, quality, by_hand, old_score, old_intent, old_breakdown in rows.iterator(
        chunk_size=5000
    ):
        score, grade, breakdown = compute_score(
            policy,
            interaction_count=interactions,
            employee_band=band,
            decision_maker_reached=reached,
            channel_quality=quality,
        )
        intent = old_intent if by_hand else grade
        if (score, intent, breakdown) != (old_score, old_intent, old_breakdown):
            batch.append((pk, score, intent, breakdown))
        if len(batch) >= CHUNK:
            flush()
    flush()
    return changed


@transaction.atomic
def save_scoring_policy(*, policy: ScoringPolicy, by) -> int:
    """Save edited weights and grade bands (managers, admins), then rescore every open lead."""
    if not is_lead_manager(by):
        raise PermissionDenied
    if policy.medium_from > policy.high_from:
        raise LeadError(_("The medium band must start at or below the high band."))
    policy.pk = 1
    policy.updated_by = by
    _audit(policy, by)
    policy.save()
    return rescore_all(by=by)


@transaction.atomic
def save_assignment_policy(*, policy: AssignmentPolicy, by) -> AssignmentPolicy:
    if not is_lead_manager(by):
        raise PermissionDenied
    policy.pk = 1
    policy.updated_by = by
    _audit(policy, by)
    policy.save()
    return policy


# --- assignment and the public pool --------------------------------------------------------


def open_lead_counts(user_ids: Iterable[int]) -> dict[int, int]:
    rows = (
        Lead.objects.filter(owner_id__in=list(user_ids), status__in=OPEN_STATUSES)
        .values("owner_id")
        .annotate(n=Count("id"))
    )
    return {row["owner_id"]: row["n"] for row in rows}


def _lock_rep(user_id: int) -> None:
    """Serialise cap checks of one rep (claims and assignments) on their user row."""
    list(get_user_model().objects.select_for_update().filter(pk=user_id).values_list("pk", flat=True))


def _take(lead_id: int, *, owner, by, reason: str, status: str = LeadStatus.WORKING) -> Lead:
    """Conditional UPDATE … WHERE owner IS NULL: of two concurrent takers only one changes the row."""
    now = timezone.now()
    taken = Lead.objects.filter(pk=lead_id, owner__isnull=True, status__in=OPEN_STATUSES).update(
        owner=owner, team_id=_team_id_of(owner), status=status, pool_reason="", assigned_at=now, updated_at=now
    )
    if not taken:
        raise AlreadyClaimedError(_("Someone else took this lead a moment ago; it is no longer in the pool."))
    lead = Lead.objects.select_related("owner", "channel").get(pk=lead_id)
    Lead.history.bulk_history_create([lead], update=True, default_user=by, default_change_reason=reason)
    return lead


def _check_cap(user, policy: AssignmentPolicy) -> None:
    _lock_rep(user.pk)
    if open_lead_counts([user.pk]).get(user.pk, 0) >= policy.open_lead_cap:
        raise CapReachedError(
            _("%(user)s already has %(cap)d open leads, the most allowed. Convert or release some first.")
            % {"user": user, "cap": policy.open_lead_cap}
        )


@transaction.atomic
def claim_lead(*, lead_id: int, by) -> Lead:
    """A rep takes a lead from the public pool, up to their cap. Race-safe: the loser gets AlreadyClaimedError."""
    if not is_sales(by):
        raise PermissionDenied
    _check_cap(by, AssignmentPolicy.current())
    return _take(lead_id, owner=by, by=by, reason=_("Claimed from the pool"))


@transaction.atomic
def release_lead(*, lead: Lead, by, reason: str = "") -> Lead:
    """The owner (or their manager) puts a lead back into the public pool."""
    if lead.owner_id is None or not can_edit_owned(by, lead):
        raise PermissionDenied
    lead.owner, lead.team, lead.pool_reason, lead.assigned_at = None, None, PoolReason.RELEASED, None
    _audit(lead, by, reason or _("Released to the pool"))
    lead.save()
    return lead


def _senior_reps():
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name=Role.SENIOR_REP.value)
        .select_related("profile")
        .order_by("pk")
        .distinct()
    )


@transaction.atomic
def assign_lead(*, lead: Lead, by=None) -> Lead:
    """Route a pool lead by its intent: high → the next senior rep (round robin, within caps);
    medium/low → nurture (stays in the pool, gets periodic touches). A lead with an owner is left alone."""
    policy = AssignmentPolicy.locked()
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if lead.owner_id is not None or lead.status not in OPEN_STATUSES:
        return lead
    if lead.intent != Intent.HIGH:
        lead.status, lead.pool_reason = LeadStatus.NURTURING, PoolReason.NURTURE
        _audit(lead, by, _("Sent to nurture"))
        lead.save(update_fields=["status", "pool_reason", "updated_at"])
        return lead
    seniors = list(_senior_reps())
    counts = open_lead_counts([u.pk for u in seniors])
    start = next((i + 1 for i, u in enumerate(seniors) if u.pk == policy.last_senior_id), 0)
    for user in seniors[start:] + seniors[:start]:
        if counts.get(user.pk, 0) >= policy.open_lead_cap:
            continue
        try:
            _check_cap(user, policy)  # re-checked under the rep's lock
        except CapReachedError:
            continue
        lead = _take(
            lead.pk, owner=user, by=by, reason=_("Assigned to a senior rep (high intent)"), status=LeadStatus.NEW
        )
        policy.last_senior = user
        policy.save(update_fields=["last_senior", "updated_at"])
        return lead
    lead.pool_reason = PoolReason.NO_CAPACITY
    _audit(lead, by, _("No senior rep below their cap"))
    lead.save(update_fields=["pool_reason", "updated_at"])
    return lead


@transaction.atomic
def reassign_lead(*, lead: Lead, to_user, by, reason: str = "") -> Lead:
    """A manager (or admin) hands a lead to one of their people, within that person's cap."""
    if not (is_lead_manager(by) and (lead.owner_id is None or can_edit_owned(by, lead))):
        raise PermissionDenied
    if not is_admin(by) and _team_id_of(to_user) not in managed_team_ids(by) and to_user.pk != by.pk:
        raise PermissionDenied
    if lead.status not in OPEN_STATUSES:
        raise LeadError(_("Only open leads can be reassigned."))
    if lead.owner_id == to_user.pk:
        return lead
    _check_cap(to_user, AssignmentPolicy.current())
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    lead.owner, lead.team_id = to_user, _team_id_of(to_user)
    lead.pool_reason, lead.assigned_at = "", timezone.now()
    if lead.status == LeadStatus.NURTURING:
        lead.status = LeadStatus.WORKING
    _audit(lead, by, reason or _("Reassigned to %(user)s") % {"user": to_user})
    lead.save()
    return lead


def recycle_pool(*, now: datetime | None = None) -> dict[str, int]:
    """Nightly: owned leads and prospect customers with no follow-up for N days go back to the
    public pool, with a reason in their history. Idempotent: a second run finds nothing to move."""
    now = now or timezone.now()
    policy = AssignmentPolicy.current()
    cutoff = now - timedelta(days=policy.recycle_days)
    reason = _("Returned to the public pool: no follow-up for %(days)d days") % {"days": policy.recycle_days}
    stale_leads = (
        Lead.objects.filter(owner__isnull=False, status__in=[LeadStatus.NEW, LeadStatus.WORKING])
        .filter(Q(last_activity_at__isnull=True) | Q(last_activity_at__lt=cutoff))
        .filter(Q(assigned_at__lt=cutoff) | Q(assigned_at__isnull=True, created_at__lt=cutoff))
    )
    moved_leads = 0
    ids = list(stale_leads.values_list("pk", flat=True))
    for start in range(0, len(ids), CHUNK):
        with transaction.atomic():
            # Re-check "still owned and stale" under the lock: a concurrent run or a claim in
            # between must not be moved (or written to history) twice.
            batch = list(
                stale_leads.select_for_update().filter(pk__in=ids[start : start + CHUNK]).values_list("pk", flat=True)
            )
            # Every row gets the same values: one UPDATE … WHERE id IN (bulk_update would send a
            # CASE with a branch per row and field), then the history rows copied in one INSERT.
            Lead.objects.filter(pk__in=batch).update(
                owner=None, team=None, pool_reason=PoolReason.NO_FOLLOWUP, status=LeadStatus.NEW,
                assigned_at=None, updated_at=now,
            )  # fmt: skip
            copy_to_history(Lead, batch, reason=reason, when=now)
            moved_leads += len(batch)
    stale_customers = Customer.objects.filter(
        owner__isnull=False, stage=CustomerStage.PROSPECT, status=Status.ACTIVE, merged_into__isnull=True
    ).filter(Q(last_followup_at__lt=cutoff) | Q(last_followup_at__isnull=True, created_at__lt=cutoff))
    moved_customers = 0
    ids = list(stale_customers.values_list("pk", flat=True))
    for start in range(0, len(ids), CHUNK):
        with transaction.atomic():
            batch = list(
                stale_customers.select_for_update()
                .filter(pk__in=ids[start : start + CHUNK])
                .values_list("pk", flat=True)
            )
            Customer.objects.filter(pk__in=batch).update(owner=None, team=None)
            copy_to_history(Customer, batch, reason=reason, when=now)
            moved_customers += len(batch)
    return {"leads": moved_leads, "customers": moved_customers}


@transaction.atomic
def claim_customer(*, customer_id: int, by) -> Customer:
    """A rep takes a prospect customer from the public pool (conditional update, race-safe)."""
    if not is_sales(by):
        raise PermissionDenied
    taken = (
        Customer.objects.filter(
            pk=customer_id, owner__isnull=True, stage=CustomerStage.PROSPECT, merged_into__isnull=True
        )
        .exclude(status=Status.BLACKLISTED)
        .update(owner=by, team_id=_team_id_of(by))
    )
    if not taken:
        raise AlreadyClaimedError(_("Someone else took this customer a moment ago; it is no longer in the pool."))
    customer = Customer.objects.get(pk=customer_id)
    Customer.history.bulk_history_create(
        [customer], update=True, default_user=by, default_change_reason=_("Claimed from the pool")
    )
    return customer


# --- nurture ------------------------------------------------------------------------------------


def nurture_period(day: date, cadence_days: int) -> date:
    """First day of the cadence period containing `day` (periods are fixed, counted from day 1)."""
    ordinal = day.toordinal()
    return date.fromordinal(ordinal - (ordinal - 1) % max(cadence_days, 1))


def _touch_body(lead: Lead, kind: str) -> str:
    return render_to_string(f"leads/touch_{kind}.txt", {"lead": lead}).strip()


def _touch_subject(lead: Lead) -> str:
    return _("News for %(company)s") % {"company": lead.company}


def send_nurture_touches(*, now: datetime | None = None) -> dict[str, int]:
    """Email and SMS touches for leads in nurture, at most one of each kind per lead and period.

    A unique (lead, kind, period) row is inserted first (conflicts are skipped), then only the
    rows this run inserted are sent: a re-run, or two workers at once, never send twice.
    """
    now = now or timezone.now()
    policy = AssignmentPolicy.current()
    period = nurture_period(timezone.localdate(now), policy.nurture_cadence_days)
    counts = {}
    with translation.override(settings.LANGUAGE_CODE):
        for kind, contact_field in ((TouchKind.EMAIL, "email"), (TouchKind.SMS, "phone")):
            # The touches and their queued emails commit together; SMS go out after the commit.
            with transaction.atomic():
                run = uuid.uuid4()
                due = (
                    Lead.objects.filter(status=LeadStatus.NURTURING)
                    .exclude(**{contact_field: ""})
                    .exclude(Exists(Touch.objects.filter(lead=OuterRef("pk"), kind=kind, period=period)))
                    .only("id", "company", "contact_name", "email", "phone", "industry")
                    .order_by("pk")
                )
                rows = []
                for lead in due.iterator(chunk_size=2000):
                    body = _touch_body(lead, kind)
                    rows.append(Touch(lead=lead, kind=kind, period=period, sent_at=now, content=body, run=run))
                    if len(rows) >= CHUNK:
                        Touch.objects.bulk_create(rows, ignore_conflicts=True)
                        rows = []
                Touch.objects.bulk_create(rows, ignore_conflicts=True)
                mine = list(Touch.objects.filter(run=run).select_related("lead"))
                if kind == TouchKind.EMAIL:
                    counts[kind] = _queue_emails(mine)
            if kind == TouchKind.SMS:  # after the commit: a failed gateway call is not sent again
                counts[kind] = sms.get_backend().send_messages([(t.lead.phone, t.content) for t in mine]) if mine else 0
    return counts


def _queue_emails(touches: list[Touch]) -> int:
    """To the outbox (crm.outbox: its drain sends 5,000 a minute and retries while the mail server
    is down), keyed by touch so that nothing is queued twice."""
    messages = [(f"nurture:{t.pk}", _touch_subject(t.lead), t.content, [t.lead.email]) for t in touches]
    outbox.queue_emails(messages, deliver_now=False)
    return len(touches)


# --- weekly high-potential list -------------------------------------------------------------

HIGH_POTENTIAL_SIZE = 100


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def high_potential_rows() -> list[dict]:
    policy = ScoringPolicy.current()
    leads = (
        Lead.objects.filter(status__in=OPEN_STATUSES)
        .filter(Q(intent=Intent.HIGH) | Q(score__gte=policy.high_from))
        .select_related("owner", "channel")
        .order_by("-score", "-id")[:HIGH_POTENTIAL_SIZE]
    )
    return [
        {
            "id": lead.pk,
            "company": lead.company,
            "score": lead.score,
            "intent": lead.intent,
            "owner": (lead.owner.get_full_name() or lead.owner.get_username()) if lead.owner else "",
            "owner_id": lead.owner_id,
            "team_id": lead.team_id,
            "channel": lead.channel.name if lead.channel else "",
            "last_activity_at": lead.last_activity_at.isoformat() if lead.last_activity_at else None,
        }
        for lead in leads
    ]


def rows_for_manager(rows: list[dict], user) -> list[dict]:
    """The rows a manager may see: pool leads, their teams' and their own."""
    if is_admin(user):
        return rows
    teams = set(managed_team_ids(user))
    return [r for r in rows if r["owner_id"] is None or r["owner_id"] == user.pk or r["team_id"] in teams]


def build_high_potential_list(*, today: date | None = None, send: bool = True) -> HighPotentialList:
    """Every Monday: snapshot the top open leads and email each manager the rows they may see.

    One list per week (unique): a second run that week returns the existing list and sends nothing."""
    week = _week_start(today or timezone.localdate())
    try:
        with transaction.atomic():
            snapshot = HighPotentialList.objects.create(
                week=week, generated_at=timezone.now(), rows=high_potential_rows()
            )
            if send:
                # With the list, through the outbox: delivered after the commit, retried while the
                # mail server is down (a re-run finds the week's list and sends nothing again).
                _queue_high_potential_emails(snapshot)
    except IntegrityError:
        return HighPotentialList.objects.get(week=week)
    return snapshot


def _queue_high_potential_emails(snapshot: HighPotentialList) -> None:
    managers = (
        get_user_model()
        .objects.filter(is_active=True, groups__name=Role.MANAGER.value)
        .exclude(email="")
        .distinct()
        .order_by("pk")
    )
    messages, sent_to = [], []
    week = snapshot.week
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("High-potential leads, week of %(week)s") % {"week": week.isoformat()}
        for manager in managers:
            rows = rows_for_manager(snapshot.rows, manager)
            body = render_to_string("leads/high_potential_email.txt", {"rows": rows, "week": week, "manager": manager})
            messages.append((f"high-potential:{week.isoformat()}:{manager.pk}", subject, body, [manager.email]))
            sent_to.append(manager.get_username())
    outbox.queue_emails(messages)
    snapshot.emailed_to = sent_to
    snapshot.save(update_fields=["emailed_to"])


# --- opportunities ------------------------------------------------------------------------------

# The one table of allowed stage moves (django-oscar style). Won is final; lost can be reopened.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    OppStage.PROSPECT: (OppStage.INTENT, OppStage.LOST),
    OppStage.INTENT: (OppStage.DEMO, OppStage.PROSPECT, OppStage.LOST),
    OppStage.DEMO: (OppStage.NEGOTIATION, OppStage.INTENT, OppStage.LOST),
    OppStage.NEGOTIATION: (OppStage.WON, OppStage.DEMO, OppStage.LOST),
    OppStage.WON: (),
    OppStage.LOST: (OppStage.PROSPECT,),
}


def allowed_stages(opportunity: Opportunity) -> tuple[str, ...]:
    return TRANSITIONS.get(opportunity.stage, ())


def _refuse_blacklisted(customer: Customer) -> None:
    if customer.status == Status.BLACKLISTED:
        raise BlacklistedCustomerError(
            _("%(customer)s is blacklisted: no new opportunity can be opened for it.") % {"customer": customer}
        )


@transaction.atomic
def create_opportunity(
    *,
    customer: Customer,
    owner,
    by,
    name: str,
    amount: Decimal | int = 0,
    product_line: str = "",
    expected_close_date: date | None = None,
    lead: Lead | None = None,
) -> Opportunity:
    """Open an opportunity (stage prospect) for a customer. Refused for a blacklisted customer."""
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    _refuse_blacklisted(customer)
    now = timezone.now()
    opportunity = Opportunity(
        customer=customer,
        lead=lead,
        owner=owner,
        team_id=_team_id_of(owner),
        name=(name or "").strip() or customer.name,
        amount=Decimal(amount or 0),
        product_line=product_line,
        expected_close_date=expected_close_date,
        stage=OppStage.PROSPECT,
        probability=DEFAULT_PROBABILITY[OppStage.PROSPECT],
        created_by=by,
        created_at=now,
    )
    _audit(opportunity, by, _("Opportunity opened"))
    opportunity.save()
    OpportunityStageChange.objects.create(
        opportunity=opportunity, from_stage="", to_stage=opportunity.stage, at=now, by=by
    )
    return opportunity


@transaction.atomic
def set_opportunity_stage(
    *, opportunity: Opportunity, to_stage: str, by, lost_reason: str = "", at: datetime | None = None
) -> Opportunity:
    """The one door for stage moves: checks the transitions table, records the move with its time;
    won/lost close the opportunity (closed_at), lost needs a reason, reopening clears both."""
    if not can_edit_owned(by, opportunity):
        raise PermissionDenied
    opportunity = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
    current = opportunity.stage
    if to_stage not in TRANSITIONS.get(current, ()):
        raise StageTransitionError(
            _("An opportunity cannot move from “%(from)s” to “%(to)s”.")
            % {"from": OppStage(current).label, "to": OppStage(to_stage).label if to_stage in OppStage else to_stage}
        )
    lost_reason = (lost_reason or "").strip()
    if to_stage == OppStage.LOST and not lost_reason:
        raise StageTransitionError(_("Say why the opportunity was lost."))
    at = at or timezone.now()
    opportunity.stage = to_stage
    opportunity.probability = DEFAULT_PROBABILITY[to_stage]
    if to_stage in (OppStage.WON, OppStage.LOST):
        opportunity.closed_at = at
    else:
        opportunity.closed_at = None
    opportunity.lost_reason = lost_reason if to_stage == OppStage.LOST else ""
    _audit(opportunity, by, _("Stage: %(from)s → %(to)s") % {"from": current, "to": to_stage})
    opportunity.save()
    OpportunityStageChange.objects.create(opportunity=opportunity, from_stage=current, to_stage=to_stage, at=at, by=by)
    if to_stage == OppStage.WON:
        record_won_deal(customer=opportunity.customer, by=by)
    return opportunity


@transaction.atomic
def update_opportunity(*, opportunity: Opportunity, by) -> Opportunity:
    """Save edits of amount, product line, probability, expected close date (not the stage)."""
    if not can_edit_owned(by, opportunity):
        raise PermissionDenied
    stage = Opportunity.objects.filter(pk=opportunity.pk).values_list("stage", flat=True).get()
    opportunity.stage = stage  # the stage only moves through set_opportunity_stage
    _audit(opportunity, by)
    opportunity.save()
    return opportunity


# --- conversion ---------------------------------------------------------------------------------


@dataclass
class Conversion:
    customer: Customer
    opportunity: Opportunity
    attached: bool  # True: the lead matched an existing customer


def _existing_customer(lead: Lead) -> Customer | None:
    check = find_duplicates(name=lead.company, credit_code=None)
    if check.same_name:
        return check.same_name[0]
    if lead.phone:
        contact = Contact.objects.filter(phone=lead.phone, customer__merged_into__isnull=True).select_related(
            "customer"
        )
        contact = contact.first()
        if contact:
            return contact.customer
    return None


def _source_channel(lead: Lead) -> str:
    code = lead.channel.code if lead.channel_id else ""
    return code if code in SourceChannel.values else ""


@transaction.atomic
def convert_lead(
    *,
    lead: Lead,
    by,
    opportunity_name: str = "",
    amount: Decimal | int = 0,
    product_line: str = "",
    expected_close_date: date | None = None,
) -> Conversion:
    """Turn an owned lead into a customer with its contact (or attach it to the existing customer
    it duplicates) plus an opportunity. Converting twice is refused; so is a blacklisted customer."""
    lead = Lead.objects.select_for_update(of=("self",)).select_related("channel", "owner").get(pk=lead.pk)
    if lead.status == LeadStatus.CONVERTED or lead.converted_customer_id:
        raise AlreadyConvertedError(_("This lead has already been converted."))
    if lead.owner_id is None:
        raise LeadError(_("Claim the lead from the pool before converting it."))
    if not can_edit_owned(by, lead):
        raise PermissionDenied
    if lead.status == LeadStatus.DISQUALIFIED:
        raise LeadError(_("A disqualified lead cannot be converted."))
    contact = Contact(
        name=lead.contact_name or lead.company[:60],
        title=lead.title,
        phone=lead.phone,
        email=lead.email,
        role=ContactRole.DECISION_MAKER if lead.decision_maker_reached else ContactRole.USER,
    )
    customer = _existing_customer(lead)
    attached = customer is not None
    if attached:
        _refuse_blacklisted(customer)
        known = customer.contacts.filter(Q(name=contact.name) | (Q(phone=lead.phone) if lead.phone else Q(pk__in=[])))
        if not known.exists():
            contact.customer = customer
            save_contact(contact=contact, by=by)
    else:
        contact.is_primary = True
        customer = create_customer(
            customer=Customer(
                name=lead.company,
                industry=lead.industry,
                employee_band=lead.employee_band,
                province=lead.province,
                city=lead.city,
                needs=lead.needs,
                source_channel=_source_channel(lead),
                owner=lead.owner,
                team_id=lead.team_id,
                last_followup_at=lead.last_activity_at,
            ),
            contacts=[contact],
            by=by,
            tags=list(lead.tags.all()),
        )
    opportunity = create_opportunity(
        customer=customer,
        owner=lead.owner,
        by=by,
        name=opportunity_name or lead.company,
        amount=amount,
        product_line=product_line,
        expected_close_date=expected_close_date,
        lead=lead,
    )
    lead.status = LeadStatus.CONVERTED
    lead.converted_customer, lead.converted_opportunity = customer, opportunity
    lead.converted_at = timezone.now()
    _audit(lead, by, _("Converted"))
    lead.save()
    return Conversion(customer=customer, opportunity=opportunity, attached=attached)


@transaction.atomic
def disqualify_lead(*, lead: Lead, by, reason: str = "") -> Lead:
    if not can_edit_owned(by, lead) and not (lead.owner_id is None and is_lead_manager(by)):
        raise PermissionDenied
    if lead.status == LeadStatus.CONVERTED:
        raise AlreadyConvertedError(_("This lead has already been converted."))
    lead.status = LeadStatus.DISQUALIFIED
    _audit(lead, by, reason or _("Disqualified"))
    lead.save()
    return lead


# --- public web-to-lead form ----------------------------------------------------------------

WEB_CHANNEL = "website"


def web_channel():
    from .models import Channel

    channel, _created = Channel.objects.get_or_create(
        code=WEB_CHANNEL, defaults={"name": str(SourceChannel.WEBSITE.label), "quality": 60}
    )
    return channel


@transaction.atomic
def capture_web_lead(*, data: dict) -> Lead:
    """A visitor's enquiry from the public form: lands in the pool with the website channel, is
    scored and routed at once. A repeat enquiry of an open lead counts as one more interaction."""
    channel = web_channel()
    duplicates = find_lead_duplicates(company=data["company"], phone=data.get("phone", ""))
    if duplicates.leads:
        lead = Lead.objects.select_for_update(of=("self",)).select_related("channel").get(pk=duplicates.leads[0].pk)
        lead.interaction_count += 1
        lead.decision_maker_reached = lead.decision_maker_reached or bool(data.get("decision_maker"))
        if data.get("needs"):
            lead.needs = f"{lead.needs}\n\n{data['needs']}".strip()
        _apply_score(lead, ScoringPolicy.current())
        _audit(lead, None, _("Enquired again through the web form"))
        lead.save()
        return lead
    lead = Lead(
        company=data["company"],
        contact_name=data.get("contact_name", ""),
        title=data.get("title", ""),
        phone=data.get("phone", ""),
        email=data.get("email", ""),
        industry=data.get("industry", ""),
        employee_band=data.get("employee_band", ""),
        province=data.get("province", ""),
        city=data.get("city", ""),
        needs=data.get("needs", ""),
        decision_maker_reached=bool(data.get("decision_maker")),
        interaction_count=1,  # the enquiry itself
        channel=channel,
        pool_reason=PoolReason.WEB_FORM,
    )
    lead = create_lead(lead=lead, allow_duplicate=True)
    return assign_lead(lead=lead)
