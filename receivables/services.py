"""Business actions of receivables and credit: every write goes through here (views, tasks, tests).

Rules decided here (and tested):
- Payment plans: installments must sum to the contract amount exactly; a percentage split gives
  the rounding remainder to the last installment, so no cent is lost or invented.
- Policy: a plan that breaks the customer's payment-term policy is saved "pending approval";
  finance approves it, then it is active. A compliant plan is active at once.
- Payments are allocated to installments oldest due first; a payment larger than what is
  still outstanding on the contract is **refused** (no credit balances to track).
- Daily job: one `Notice` row per (installment, kind, step) claims each step exactly once.
  A late first run (e.g. an installment already 95 days overdue) records every step reached
  but acts only on the highest one, so nobody receives four letters on the same morning.
- The reminder/collection tasks for reps carry `TaskOrigin.COLLECTION`.
"""

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from simple_history.utils import bulk_update_with_history

from accounts.models import Contact, Customer, Status
from crm.access import can_edit_owned, can_view_amounts, has_role, is_admin
from crm.models import Profile, Team
from crm.outbox import queue_emails
from crm.roles import Role

from .models import (
    CENT,
    DEFAULT_RATING,
    NOTICE_STEPS,
    ZERO,
    Allocation,
    Condition,
    Contract,
    ContractStatus,
    CreditRating,
    Installment,
    Notice,
    NoticeKind,
    Payment,
    PaymentTermPolicy,
    Rating,
)

DEFAULT_POLICIES = {
    Rating.GOOD: {"credit_allowed": True, "min_prepay_percent": Decimal(30), "max_credit_days": 90},
    Rating.FAIR: {"credit_allowed": True, "min_prepay_percent": Decimal(100), "max_credit_days": 0},
    Rating.POOR: {"credit_allowed": False, "min_prepay_percent": Decimal(100), "max_credit_days": 0},
}


class ReceivablesError(ValidationError):
    """A business rule refused the action; the message is for the user."""


class BlacklistedCustomerError(ReceivablesError):
    pass


def _audit(obj, by, reason: str = "") -> None:
    obj._history_user = by
    obj._change_reason = reason or None


def _team_id_of(user) -> int | None:
    if user is None:
        return None
    return Profile.objects.filter(user=user).values_list("team_id", flat=True).first()


def is_finance(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and (is_admin(user) or has_role(user, Role.FINANCE))


def money(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def split_amount(amount, percents) -> list[Decimal]:
    """Split `amount` by `percents` (summing to 100) into cents; the last part takes the remainder."""
    amount = money(amount)
    percents = [Decimal(p) for p in percents]
    if not percents or sum(percents) != 100:
        raise ReceivablesError(_("The percentages must add up to 100."))
    parts = [money(amount * p / 100) for p in percents[:-1]]
    parts.append(amount - sum(parts, ZERO))
    return parts


# --- ratings and policies ---------------------------------------------------------------------


def ensure_default_policies() -> int:
    created = 0
    for rating, values in DEFAULT_POLICIES.items():
        created += PaymentTermPolicy.objects.get_or_create(rating=rating, defaults=values)[1]
    return created


def policies_by_rating() -> dict[str, PaymentTermPolicy]:
    policies = {p.rating: p for p in PaymentTermPolicy.objects.all()}
    if len(policies) < len(Rating.values):
        ensure_default_policies()
        policies = {p.rating: p for p in PaymentTermPolicy.objects.all()}
    return policies


def rating_of(customer: Customer) -> str:
    return CreditRating.objects.filter(customer=customer).values_list("rating", flat=True).first() or DEFAULT_RATING


@transaction.atomic
def set_credit_rating(*, customer: Customer, rating: str, note: str, by) -> CreditRating:
    """Finance sets a customer's rating with a note (the background check); audited."""
    if not is_finance(by):
        raise PermissionDenied
    if rating not in Rating.values:
        raise ReceivablesError(_("Unknown rating."))
    if not (note or "").strip():
        raise ReceivablesError(_("A note is required (what the background check found)."))
    record = CreditRating.objects.select_for_update().filter(customer=customer).first() or CreditRating(
        customer=customer
    )
    record.rating, record.note, record.set_by, record.set_at = rating, note.strip(), by, timezone.now()
    _audit(record, by, _("Credit rating set"))
    record.save()
    return record


@transaction.atomic
def save_policy(*, policy: PaymentTermPolicy, by) -> PaymentTermPolicy:
    if not is_finance(by):
        raise PermissionDenied
    policy.updated_by = by
    _audit(policy, by, _("Payment-term policy changed"))
    policy.save()
    return policy


def suggest_ratings(customer_ids=None, *, today: date | None = None) -> dict[int, dict]:
    """Suggested rating per customer from payment history, in one aggregate query.

    Over installments already due: on-time rate (share of due installments fully paid), days
    late of the oldest unpaid one, and the overdue amount. good: ≥ 90% paid and nothing > 30
    days late; poor: anything > 60 days late or < 50% paid; fair otherwise.
    Customers with nothing due yet get no suggestion.
    """
    from django.db.models import Count, DecimalField, ExpressionWrapper, Min, Sum

    today = today or timezone.localdate()
    qs = Installment.objects.filter(
        contract__status__in=[ContractStatus.ACTIVE, ContractStatus.CLOSED], due_on__lt=today
    )
    if customer_ids is not None:
        qs = qs.filter(contract__customer_id__in=list(customer_ids))
    outstanding = ExpressionWrapper(F("amount") - F("paid_amount"), output_field=DecimalField())
    rows = qs.values("contract__customer_id").annotate(
        due_count=Count("id"),
        paid_count=Count("id", filter=Q(paid_amount=F("amount"))),
        overdue=Sum(outstanding, filter=Q(paid_amount__lt=F("amount"))),
        first_unpaid=Min("due_on", filter=Q(paid_amount__lt=F("amount"))),
    )
    result = {}
    for row in rows:
        cid = row["contract__customer_id"]
        on_time = Decimal(row["paid_count"]) / row["due_count"]
        first_unpaid = row["first_unpaid"]
        days_late = (today - first_unpaid).days if first_unpaid else 0
        overdue = row["overdue"] or ZERO
        if days_late > 60 or on_time < Decimal("0.5"):
            rating = Rating.POOR
        elif on_time >= Decimal("0.9") and days_late <= 30:
            rating = Rating.GOOD
        else:
            rating = Rating.FAIR
        result[cid] = {
            "rating": rating,
            "on_time_rate": (on_time * 100).quantize(Decimal("0.1")),
            "days_late": days_late,
            "overdue": money(overdue),
        }
    return result


def suggest_rating(*, customer: Customer, today: date | None = None) -> dict | None:
    return suggest_ratings([customer.pk], today=today).get(customer.pk)


# --- contracts ------------------------------------------------------------------------------------


@dataclass
class PlanLine:
    amount: Decimal
    due_on: date
    condition: str = Condition.DATE


def can_create_contract(user, customer: Customer) -> bool:
    """Finance and admins; otherwise whoever may edit the customer *and* see amounts (managers)."""
    if is_finance(user):
        return True
    return can_view_amounts(user) and can_edit_owned(user, customer)


def refuse_blacklisted(customer: Customer) -> None:
    if customer.status == Status.BLACKLISTED:
        raise BlacklistedCustomerError(
            _("%(customer)s is blacklisted: no new contract can be created for it.") % {"customer": customer}
        )


def policy_breaches(*, amount: Decimal, signed_on: date, plan: list[PlanLine], policy: PaymentTermPolicy) -> list[str]:
    """Why this plan breaks the policy (empty: it complies)."""
    breaches = []
    label = policy.get_rating_display()
    if not policy.credit_allowed:
        breaches.append(_("Customers rated %(rating)s get no credit: finance must approve.") % {"rating": label})
        return breaches
    prepaid = sum((line.amount for line in plan if line.condition == Condition.PREPAYMENT), ZERO)
    share = (prepaid * 100 / amount) if amount else Decimal(0)
    if share < policy.min_prepay_percent:
        breaches.append(
            _("Prepayment is %(share)s%%; the %(rating)s policy asks for at least %(min)s%%.")
            % {
                "share": share.quantize(Decimal("0.1")),
                "rating": label,
                "min": f"{policy.min_prepay_percent.normalize():f}",
            }
        )
    credit = [line for line in plan if line.condition != Condition.PREPAYMENT]
    latest = max((line.due_on for line in credit), default=None)
    if latest and (latest - signed_on).days > policy.max_credit_days:
        breaches.append(
            _("The last installment falls due %(days)s days after signing; the %(rating)s policy allows %(max)s.")
            % {"days": (latest - signed_on).days, "rating": label, "max": policy.max_credit_days}
        )
    return breaches


def _check_plan(amount: Decimal, plan: list[PlanLine]) -> None:
    if amount <= 0:
        raise ReceivablesError(_("The contract amount must be positive."))
    if not plan:
        raise ReceivablesError(_("A payment plan needs at least one installment."))
    if any(line.amount <= 0 for line in plan):
        raise ReceivablesError(_("Every installment needs a positive amount."))
    total = sum((line.amount for line in plan), ZERO)
    if total != amount:
        raise ReceivablesError(
            _("The installments add up to %(total)s, not to the contract amount %(amount)s.")
            % {"total": total, "amount": amount}
        )


@transaction.atomic
def create_contract(
    *,
    customer: Customer,
    by,
    amount,
    signed_on: date,
    plan: list[PlanLine],
    title: str = "",
    product_line: str = "",
    owner=None,
    opportunity=None,
) -> Contract:
    """A contract with its payment plan: active when the plan fits the policy, else pending approval.

    From a won opportunity, the customer, owner and product line default to the opportunity's.
    Refused for a blacklisted customer.
    """
    if opportunity is not None:
        from leads.models import OppStage

        if opportunity.stage != OppStage.WON:
            raise ReceivablesError(_("Only a won opportunity can become a contract."))
        customer = opportunity.customer
        owner = owner or opportunity.owner
        product_line = product_line or opportunity.product_line
        title = title or opportunity.name
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if not can_create_contract(by, customer):
        raise PermissionDenied
    refuse_blacklisted(customer)
    amount = money(amount)
    plan = [PlanLine(money(line.amount), line.due_on, line.condition) for line in plan]
    _check_plan(amount, plan)
    owner = owner or customer.owner or by
    policy = policies_by_rating()[rating_of(customer)]
    breaches = policy_breaches(amount=amount, signed_on=signed_on, plan=plan, policy=policy)
    contract = Contract(
        customer=customer,
        opportunity=opportunity,
        title=(title or "").strip() or customer.name,
        amount=amount,
        signed_on=signed_on,
        product_line=product_line,
        owner=owner,
        team_id=_team_id_of(owner),
        status=ContractStatus.PENDING if breaches else ContractStatus.ACTIVE,
        policy_breaches="\n".join(breaches),
        created_by=by,
    )
    _audit(contract, by, _("Contract created"))
    contract.save()
    Installment.objects.bulk_create(
        [
            Installment(contract=contract, seq=i, amount=line.amount, due_on=line.due_on, condition=line.condition)
            for i, line in enumerate(sorted(plan, key=lambda x: x.due_on), start=1)
        ]
    )
    if breaches:
        from followups.services import notify

        notify(
            users=finance_users(),
            verb=_("Contract %(title)s needs approval") % {"title": contract.title},
            url=reverse("receivables:approvals"),
            email=False,
        )
    return contract


@transaction.atomic
def approve_contract(*, contract: Contract, by, note: str = "") -> Contract:
    if not is_finance(by):
        raise PermissionDenied
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    if contract.status != ContractStatus.PENDING:
        raise ReceivablesError(_("Only a contract pending approval can be approved."))
    refuse_blacklisted(contract.customer)
    contract.status = ContractStatus.ACTIVE
    contract.approved_by, contract.approved_at = by, timezone.now()
    _audit(contract, by, note or _("Approved by finance"))
    contract.save()
    return contract


@transaction.atomic
def record_payment(*, contract: Contract, amount, received_on: date, by, reference: str = "") -> Payment:
    """Record money received and allocate it to installments, oldest due first. Over-payment is refused."""
    if not is_finance(by):
        raise PermissionDenied
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    if contract.status != ContractStatus.ACTIVE:
        raise ReceivablesError(_("Payments can only be recorded on an active contract."))
    amount = money(amount)
    if amount <= 0:
        raise ReceivablesError(_("The payment amount must be positive."))
    installments = list(
        Installment.objects.select_for_update()
        .filter(contract=contract, paid_amount__lt=F("amount"))
        .order_by("due_on", "seq", "id")
    )
    outstanding = sum((i.outstanding for i in installments), ZERO)
    if amount > outstanding:
        raise ReceivablesError(
            _("%(amount)s is more than the %(outstanding)s still outstanding on this contract.")
            % {"amount": amount, "outstanding": outstanding}
        )
    payment = Payment(
        contract=contract, amount=amount, received_on=received_on, reference=reference.strip(), recorded_by=by
    )
    _audit(payment, by, _("Payment recorded"))
    payment.save()
    left, allocations, touched = amount, [], []
    for inst in installments:
        if left <= 0:
            break
        part = min(left, inst.outstanding)
        inst.paid_amount += part
        left -= part
        allocations.append(Allocation(payment=payment, installment=inst, amount=part))
        touched.append(inst)
    Allocation.objects.bulk_create(allocations)
    bulk_update_with_history(
        touched, Installment, ["paid_amount"], default_user=by, default_change_reason=f"payment #{payment.pk}"
    )
    if outstanding == amount:
        contract.status = ContractStatus.CLOSED
        contract.service_suspended = False
        _audit(contract, by, _("Paid in full"))
        contract.save()
    return payment


# --- blacklist ------------------------------------------------------------------------------------


@transaction.atomic
def lift_blacklist(*, customer: Customer, by, reason: str) -> Customer:
    """Finance lifts a blacklisting; the reason is required and kept in the customer's history."""
    if not is_finance(by):
        raise PermissionDenied
    if not (reason or "").strip():
        raise ReceivablesError(_("A reason is required to lift a blacklisting."))
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.status != Status.BLACKLISTED:
        raise ReceivablesError(_("This customer is not blacklisted."))
    customer.status = Status.ACTIVE
    customer._history_user = by
    customer._change_reason = _("Blacklist lifted: %(reason)s") % {"reason": reason.strip()}
    customer.save()
    return customer


# --- daily reminders and collections --------------------------------------------------------------


def finance_users():
    return list(get_user_model().objects.filter(is_active=True, groups__name=Role.FINANCE).distinct())


def _manager_of(team_ids) -> dict[int, object]:
    teams = Team.objects.filter(pk__in=[t for t in team_ids if t]).select_related("manager")
    return {t.pk: t.manager for t in teams if t.manager_id}


def _open_installments(today: date):
    return Installment.objects.filter(
        contract__status=ContractStatus.ACTIVE, paid_amount__lt=F("amount"), due_on__lte=today + timedelta(days=7)
    )


def run_daily_reminders(*, today: date | None = None) -> dict[str, int]:
    """The daily beat job. Idempotent: a step already recorded for an installment is never redone."""
    today = today or timezone.localdate()
    with transaction.atomic():
        return _run(today)


def _reached(days_overdue: int) -> list[str]:
    if days_overdue < 0:
        return [NoticeKind.REMINDER] if days_overdue >= NOTICE_STEPS[NoticeKind.REMINDER] else []
    return [k for k, step in NOTICE_STEPS.items() if step > 0 and days_overdue >= step]


def _run(today: date) -> dict[str, int]:
    from followups.models import Task, TaskOrigin
    from followups.services import notify

    run = uuid.uuid4().hex
    rows = list(
        _open_installments(today).values(
            "id",
            "due_on",
            "amount",
            "paid_amount",
            "contract_id",
            "contract__title",
            "contract__owner_id",
            "contract__team_id",
            "contract__customer_id",
            "contract__customer__name",
            "contract__customer__owner_id",
            "contract__customer__status",
        )
    )
    if not rows:
        return dict.fromkeys(NoticeKind.values, 0)
    done = set(Notice.objects.filter(installment_id__in=[r["id"] for r in rows]).values_list("installment_id", "kind"))
    new_notices = []
    for r in rows:
        overdue = (today - r["due_on"]).days
        if overdue == 0:
            continue
        reached = [k for k in _reached(overdue) if (r["id"], k) not in done]
        if not reached:
            continue
        highest = reached[-1]
        for kind in reached:
            new_notices.append(
                Notice(
                    installment_id=r["id"],
                    customer_id=r["contract__customer_id"],
                    kind=kind,
                    step=NOTICE_STEPS[kind],
                    run=run,
                    acted=kind == highest,
                )
            )
    Notice.objects.bulk_create(new_notices, ignore_conflicts=True, batch_size=1000)
    # Only rows this run really inserted (a concurrent run's rows carry another run id).
    claimed = list(Notice.objects.filter(run=run, acted=True).values_list("installment_id", "kind"))
    by_id = {r["id"]: r for r in rows}
    per_kind: dict[str, list[dict]] = defaultdict(list)
    for inst_id, kind in claimed:
        per_kind[kind].append(by_id[inst_id])

    policies = policies_by_rating()
    customer_ids = {r["contract__customer_id"] for r in rows}
    ratings = dict(CreditRating.objects.filter(customer_id__in=customer_ids).values_list("customer_id", "rating"))
    managers = _manager_of({r["contract__team_id"] for r in rows})
    finance = finance_users()
    now = timezone.now()
    tasks, mails = [], []

    def task(r, kind, title, assignee_id, days=1):
        if assignee_id:
            tasks.append(
                Task(
                    customer_id=r["contract__customer_id"],
                    assignee_id=assignee_id,
                    team_id=r["contract__team_id"],
                    title=title[:200],
                    due_at=now + timedelta(days=days),
                    origin=TaskOrigin.COLLECTION,
                    dedupe_key=f"receivables:{kind}:{r['id']}",
                )
            )

    def rep_of(r):
        return r["contract__owner_id"] or r["contract__customer__owner_id"]

    # 7 days before: email to the customer's contact, task for the rep.
    reminders = per_kind.get(NoticeKind.REMINDER, [])
    if reminders:
        contacts = {}
        for c in (
            Contact.objects.filter(customer_id__in={r["contract__customer_id"] for r in reminders})
            .exclude(email="")
            .order_by("customer_id", "-is_primary", "id")
        ):
            contacts.setdefault(c.customer_id, c)
        for r in reminders:
            outstanding = r["amount"] - r["paid_amount"]
            contact = contacts.get(r["contract__customer_id"])
            if contact:
                mails.append(
                    (
                        f"reminder:{r['id']}:{NoticeKind.REMINDER}",
                        _("Payment reminder: %(title)s") % {"title": r["contract__title"]},
                        _(
                            "Dear %(name)s,\n\nthis is a friendly reminder that %(amount)s of contract "
                            "%(title)s falls due on %(due)s.\n\nThank you."
                        )
                        % {
                            "name": contact.name,
                            "amount": f"¥{outstanding:,.2f}",
                            "title": r["contract__title"],
                            "due": r["due_on"].isoformat(),
                        },
                        [contact.email],
                    )
                )
            task(
                r,
                NoticeKind.REMINDER,
                _("Payment due on %(due)s: remind %(customer)s")
                % {"due": r["due_on"].isoformat(), "customer": r["contract__customer__name"]},
                rep_of(r),
                days=2,
            )

    # Day +1: collection task, notice to finance, late fee and suspension by policy.
    collections = per_kind.get(NoticeKind.COLLECTION, [])
    fee_rows, suspend_contracts = [], set()
    for r in collections:
        policy = policies[ratings.get(r["contract__customer_id"], DEFAULT_RATING)]
        task(
            r,
            NoticeKind.COLLECTION,
            _("Collect overdue payment from %(customer)s (due %(due)s)")
            % {"customer": r["contract__customer__name"], "due": r["due_on"].isoformat()},
            rep_of(r),
        )
        if policy.late_fee_percent > 0:
            fee_rows.append((r["id"], money((r["amount"] - r["paid_amount"]) * policy.late_fee_percent / 100)))
        if policy.suspend_when_overdue:
            suspend_contracts.add(r["contract_id"])
    if fee_rows:
        fees = dict(fee_rows)
        items = list(Installment.objects.filter(pk__in=fees))
        for item in items:
            item.late_fee = fees[item.pk]
        bulk_update_with_history(items, Installment, ["late_fee"], default_change_reason="late fee")
    if suspend_contracts:
        items = list(Contract.objects.filter(pk__in=suspend_contracts, service_suspended=False))
        for item in items:
            item.service_suspended = True
        bulk_update_with_history(items, Contract, ["service_suspended"], default_change_reason="overdue")

    for kind, level in ((NoticeKind.ESCALATION_30, 30), (NoticeKind.ESCALATION_60, 60)):
        for r in per_kind.get(kind, []):
            manager = managers.get(r["contract__team_id"])
            assignee = (manager.pk if manager else None) if level == 60 else rep_of(r)
            task(
                r,
                kind,
                _("%(days)s days overdue: escalate collection with %(customer)s")
                % {"days": level, "customer": r["contract__customer__name"]},
                assignee or rep_of(r),
            )

    # > 90 days: bad-debt warning, legal follow-up task, blacklist.
    bad = per_kind.get(NoticeKind.BAD_DEBT, [])
    for r in bad:
        task(
            r,
            NoticeKind.BAD_DEBT,
            _("Legal follow-up: %(customer)s is more than 90 days overdue")
            % {"customer": r["contract__customer__name"]},
            rep_of(r),
        )
    blacklist_ids = {r["contract__customer_id"] for r in bad if r["contract__customer__status"] != Status.BLACKLISTED}
    if blacklist_ids:
        customers = list(Customer.objects.filter(pk__in=blacklist_ids).exclude(status=Status.BLACKLISTED))
        for c in customers:
            c.status = Status.BLACKLISTED
        bulk_update_with_history(
            customers, Customer, ["status"], default_change_reason=_("Blacklisted: more than 90 days overdue")
        )

    Task.objects.bulk_create(tasks, ignore_conflicts=True, batch_size=1000)
    overdue_url = reverse("receivables:overdue")
    counted = {
        NoticeKind.COLLECTION: lambda n: ngettext(
            "%(n)s installment entered collection today", "%(n)s installments entered collection today", n
        ),
        NoticeKind.ESCALATION_30: lambda n: ngettext(
            "%(n)s installment is 30 days overdue", "%(n)s installments are 30 days overdue", n
        ),
        NoticeKind.ESCALATION_60: lambda n: ngettext(
            "%(n)s installment is 60 days overdue", "%(n)s installments are 60 days overdue", n
        ),
        NoticeKind.BAD_DEBT: lambda n: ngettext(
            "Bad-debt warning: %(n)s installment more than 90 days overdue; customer blacklisted",
            "Bad-debt warning: %(n)s installments more than 90 days overdue; customers blacklisted",
            n,
        ),
    }
    for kind, verb in counted.items():
        if n := len(per_kind.get(kind, [])):
            notify(users=finance, verb=verb(n) % {"n": n}, url=overdue_url)
    # Through the outbox, in this transaction: delivered after the commit, or by its drain job.
    queue_emails(mails)
    return {kind: len(per_kind.get(kind, [])) for kind in NoticeKind.values}
