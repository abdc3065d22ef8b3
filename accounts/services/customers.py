"""Create and edit customers; duplicate detection; completeness score."""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _
from simple_history.utils import bulk_update_with_history

from crm.access import can_edit_owned

from ..models import Contact, ContactRole, Customer, Status, Tag

# Legal-form suffixes and decorations ignored when comparing names (longest first).
_SUFFIXES = (
    "股份有限公司",
    "有限责任公司",
    "集团有限公司",
    "有限公司",
    "集团公司",
    "分公司",
    "公司",
    "co.,ltd.",
    "co., ltd.",
    "co.,ltd",
    "co. ltd",
    "limited",
    "ltd.",
    "ltd",
    "inc.",
    "inc",
    "corporation",
    "corp.",
    "corp",
)
_NOISE = re.compile(r"[\s()（）\[\]【】.,，、·\-_]+")


def normalize_name(name: str) -> str:
    """'上海 星辰科技 有限公司' and '上海星辰科技股份有限公司' both become '上海星辰科技'."""
    value = _NOISE.sub("", (name or "").strip().lower())
    changed = True
    while changed and value:
        changed = False
        for suffix in _SUFFIXES:
            compact = _NOISE.sub("", suffix)
            if value.endswith(compact) and len(value) > len(compact):
                value = value[: -len(compact)]
                changed = True
                break
    return value


def normalize_credit_code(code: str | None) -> str | None:
    code = (code or "").strip().upper()
    return code or None


# --- completeness -------------------------------------------------------------------------
# Each entry: (label, weight). The score is the weighted share of these that are filled.
COMPLETENESS_FIELDS = {
    "name": (_("name"), 10),
    "credit_code": (_("unified social credit code"), 8),
    "customer_type": (_("customer type"), 8),
    "industry": (_("industry"), 8),
    "employee_band": (_("employees"), 5),
    "province": (_("province"), 5),
    "city": (_("city"), 3),
    "source_channel": (_("source channel"), 6),
    "needs": (_("core needs and pain points"), 6),
    "owner_id": (_("owner"), 8),
    "last_followup_at": (_("last follow-up"), 8),
    "next_followup_at": (_("next follow-up"), 5),
    "next_step": (_("next step"), 8),
    "has_contact_phone": (_("a contact with a phone number"), 6),
    "has_decision_maker": (_("a known decision-maker"), 6),
}
# DOMAIN §1: these must never be empty for an active customer.
REQUIRED_FOR_ACTIVE = ("customer_type", "last_followup_at", "next_step")


def completeness_of(values: dict) -> tuple[int, list[str]]:
    """Score 0–100 and the keys of what is missing, from a dict of field values and flags."""
    total = sum(weight for _label, weight in COMPLETENESS_FIELDS.values())
    missing = [key for key in COMPLETENESS_FIELDS if values.get(key) in (None, "", False)]
    filled = total - sum(COMPLETENESS_FIELDS[key][1] for key in missing)
    return round(filled * 100 / total), missing


def contact_flags():
    """Annotations that let `missing_fields` work on a list without a query per row."""
    return {
        "_has_phone": Exists(Contact.objects.filter(customer=OuterRef("pk")).exclude(phone="")),
        "_has_dm": Exists(Contact.objects.filter(customer=OuterRef("pk"), role=ContactRole.DECISION_MAKER)),
    }


def _completeness_values(customer: Customer) -> dict:
    values = {key: getattr(customer, key, None) for key in COMPLETENESS_FIELDS}
    if hasattr(customer, "_has_phone") and hasattr(customer, "_has_dm"):  # annotated by contact_flags()
        values["has_contact_phone"], values["has_decision_maker"] = customer._has_phone, customer._has_dm
        return values
    contacts = [(contact.phone, contact.role) for contact in customer.contacts.all()]  # prefetched when the page did
    values["has_contact_phone"] = any(phone for phone, _role in contacts)
    values["has_decision_maker"] = any(role == ContactRole.DECISION_MAKER for _phone, role in contacts)
    return values


def missing_fields(customer: Customer) -> list[str]:
    """Human labels of what the record lacks, most important first."""
    _score, missing = completeness_of(_completeness_values(customer))
    return [str(COMPLETENESS_FIELDS[key][0]) for key in sorted(missing, key=lambda k: -COMPLETENESS_FIELDS[k][1])]


COMPLETENESS_CHUNK = 2000  # rows read and written per round trip when refreshing many


def refresh_completeness(customers: Iterable[int] | None = None) -> int:
    """Recompute the stored score for the given customer ids (all when None), set-based in chunks."""
    ids = None if customers is None else list(customers)
    qs = Customer.objects.all() if ids is None else Customer.objects.filter(pk__in=ids)
    qs = qs.annotate(**contact_flags()).only(
        *[k for k in COMPLETENESS_FIELDS if not k.startswith("has_")], "completeness"
    )
    # A few customers (a follow-up, an edit): one plain query. All or many: read in chunks (on
    # PostgreSQL a server-side cursor, three round trips that only pay off for long reads).
    rows = qs if ids is not None and len(ids) <= COMPLETENESS_CHUNK else qs.iterator(chunk_size=COMPLETENESS_CHUNK)
    changed, batch = 0, []
    for customer in rows:
        values = {key: getattr(customer, key, None) for key in COMPLETENESS_FIELDS}
        values["has_contact_phone"], values["has_decision_maker"] = customer._has_phone, customer._has_dm
        score, _missing = completeness_of(values)
        if score != customer.completeness:
            customer.completeness = score
            batch.append(customer)
        if len(batch) >= COMPLETENESS_CHUNK:
            changed += Customer.objects.bulk_update(batch, ["completeness"])
            batch = []
    if batch:
        changed += Customer.objects.bulk_update(batch, ["completeness"])
    return changed


INCOMPLETE_CONDITION = Q(customer_type="") | Q(last_followup_at__isnull=True) | Q(next_step="")


def incomplete_active_customers():
    """Active customers missing a field DOMAIN §1 requires (customer type, last follow-up, next step)."""
    return Customer.objects.filter(status=Status.ACTIVE).filter(INCOMPLETE_CONDITION)


def required_missing(customer: Customer) -> list[str]:
    """Labels of the fields DOMAIN §1 requires for an active customer that this one lacks."""
    return [str(COMPLETENESS_FIELDS[key][0]) for key in REQUIRED_FOR_ACTIVE if getattr(customer, key) in (None, "")]


# --- duplicates -------------------------------------------------------------------------------


@dataclass
class DuplicateCheck:
    same_code: Customer | None  # refused
    same_name: list[Customer]  # warned

    @property
    def blocking(self) -> bool:
        return self.same_code is not None


def find_duplicates(*, name: str, credit_code: str | None, exclude_pk: int | None = None) -> DuplicateCheck:
    """Across the whole archive (not only what the user sees): duplicates are company-wide."""
    qs = Customer.objects.filter(merged_into__isnull=True)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    code = normalize_credit_code(credit_code)
    same_code = qs.filter(credit_code=code).first() if code else None
    normalized = normalize_name(name)
    same_name = list(qs.filter(normalized_name=normalized)[:5]) if normalized else []
    return DuplicateCheck(same_code=same_code, same_name=same_name)


class DuplicateCustomerError(Exception):
    def __init__(self, existing: Customer):
        super().__init__(str(existing))
        self.existing = existing


class SimilarCustomerWarning(Exception):
    """Same normalised name as existing records: saved only when the user confirms."""

    def __init__(self, matches: list[Customer]):
        super().__init__(", ".join(str(m) for m in matches))
        self.matches = matches


# --- create / update ----------------------------------------------------------------------


def _prepare(customer: Customer) -> None:
    customer.name = (customer.name or "").strip()
    customer.normalized_name = normalize_name(customer.name)
    customer.credit_code = normalize_credit_code(customer.credit_code)
    if customer.owner_id and not customer.team_id:
        profile = getattr(customer.owner, "profile", None)
        customer.team_id = profile.team_id if profile else None


@transaction.atomic
def create_customer(
    *, customer: Customer, contacts: Iterable[Contact] = (), by=None, tags=(), confirm_similar: bool = True
) -> Customer:
    """Save a new customer with its contacts; refuses a credit code that already exists.

    With `confirm_similar=False` a record with the same normalised name raises
    SimilarCustomerWarning (nothing saved) so the user can confirm first.
    """
    _prepare(customer)
    check = find_duplicates(name=customer.name, credit_code=customer.credit_code)
    if check.same_code:
        raise DuplicateCustomerError(check.same_code)
    if check.same_name and not confirm_similar:
        raise SimilarCustomerWarning(check.same_name)
    customer.created_by = by
    customer._history_user = by
    customer.save()
    if tags:
        customer.tags.set(tags)
    _save_contacts(customer, list(contacts), by=by)
    refresh_completeness([customer.pk])
    customer.refresh_from_db(fields=["completeness"])
    # A new customer has entered its first stage: its SOP (e.g. first contact ≤ 24 h) starts.
    from .lifecycle import enter_first_stage

    enter_first_stage(customer=customer, by=by)
    return customer


@transaction.atomic
def update_customer(
    *,
    customer: Customer,
    by=None,
    reason: str = "",
    contacts: Iterable[Contact] = (),
    delete_contacts: Iterable[Contact] = (),
    tags=None,
    confirm_similar: bool = True,
) -> Customer:
    """Save edits of an existing customer (audited, with an optional change reason).

    Optionally saves/deletes contacts and replaces the tags in the same transaction. A renamed
    customer whose new normalised name matches another record raises SimilarCustomerWarning
    unless `confirm_similar`.
    """
    _prepare(customer)
    check = find_duplicates(name=customer.name, credit_code=customer.credit_code, exclude_pk=customer.pk)
    if check.same_code:
        raise DuplicateCustomerError(check.same_code)
    if check.same_name and not confirm_similar:
        before = Customer.objects.filter(pk=customer.pk).values_list("normalized_name", flat=True).first()
        if before != customer.normalized_name:
            raise SimilarCustomerWarning(check.same_name)
    if customer.owner_id:
        profile = getattr(customer.owner, "profile", None)
        customer.team_id = profile.team_id if profile else customer.team_id
    customer._history_user = by
    customer._change_reason = reason or None
    customer.save()
    if tags is not None:
        customer.tags.set(tags)
    for contact in delete_contacts:
        if contact.pk and contact.customer_id == customer.pk:
            contact._history_user = by
            contact.delete()
    _save_contacts(customer, list(contacts), by=by)
    refresh_completeness([customer.pk])
    customer.refresh_from_db(fields=["completeness"])
    return customer


# --- contacts ---------------------------------------------------------------------------------


def _save_contacts(customer: Customer, contacts: list[Contact], *, by) -> None:
    """Save contacts of one customer; at most one primary (a new primary replaces the old one)."""
    primaries = [c for c in contacts if c.is_primary]
    if len(primaries) > 1:
        raise ValueError("only one primary contact per customer")
    if primaries:
        keep = primaries[0].pk
        Contact.objects.filter(customer=customer, is_primary=True).exclude(pk=keep).update(is_primary=False)
    for contact in contacts:
        contact.customer = customer
        contact._history_user = by
        contact.save()


@transaction.atomic
def save_contact(*, contact: Contact, by=None) -> Contact:
    """Add or edit one contact of a customer; keeps the completeness score current."""
    _save_contacts(contact.customer, [contact], by=by)
    refresh_completeness([contact.customer_id])
    return contact


@transaction.atomic
def delete_contact(*, contact: Contact, by=None) -> None:
    customer_id = contact.customer_id
    contact._history_user = by
    contact.delete()
    refresh_completeness([customer_id])


# --- bulk actions -----------------------------------------------------------------------------


@dataclass
class BulkResult:
    done: list[Customer] = field(default_factory=list)
    skipped: list[Customer] = field(default_factory=list)


def _split_editable(customers: Iterable[Customer], by) -> BulkResult:
    result = BulkResult()
    for customer in customers:
        (result.done if can_edit_owned(by, customer) else result.skipped).append(customer)
    return result


@transaction.atomic
def assign_owner(*, customers: Iterable[Customer], owner, by) -> BulkResult:
    """Give the customers `by` may edit to `owner` (and owner's team); the others are skipped."""
    result = _split_editable(customers, by)
    profile = getattr(owner, "profile", None)
    team_id = profile.team_id if profile else None
    changed = [c for c in result.done if (c.owner_id, c.team_id) != (owner.pk, team_id)]
    for customer in changed:
        customer.owner_id, customer.team_id = owner.pk, team_id
    if changed:
        bulk_update_with_history(
            changed,
            Customer,
            ["owner", "team"],
            batch_size=500,
            default_user=by,
            default_change_reason=str(_("Owner assigned: %(owner)s") % {"owner": owner}),
        )
        refresh_completeness([c.pk for c in changed])  # owner is part of the score
    return result


@transaction.atomic
def add_tag(*, customers: Iterable[Customer], tag: Tag | str, by) -> BulkResult:
    """Tag the customers `by` may edit (idempotent); each tagged one gets an audit record.

    `tag` may be a name: the tag is created when it does not exist yet.
    """
    if isinstance(tag, str):
        tag = Tag.objects.get_or_create(name=tag.strip()[:40])[0]
    result = _split_editable(customers, by)
    through = Customer.tags.through
    already = set(
        through.objects.filter(tag=tag, customer_id__in=[c.pk for c in result.done]).values_list(
            "customer_id", flat=True
        )
    )
    new = [c for c in result.done if c.pk not in already]
    through.objects.bulk_create([through(customer_id=c.pk, tag_id=tag.pk) for c in new], ignore_conflicts=True)
    if new:
        Customer.history.bulk_history_create(
            new,
            update=True,
            default_user=by,
            default_change_reason=str(_("Tag added: %(tag)s") % {"tag": tag}),
        )
    return result
