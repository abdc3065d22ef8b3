"""Merge two duplicate customer records into one (the survivor); the other stays as a redirect.

Later apps move their own records (leads, follow-ups, contracts …) by registering a hook:

    register_merge_hook(fn)  # fn(loser, survivor, by) -> {"followups": 4, ...}

Hooks run inside the merge's transaction; their counts are stored in `Merge.moved`.
"""

from collections.abc import Callable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from crm.access import can_edit_owned
from crm.models import Profile

from ..models import Contact, Customer, Merge
from .customers import normalize_credit_code, normalize_name, refresh_completeness
from .handover import HookRegistry

MergeHook = Callable[[Customer, Customer, object], dict[str, int]]
merge_hooks = HookRegistry()

# Fields a person chooses between, in the order shown side by side.
MERGE_FIELDS = (
    "name",
    "credit_code",
    "customer_type",
    "industry",
    "employee_band",
    "annual_revenue",
    "province",
    "city",
    "founded",
    "business_model",
    "website",
    "source_channel",
    "needs",
    "development_plans",
    "budget",
    "stage",
    "status",
    "owner",
    "needs_attention",
    "last_followup_at",
    "next_followup_at",
    "next_step",
)
SURVIVOR, LOSER = "survivor", "loser"


def register_merge_hook(fn: MergeHook) -> MergeHook:
    """Register `fn(loser, survivor, by) -> dict[str, int]` (usable as a decorator)."""
    return merge_hooks.register(fn)


def unregister_merge_hook(fn: MergeHook) -> None:
    merge_hooks.unregister(fn)


def can_merge(user, *customers: Customer) -> bool:
    if not (getattr(user, "is_authenticated", False) and user.has_perm("crm.transfer_customers")):
        return False
    return all(can_edit_owned(user, c) for c in customers)


def _value(customer: Customer, name: str):
    return getattr(customer, f"{name}_id" if name == "owner" else name)


def differing_fields(a: Customer, b: Customer) -> list[str]:
    """Fields whose values differ between the two records (where a choice is needed)."""
    return [name for name in MERGE_FIELDS if _value(a, name) != _value(b, name)]


def _display(customer: Customer, name: str) -> str:
    field = Customer._meta.get_field(name)
    if field.choices:
        return str(getattr(customer, f"get_{name}_display")())
    value = getattr(customer, name)
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if name == "owner" and value is not None:
        return value.get_full_name() or value.get_username()
    return "" if value is None else str(value)


@transaction.atomic
def merge_customers(*, survivor: Customer, loser: Customer, by, choices: dict[str, str] | None = None) -> Merge:
    """Keep `survivor`, taking `loser`'s value where `choices[field] == "loser"`; move contacts and tags.

    The loser keeps its status, gets `merged_into=survivor` and loses its credit code (unique in the
    database; the history keeps it), so duplicate checks no longer see it.
    """
    survivor = Customer.objects.select_for_update().get(pk=survivor.pk)
    loser = Customer.objects.select_for_update().get(pk=loser.pk)
    if not can_merge(by, survivor, loser):
        raise PermissionDenied
    if survivor.pk == loser.pk:
        raise ValidationError(_("A customer cannot be merged with itself."))
    if survivor.merged_into_id or loser.merged_into_id:
        raise ValidationError(_("One of these customers was already merged into another."))
    choices = choices or {}
    chosen = {}
    for name in differing_fields(survivor, loser):
        side = LOSER if choices.get(name) == LOSER else SURVIVOR
        source = loser if side == LOSER else survivor
        chosen[name] = {"from": side, "value": _display(source, name)}
        if side == LOSER:
            setattr(survivor, f"{name}_id" if name == "owner" else name, _value(loser, name))
    merge = Merge.objects.create(survivor=survivor, loser=loser, performed_by=by, chosen_values=chosen)

    loser.merged_into = survivor
    loser.credit_code = None
    loser._history_user = by
    loser._change_reason = f"merged into #{survivor.pk} (merge #{merge.pk})"
    loser.save()

    survivor.name = survivor.name.strip()
    survivor.normalized_name = normalize_name(survivor.name)
    survivor.credit_code = normalize_credit_code(survivor.credit_code)
    if "owner" in chosen and survivor.owner_id:
        survivor.team_id = Profile.objects.filter(user_id=survivor.owner_id).values_list("team_id", flat=True).first()
    survivor._history_user = by
    survivor._change_reason = f"merge #{merge.pk}: absorbed #{loser.pk}"

    moved = {"contacts": 0, "tags": 0}
    has_primary = Contact.objects.filter(customer=survivor, is_primary=True).exists()
    for contact in Contact.objects.filter(customer=loser).order_by("-is_primary", "pk"):
        contact.customer = survivor
        if contact.is_primary and has_primary:
            contact.is_primary = False
        has_primary = has_primary or contact.is_primary
        contact._history_user = by
        contact._change_reason = f"merge #{merge.pk}"
        contact.save()
        moved["contacts"] += 1
    loser_tags = list(loser.tags.all())
    survivor_tag_ids = set(survivor.tags.values_list("pk", flat=True))
    new_tags = [t for t in loser_tags if t.pk not in survivor_tag_ids]
    survivor.tags.add(*loser_tags)
    loser.tags.clear()
    moved["tags"] = len(new_tags)
    survivor.save()

    merge.moved = merge_hooks.run(moved, loser, survivor, by)
    merge.save(update_fields=["moved"])
    refresh_completeness([survivor.pk, loser.pk])
    return merge


def comparison(a: Customer, b: Customer) -> list[dict]:
    """Rows for the side-by-side page: every merge field with both display values."""
    rows = []
    differing = set(differing_fields(a, b))
    for name in MERGE_FIELDS:
        field = Customer._meta.get_field(name)
        rows.append(
            {
                "name": name,
                "label": field.verbose_name,
                "a": _display(a, name),
                "b": _display(b, name),
                "differs": name in differing,
            }
        )
    return rows
