"""Business actions of follow-ups and the SOP engine (DOMAIN §4).

Every write goes through one of these keyword-only functions: transactional, audited
(django-simple-history with the acting user and a reason), called alike by views, Celery tasks
and tests. Jobs are idempotent: a unique key or a conditional UPDATE claims each piece of work,
so a retried job changes nothing twice.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from simple_history.utils import bulk_update_with_history

from accounts.models import Contact, Customer, Stage, Status
from accounts.selectors import assignable_owners
from accounts.services.customers import refresh_completeness
from accounts.services.lifecycle import set_stage
from crm import outbox
from crm.access import can_edit_owned, has_role, is_admin
from crm.models import Profile
from crm.roles import Role
from crm.templatetags.crm_tags import person

from . import channels
from .dormancy import INTENT_STAGES, reactivate
from .models import (
    Complaint,
    ComplaintKind,
    ComplaintStatus,
    DailyReminder,
    FollowUp,
    FollowupPolicy,
    Method,
    Notification,
    NpsResponse,
    NpsSurvey,
    OffsetUnit,
    Responsible,
    SopStep,
    SopTemplate,
    Task,
    TaskOrigin,
    TaskStatus,
)
from .selectors import followup_counts, open_task_counts

logger = logging.getLogger(__name__)
CHUNK = 1000


class FollowupError(Exception):
    """A business rule refused the action; str(error) is the message for the user."""


class NpsTokenError(FollowupError):
    """A wrong, used or expired survey link; `code` is "invalid", "used" or "expired"."""

    def __init__(self, message, code: str = "invalid"):
        super().__init__(message)
        self.code = code


def _audit(obj, by, reason: str = "") -> None:
    obj._history_user = by
    obj._change_reason = reason or None


def _team_id_of(user) -> int | None:
    profile = getattr(user, "profile", None) if user is not None else None
    return profile.team_id if profile else None


def is_manager(user) -> bool:
    return is_admin(user) or has_role(user, Role.MANAGER)


# --- notifications ---------------------------------------------------------------------------


def unread_cache_key(user) -> str:
    joined = getattr(user, "date_joined", None)
    return f"followups:unread:{user.pk}:{int(joined.timestamp()) if joined else 0}"


def _forget_unread(users) -> None:
    keys = [unread_cache_key(u) for u in users]
    transaction.on_commit(lambda: cache.delete_many(keys))
    cache.delete_many(keys)


def notify(*, users, verb: str, url: str = "", email: bool = True, event: str = "", team_ids=None) -> int:
    """An in-app notice for each user (deduplicated) and, when asked, an email after commit.

    With an `event` (channels.TASKS, SLA or REMINDERS) the notice also goes to the group robots
    (WeCom, DingTalk) of `team_ids`, by default the recipients' teams, that take that event.
    """
    recipients = {u.pk: u for u in users if u is not None and u.is_active}
    Notification.objects.bulk_create(
        [Notification(user=u, verb=verb[:300], target_url=url[:300]) for u in recipients.values()]
    )
    _forget_unread(recipients.values())
    link = url if not url or url.startswith("http") else public_base_url().rstrip("/") + url
    body = verb + ("\n\n" + link if link else "")
    if event and recipients:
        if team_ids is None:
            team_ids = Profile.objects.filter(user_id__in=list(recipients)).values_list("team_id", flat=True)
        names = "、".join(person(u) for u in recipients.values())
        channels.enqueue(event=event, team_ids=list(team_ids), text=f"{verb} → {names}" + body[len(verb) :])
    addresses = [u.email for u in recipients.values() if u.email]
    if email and addresses:
        # Through the outbox, in the caller's transaction: a mail outage delays it, never loses it.
        outbox.queue_emails([(f"notice:{uuid.uuid4().hex}", verb[:150], body, addresses)])
    return len(recipients)


@transaction.atomic
def mark_notifications_read(*, user, ids=None) -> int:
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    count = qs.update(read_at=timezone.now())
    _forget_unread([user])
    return count


# --- SOP templates ----------------------------------------------------------------------------

# DOMAIN §4 defaults: (action, offset value, unit, responsible, automatic email subject, body).
DEFAULT_SOPS: dict[str, tuple[str, list[tuple]]] = {
    Stage.PROSPECT: (
        "Prospect SOP",
        [
            ("First contact", 24, OffsetUnit.HOURS, Responsible.OWNER, "", ""),
            ("Second contact", 3, OffsetUnit.DAYS, Responsible.OWNER, "", ""),
        ],
    ),
    Stage.INTENT: (
        "Intent SOP",
        [
            ("Product demo", 3, OffsetUnit.DAYS, Responsible.OWNER, "", ""),
            ("Share a customer case", 7, OffsetUnit.DAYS, Responsible.OWNER, "", ""),
            ("Technical Q&A", 10, OffsetUnit.DAYS, Responsible.OWNER, "", ""),
        ],
    ),
    Stage.WON: (
        "Won SOP",
        [
            (
                "Service kick-off letter",
                2,
                OffsetUnit.HOURS,
                Responsible.OWNER,
                "Welcome aboard: your service kick-off",
                "Thank you for choosing us. Your account team will contact you shortly to plan the kick-off.",
            ),
            ("First needs survey", 48, OffsetUnit.HOURS, Responsible.OWNER, "", ""),
            ("Satisfaction visit", 30, OffsetUnit.DAYS, Responsible.OWNER, "", ""),
            ("New-feature notice", 90, OffsetUnit.DAYS, Responsible.OWNER, "", ""),
        ],
    ),
}


@transaction.atomic
def ensure_default_sops() -> int:
    """Create the default SOP of each stage that has none yet (idempotent; edited SOPs stay)."""
    created = 0
    with translation.override(settings.LANGUAGE_CODE):
        for stage, (name, steps) in DEFAULT_SOPS.items():
            template, was_created = SopTemplate.objects.get_or_create(stage=stage, defaults={"name": _(name)})
            if not was_created:
                continue
            created += 1
            for order, (action, value, unit, responsible, subject, body) in enumerate(steps, start=1):
                SopStep.objects.create(
                    template=template,
                    order=order,
                    action=_(action),
                    offset_value=value,
                    offset_unit=unit,
                    responsible=responsible,
                    email_subject=_(subject) if subject else "",
                    email_body=_(body) if body else "",
                )
    return created


@transaction.atomic
def save_sop(*, template: SopTemplate, steps: list[SopStep], delete: list[SopStep] = (), by) -> SopTemplate:
    """A manager's edit of one stage's SOP; the next stage change uses the saved steps."""
    if not is_manager(by):
        raise PermissionDenied
    template.updated_by = by
    _audit(template, by, _("SOP edited"))
    template.save()
    for step in delete:
        if step.pk and step.template_id == template.pk:
            _audit(step, by, _("SOP step removed"))
            step.delete()  # tasks keep their title; their sop_step link becomes empty
    for step in steps:
        step.template = template
        _audit(step, by, _("SOP edited"))
        step.save()
    return template


def pick_responsible(responsible: str, *, owner, manager, director):
    """Who does a step or cadence action (users or ids): the director (the manager of the team
    above), the team manager or the account owner, each falling back to the next one there is."""
    if responsible == Responsible.DIRECTOR:
        return director or manager or owner
    if responsible == Responsible.MANAGER:
        return manager or owner
    return owner or manager


def _responsible_user(step: SopStep, customer: Customer):
    team = customer.team
    manager = team.manager if team is not None else None
    director = team.parent.manager if team is not None and team.parent_id else None
    return pick_responsible(step.responsible, owner=customer.owner, manager=manager, director=director)


def stage_entry_of(customer: Customer, stage: str) -> int | None:
    """The history row of the customer's latest move into `stage` (the key of that stage entry)."""
    rows = list(customer.history.order_by("-history_id").values_list("history_id", "stage")[:500])
    entry = None
    for history_id, row_stage in rows:
        if row_stage != stage:
            break
        entry = history_id
    return entry


@transaction.atomic
def create_sop_tasks(
    *, customer: Customer, stage: str, stage_entry: int | None, by=None, at: datetime | None = None
) -> list[Task]:
    """Create the SOP tasks of `stage` for this entry into it, exactly once.

    The unique constraint (customer, step, stage entry) with get_or_create makes a repeated call,
    a doubled save or a retried job a no-op. Open SOP tasks of any other stage are superseded.
    """
    if stage_entry is None:
        stage_entry = stage_entry_of(customer, stage)
    if at is None:
        entered = customer.history.filter(history_id=stage_entry).values_list("history_date", flat=True).first()
        at = entered or timezone.now()
    customer = Customer.objects.select_related("owner", "team__manager", "team__parent__manager").get(pk=customer.pk)
    left = list(
        Task.objects.filter(customer=customer, origin=TaskOrigin.SOP, status=TaskStatus.OPEN).exclude(stage=stage)
    )
    for task in left:
        task.status = TaskStatus.SUPERSEDED
    if left:
        bulk_update_with_history(
            left,
            Task,
            ["status"],
            default_user=by,
            default_change_reason=_("Superseded: the customer moved to another stage"),
        )
    template = SopTemplate.objects.filter(stage=stage, active=True).first()
    if template is None:
        return []
    created = []
    for step in template.steps.filter(active=True).order_by("order", "id"):
        assignee = _responsible_user(step, customer)
        if assignee is None:
            continue
        task = Task(
            customer=customer,
            sop_step=step,
            stage_entry=stage_entry,
            title=step.action,
            assignee=assignee,
            team_id=_team_id_of(assignee) or customer.team_id,
            due_at=at + step.offset,
            origin=TaskOrigin.SOP,
            stage=stage,
            created_by=by,
        )
        if Task.objects.filter(customer=customer, sop_step=step, stage_entry=stage_entry).exists():
            continue
        try:
            with transaction.atomic():
                _audit(task, by, _("SOP step"))
                task.save()
        except IntegrityError:  # a concurrent run created it first
            continue
        created.append(task)
        if step.email_subject:
            send_sop_email(task_id=task.pk)  # queued with the task, in its transaction
        if by is not None and assignee.pk != by.pk:
            notify(
                users=[assignee],
                verb=_("New task: %(title)s") % {"title": task.title},
                url=_my_day_url(),
                event=channels.TASKS,
            )
    return created


def on_stage_change(customer, old, new, by) -> None:
    """The lifecycle hook (registered in apps.py): the new stage's SOP tasks, once per entry."""
    create_sop_tasks(customer=customer, stage=new, stage_entry=getattr(customer, "stage_entry_id", None), by=by)


def send_sop_email(*, task_id: int) -> bool:
    """Queue a step's automatic email to the customer's primary (or first) contact, at most once.

    `email_sent_at` marks it handed to the outbox (crm.outbox), which delivers it after the commit
    and retries while the mail server is down."""
    task = Task.objects.select_related("sop_step", "customer").filter(pk=task_id, email_sent_at__isnull=True).first()
    if task is None or task.sop_step is None or not task.sop_step.email_subject:
        return False
    contact = Contact.objects.filter(customer=task.customer).exclude(email="").order_by("-is_primary", "id").first()
    if contact is None:
        return False
    with transaction.atomic():
        if not Task.objects.filter(pk=task.pk, email_sent_at__isnull=True).update(email_sent_at=timezone.now()):
            return False  # another run claimed it
        outbox.queue_emails(
            [(f"sop-email:{task.pk}", task.sop_step.email_subject, task.sop_step.email_body, [contact.email])]
        )
    return True


def _my_day_url() -> str:
    return reverse("followups:my_day")


# --- tasks ------------------------------------------------------------------------------------


def can_edit_task(user, task: Task) -> bool:
    return can_edit_owned(user, task, owner_field="assignee")


@transaction.atomic
def create_task(
    *,
    customer: Customer,
    assignee,
    title: str,
    due_at: datetime,
    by,
    notes: str = "",
    origin: str = TaskOrigin.MANUAL,
) -> Task:
    """A manual task: `by` must be able to edit the customer and to give work to `assignee`."""
    if not can_edit_owned(by, customer) or not assignable_owners(by).filter(pk=assignee.pk).exists():
        raise PermissionDenied
    task = Task(
        customer=customer,
        assignee=assignee,
        team_id=_team_id_of(assignee),
        title=title.strip(),
        notes=notes,
        due_at=due_at,
        origin=origin,
        created_by=by,
    )
    _audit(task, by, _("Task created"))
    task.save()
    if assignee.pk != by.pk:
        notify(
            users=[assignee],
            verb=_("New task: %(title)s") % {"title": task.title},
            url=_my_day_url(),
            event=channels.TASKS,
        )
    return task


@transaction.atomic
def reassign_task(*, task: Task, assignee, by) -> Task:
    if not can_edit_task(by, task) or not is_manager(by):
        raise PermissionDenied
    if not assignable_owners(by).filter(pk=assignee.pk).exists():
        raise PermissionDenied
    task = Task.objects.select_for_update().get(pk=task.pk)
    if not task.is_open:
        raise FollowupError(_("Only open tasks can be reassigned."))
    task.assignee, task.team_id = assignee, _team_id_of(assignee)
    _audit(task, by, _("Task reassigned"))
    task.save()
    notify(
        users=[assignee],
        verb=_("Task assigned to you: %(title)s") % {"title": task.title},
        url=_my_day_url(),
        event=channels.TASKS,
    )
    return task


@transaction.atomic
def complete_task(*, task: Task, by, followup: FollowUp | None = None) -> Task:
    """Close an open task, linking the follow-up record that did the work."""
    if not can_edit_task(by, task) and not (followup is not None and can_edit_owned(by, task.customer)):
        raise PermissionDenied
    task = Task.objects.select_for_update().get(pk=task.pk)
    if not task.is_open:
        raise FollowupError(_("This task is already closed."))
    task.status, task.completed_at, task.completed_by = TaskStatus.DONE, timezone.now(), followup
    _audit(task, by, _("Task completed"))
    task.save()
    return task


@transaction.atomic
def cancel_task(*, task: Task, by) -> Task:
    if not can_edit_task(by, task):
        raise PermissionDenied
    task = Task.objects.select_for_update().get(pk=task.pk)
    if not task.is_open:
        raise FollowupError(_("This task is already closed."))
    task.status = TaskStatus.CANCELLED
    _audit(task, by, _("Task cancelled"))
    task.save()
    return task


# --- follow-up records ------------------------------------------------------------------------


@dataclass
class Checkin:
    lat: Decimal
    lng: Decimal
    accuracy: float | None = None
    at: datetime | None = None


@transaction.atomic
def log_followup(
    *,
    customer: Customer,
    by,
    method: str,
    occurred_at: datetime,
    summary: str,
    feedback: str = "",
    contact: Contact | None = None,
    next_followup_at: datetime | None = None,
    next_step: str = "",
    stage: str = "",
    task: Task | None = None,
    checkin: Checkin | None = None,
) -> FollowUp:
    """Record a follow-up (跟进记录); keep the customer's last/next follow-up and next step current.

    Logged more than the policy's hours (24) after the contact → marked late. An optional stage
    change goes through the lifecycle door (its SOP tasks follow); an optional open task of the
    same customer is completed by this record. The customer's fields move only forward: a
    back-dated record never overwrites a newer last follow-up (conditional UPDATE).
    """
    if not can_edit_owned(by, customer):
        raise PermissionDenied
    now = timezone.now()
    if occurred_at > now + timedelta(minutes=5):
        raise FollowupError(_("A follow-up cannot happen in the future."))
    if contact is not None and contact.customer_id != customer.pk:
        raise FollowupError(_("The contact does not belong to this customer."))
    if task is not None and (task.customer_id != customer.pk or not task.is_open):
        raise FollowupError(_("This task is not open for this customer."))
    if checkin is not None and method != Method.VISIT:
        raise FollowupError(_("Only an on-site visit can be checked in."))
    policy = FollowupPolicy.current()
    stage_from = stage_to = ""
    if stage and stage != customer.stage:
        stage_from = Customer.objects.filter(pk=customer.pk).values_list("stage", flat=True).get()
        set_stage(customer=customer, stage=stage, by=by, reason=_("Stage changed in a follow-up"))
        stage_to = stage
    followup = FollowUp(
        customer=customer,
        contact=contact,
        author=by,
        method=method,
        occurred_at=occurred_at,
        logged_at=now,
        is_late=now - occurred_at > timedelta(hours=policy.late_after_hours),
        summary=summary.strip(),
        feedback=feedback.strip(),
        next_followup_at=next_followup_at,
        next_step=next_step.strip(),
        stage_from=stage_from,
        stage_to=stage_to,
        task=task,
    )
    if checkin is not None:
        followup.checkin_lat, followup.checkin_lng = checkin.lat, checkin.lng
        followup.checkin_accuracy, followup.checkin_at = checkin.accuracy, checkin.at or now
    _audit(followup, by, _("Follow-up logged"))
    followup.save()
    newer = Q(last_followup_at__isnull=True) | Q(last_followup_at__lte=occurred_at)
    changes = {"last_followup_at": occurred_at, "updated_at": now}
    if next_followup_at is not None:
        changes["next_followup_at"] = next_followup_at
    if followup.next_step:
        changes["next_step"] = followup.next_step[:200]
    Customer.objects.filter(newer, pk=customer.pk).update(**changes)
    if stage_to in INTENT_STAGES:  # intent is back: a dormant customer is active again
        reactivate(
            customer_ids=[customer.pk],
            reason=_("Active again: stage moved to %(stage)s") % {"stage": Stage(stage_to).label},
        )
    refresh_completeness([customer.pk])
    if task is not None:
        complete_task(task=task, by=by, followup=followup)
    return followup


# --- complaints and SLA -----------------------------------------------------------------------


def _managers_for(customer: Customer) -> list:
    """The customer's team manager and the director above (the parent team's manager)."""
    team = customer.team
    people = []
    if team is not None:
        if team.manager_id:
            people.append(team.manager)
        if team.parent_id and team.parent.manager_id:
            people.append(team.parent.manager)
    return people


@transaction.atomic
def open_complaint(
    *, customer: Customer, by, description: str, kind: str = ComplaintKind.COMPLAINT, severity: str = "medium"
) -> Complaint:
    """Open a complaint or termination intent with its SLA clock; the manager gets a response task."""
    if not can_edit_owned(by, customer):
        raise PermissionDenied
    customer = Customer.objects.select_related("owner", "team__manager", "team__parent__manager").get(pk=customer.pk)
    policy = FollowupPolicy.current()
    now = timezone.now()
    complaint = Complaint(
        customer=customer,
        kind=kind,
        severity=severity,
        description=description.strip(),
        opened_at=now,
        opened_by=by,
        response_due_at=now + timedelta(hours=policy.complaint_response_hours),
        resolution_due_at=now + timedelta(hours=policy.complaint_resolution_hours),
    )
    _audit(complaint, by, _("Complaint opened"))
    complaint.save()
    team = customer.team
    responder = (team.manager if team is not None else None) or customer.owner or by
    task = Task(
        customer=customer,
        assignee=responder,
        team_id=customer.team_id,
        title=_("Respond to the %(kind)s of %(customer)s")
        % {"kind": complaint.get_kind_display(), "customer": customer},
        due_at=complaint.response_due_at,
        origin=TaskOrigin.COMPLAINT,
        dedupe_key=f"complaint:{complaint.pk}:respond",
        created_by=by,
    )
    _audit(task, by, _("Complaint opened"))
    task.save()
    notify(
        users=[responder],
        verb=_("New %(kind)s from %(customer)s: respond within %(hours)d h")
        % {"kind": complaint.get_kind_display(), "customer": customer, "hours": policy.complaint_response_hours},
        url=complaint.get_absolute_url(),
        event=channels.SLA,
        team_ids=[customer.team_id],
    )
    return complaint


def can_handle_complaint(user, complaint: Complaint) -> bool:
    """Managers of the customer's team (and admins) respond to and resolve complaints."""
    return is_manager(user) and can_edit_owned(user, complaint.customer)


def _close_complaint_task(complaint: Complaint, by) -> None:
    task = Task.objects.filter(dedupe_key=f"complaint:{complaint.pk}:respond", status=TaskStatus.OPEN).first()
    if task is not None:
        task.status, task.completed_at = TaskStatus.DONE, timezone.now()
        _audit(task, by, _("Complaint answered"))
        task.save()


@transaction.atomic
def respond_to_complaint(*, complaint: Complaint, by, response: str) -> Complaint:
    if not can_handle_complaint(by, complaint):
        raise PermissionDenied
    complaint = Complaint.objects.select_for_update().get(pk=complaint.pk)
    if complaint.status == ComplaintStatus.RESOLVED:
        raise FollowupError(_("This case is already resolved."))
    complaint.response = response.strip()
    if complaint.responded_at is None:
        complaint.responded_at, complaint.responded_by = timezone.now(), by
    complaint.status = ComplaintStatus.RESPONDED
    _audit(complaint, by, _("Complaint answered"))
    complaint.save()
    _close_complaint_task(complaint, by)
    return complaint


@transaction.atomic
def resolve_complaint(*, complaint: Complaint, by, resolution: str) -> Complaint:
    if not can_handle_complaint(by, complaint):
        raise PermissionDenied
    if not resolution.strip():
        raise FollowupError(_("Write the resolution note."))
    complaint = Complaint.objects.select_for_update().get(pk=complaint.pk)
    if complaint.status == ComplaintStatus.RESOLVED:
        raise FollowupError(_("This case is already resolved."))
    now = timezone.now()
    if complaint.responded_at is None:
        complaint.responded_at, complaint.responded_by = now, by
    complaint.resolved_at, complaint.resolved_by = now, by
    complaint.resolution, complaint.status = resolution.strip(), ComplaintStatus.RESOLVED
    _audit(complaint, by, _("Complaint resolved"))
    complaint.save()
    _close_complaint_task(complaint, by)
    return complaint


def _escalate(complaint: Complaint, what: str) -> None:
    customer = complaint.customer
    notify(
        users=_managers_for(customer),
        verb=_("SLA breached (%(what)s): %(kind)s of %(customer)s")
        % {"what": what, "kind": complaint.get_kind_display(), "customer": customer},
        url=complaint.get_absolute_url(),
        event=channels.SLA,
        team_ids=[customer.team_id],
    )
    if not customer.needs_attention:
        customer.needs_attention = True
        _audit(customer, None, _("Complaint SLA breached"))
        customer.save(update_fields=["needs_attention", "updated_at"])


@transaction.atomic
def check_sla(*, now: datetime | None = None) -> dict:
    """Escalate each breached SLA once: notify the team manager and the director, flag the customer.

    Each breach is claimed with a conditional UPDATE (…escalated_at IS NULL), so overlapping or
    repeated runs escalate it exactly once.
    """
    now = now or timezone.now()
    counts = {"response": 0, "resolution": 0}
    related = ("customer__team__manager", "customer__team__parent__manager")
    response_late = Complaint.objects.filter(
        resolved_at__isnull=True, responded_at__isnull=True, response_due_at__lt=now, response_escalated_at__isnull=True
    )
    for complaint in response_late.select_related(*related):
        if Complaint.objects.filter(pk=complaint.pk, response_escalated_at__isnull=True).update(
            response_escalated_at=now
        ):
            _escalate(complaint, _("response"))
            counts["response"] += 1
    resolution_late = Complaint.objects.filter(
        resolved_at__isnull=True, resolution_due_at__lt=now, resolution_escalated_at__isnull=True
    )
    for complaint in resolution_late.select_related(*related):
        if Complaint.objects.filter(pk=complaint.pk, resolution_escalated_at__isnull=True).update(
            resolution_escalated_at=now
        ):
            _escalate(complaint, _("solution"))
            counts["resolution"] += 1
    return counts


# --- NPS --------------------------------------------------------------------------------------


def period_of(moment: datetime) -> str:
    local = timezone.localtime(moment)
    return f"{local.year}Q{(local.month - 1) // 3 + 1}"


def nps_score(scores) -> float | None:
    """NPS = % promoters (9–10) − % detractors (0–6), one decimal; None without answers."""
    scores = list(scores)
    if not scores:
        return None
    promoters = sum(1 for s in scores if s >= 9)
    detractors = sum(1 for s in scores if s <= 6)
    return round((promoters - detractors) * 100 / len(scores), 1)


def nps_from_counts(total: int, promoters: int, detractors: int) -> float | None:
    return round((promoters - detractors) * 100 / total, 1) if total else None


def public_base_url() -> str:
    return settings.CRM_PUBLIC_URL


@transaction.atomic
def send_nps_surveys(*, now: datetime | None = None, base_url: str = "") -> int:
    """Quarterly: one tokenized survey per won, active customer with a contact email, per quarter.

    The (customer, period) unique constraint keeps a re-run from sending a second survey.
    """
    now = now or timezone.now()
    period = period_of(now)
    valid = timedelta(days=FollowupPolicy.current().nps_valid_days)
    base = (base_url or public_base_url()).rstrip("/")
    already = NpsSurvey.objects.filter(period=period).values("customer_id")
    customers = Customer.objects.filter(stage=Stage.WON, status=Status.ACTIVE, merged_into__isnull=True).exclude(
        pk__in=already
    )
    contacts: dict[int, int] = {}  # customer id -> its contact to ask (primary first), read as columns
    for customer_id, contact_id in (
        Contact.objects.filter(customer__in=customers)
        .exclude(email="")
        .order_by("customer_id", "-is_primary", "id")
        .values_list("customer_id", "pk")
    ):
        contacts.setdefault(customer_id, contact_id)
    team_of = dict(customers.filter(pk__in=list(contacts)).values_list("pk", "team_id"))
    surveys = [
        NpsSurvey(
            token=secrets.token_urlsafe(24),
            customer_id=customer_id,
            contact_id=contact_id,
            team_id=team_of.get(customer_id),
            period=period,
            sent_at=now,
            expires_at=now + valid,
        )
        for customer_id, contact_id in contacts.items()
    ]
    NpsSurvey.objects.bulk_create(surveys, batch_size=CHUNK, ignore_conflicts=True)
    tokens = [s.token for s in surveys]
    queued = 0
    subject = _("How likely are you to recommend us?")
    for start in range(0, len(tokens), CHUNK):  # only the rows this run inserted (a racing run's are skipped)
        inserted = NpsSurvey.objects.filter(token__in=tokens[start : start + CHUNK]).values_list(
            "token", "expires_at", "contact__email"
        )
        messages = []
        for token, expires_at, email in inserted:
            link = base + reverse("nps_answer", args=[token])
            body = _("Please answer one question (0–10) at %(link)s — the link is valid until %(until)s.") % {
                "link": link,
                "until": timezone.localtime(expires_at).strftime("%Y-%m-%d"),
            }
            messages.append((f"nps:{token}", subject, body, [email]))
        # With the surveys, in this transaction; the outbox's drain (every minute, 5,000 a run)
        # sends them, so a quarter's first run over every customer does not send all at once.
        outbox.queue_emails(messages, deliver_now=False)
        queued += len(messages)
    return queued


def survey_for_token(token: str, *, now: datetime | None = None) -> NpsSurvey:
    """The open survey of a token, or NpsTokenError with a clear reason."""
    now = now or timezone.now()
    survey = NpsSurvey.objects.select_related("customer").filter(token=token).first() if token else None
    if survey is None:
        raise NpsTokenError(_("This survey link is not valid. Please check that you copied the whole link."))
    if NpsResponse.objects.filter(survey=survey).exists():
        raise NpsTokenError(_("This survey has already been answered. Thank you!"), code="used")
    if survey.expires_at <= now:
        raise NpsTokenError(_("This survey link has expired."), code="expired")
    return survey


@transaction.atomic
def record_nps_answer(*, token: str, score: int, comment: str = "", now: datetime | None = None) -> NpsResponse:
    """Store the one answer of a token; a detractor (0–6) gets an executive call-back task."""
    now = now or timezone.now()
    if not isinstance(score, int) or not 0 <= score <= 10:
        raise FollowupError(_("Choose a score from 0 to 10."))
    survey = survey_for_token(token, now=now)
    survey = NpsSurvey.objects.select_for_update().select_related("customer").get(pk=survey.pk)
    try:
        with transaction.atomic():
            answer = NpsResponse.objects.create(survey=survey, score=score, comment=comment.strip(), answered_at=now)
    except IntegrityError as exc:
        raise NpsTokenError(_("This survey has already been answered. Thank you!"), code="used") from exc
    if score <= 6:
        customer = Customer.objects.select_related("owner", "team__manager", "team__parent__manager").get(
            pk=survey.customer_id
        )
        executives = _managers_for(customer)
        assignee = (executives[-1] if executives else None) or customer.owner
        if assignee is not None:
            task = Task(
                customer=customer,
                assignee=assignee,
                team_id=_team_id_of(assignee) or customer.team_id,
                title=_("Executive call-back: NPS detractor (score %(score)d)") % {"score": score},
                notes=comment.strip(),
                due_at=now + timedelta(days=2),
                origin=TaskOrigin.NPS,
                dedupe_key=f"nps:{survey.pk}",
            )
            _audit(task, None, _("NPS detractor"))
            task.save()
            notify(users=[assignee], verb=task.title + f" · {customer}", url=_my_day_url(), event=channels.TASKS)
    return answer


# --- reports ---------------------------------------------------------------------------------


def team_discipline(*, user_ids: list[int], now: datetime | None = None, days: int = 30) -> dict[int, dict]:
    """Per rep: open tasks, overdue open tasks and rate; follow-ups logged and the late-log rate."""
    now = now or timezone.now()
    stats = {pk: {"open": 0, "overdue": 0, "logged": 0, "late": 0} for pk in user_ids}
    for row in open_task_counts(user_ids, now):
        stats[row["assignee_id"]].update(open=row["open"], overdue=row["overdue"])
    for row in followup_counts(user_ids, now - timedelta(days=days)):
        stats[row["author_id"]].update(logged=row["logged"], late=row["late"])
    for values in stats.values():
        values["overdue_rate"] = round(values["overdue"] * 100 / values["open"], 1) if values["open"] else 0.0
        values["late_rate"] = round(values["late"] * 100 / values["logged"], 1) if values["logged"] else 0.0
    return stats


# --- reminders --------------------------------------------------------------------------------


def remind_due_tasks(*, now: datetime | None = None) -> int:
    """Daily: one notice (and email) per person with open tasks overdue or due today, once a day.

    A (user, day) row claims each reminder, so a re-run of the job the same day sends nothing.
    """
    from .selectors import day_bounds

    now = now or timezone.now()
    _start, end = day_bounds(now)
    day = timezone.localtime(now).date()
    rows = (
        Task.objects.filter(status=TaskStatus.OPEN, due_at__lt=end)
        .values("assignee_id")
        .annotate(total=Count("id"), overdue=Count("id", filter=Q(due_at__lt=now)))
    )
    counts = {row["assignee_id"]: row for row in rows}
    sent = 0
    for user in get_user_model().objects.filter(pk__in=list(counts), is_active=True):
        with transaction.atomic():
            _reminder, created = DailyReminder.objects.get_or_create(user=user, day=day)
            if not created:
                continue
            row = counts[user.pk]
            notify(
                users=[user],
                verb=_("%(total)d tasks due today, %(overdue)d overdue") % row,
                url=_my_day_url(),
                event=channels.REMINDERS,
            )
            sent += 1
    return sent
