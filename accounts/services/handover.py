"""Hand-over (客户交接): move all (or a filtered part) of one rep's customers to another rep.

Later apps move their own records with the customers by registering a hook:

    register_transfer_hook(fn)  # fn(customer_ids, from_user, to_user, by) -> {"leads": 3, ...}

Hooks run inside the hand-over's transaction; their counts are stored in `Transfer.moved`.
"""

from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from simple_history.utils import bulk_update_with_history

from crm.access import is_admin, managed_team_ids
from crm.models import Profile

from ..models import Customer, Industry, Stage, Status, Transfer

TransferHook = Callable[[list[int], object, object, object], dict[str, int]]


class HookRegistry:
    """Functions later apps register to move their records along; each returns counts per kind."""

    def __init__(self):
        self._hooks: list[Callable] = []

    def register(self, fn: Callable) -> Callable:
        if fn not in self._hooks:
            self._hooks.append(fn)
        return fn

    def unregister(self, fn: Callable) -> None:
        if fn in self._hooks:
            self._hooks.remove(fn)

    def run(self, counts: dict[str, int], *args) -> dict[str, int]:
        """Call every hook with `args` and add what each reports to `counts`."""
        for hook in list(self._hooks):
            for key, count in (hook(*args) or {}).items():
                counts[key] = counts.get(key, 0) + int(count)
        return counts


transfer_hooks = HookRegistry()
CRITERIA_FIELDS = {"stage": Stage, "status": Status, "industry": Industry}
CHUNK = 1000


def register_transfer_hook(fn: TransferHook) -> TransferHook:
    """Register `fn(customer_ids, from_user, to_user, by) -> dict[str, int]` (usable as a decorator)."""
    return transfer_hooks.register(fn)


def unregister_transfer_hook(fn: TransferHook) -> None:
    transfer_hooks.unregister(fn)


def can_hand_over(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.has_perm("crm.transfer_customers")


def transferable_users(by):
    """The active users `by` may hand customers from and to: members of their teams (admins: all)."""
    qs = get_user_model().objects.filter(is_active=True).select_related("profile__team").order_by("username")
    if is_admin(by):
        return qs
    return qs.filter(profile__team__in=managed_team_ids(by))


def may_transfer_between(by, from_user, to_user) -> bool:
    if not can_hand_over(by):
        return False
    if is_admin(by):
        return True
    teams = set(managed_team_ids(by))
    found = dict(Profile.objects.filter(user__in=[from_user, to_user]).values_list("user_id", "team_id"))
    return found.get(from_user.pk) in teams and found.get(to_user.pk) in teams if teams else False


def clean_criteria(criteria: dict | None) -> dict[str, str]:
    """Keep only known filters with valid values."""
    cleaned = {}
    for key, choices in CRITERIA_FIELDS.items():
        value = (criteria or {}).get(key) or ""
        if value in choices.values:
            cleaned[key] = value
    return cleaned


def customers_to_transfer(from_user, criteria: dict | None = None):
    """The customers a hand-over with these filters would move (merged-away records stay)."""
    return Customer.objects.filter(owner=from_user, merged_into__isnull=True, **clean_criteria(criteria))


@transaction.atomic
def transfer_customers(*, from_user, to_user, by, criteria: dict | None = None, reason: str = "") -> Transfer:
    """Move the matching customers of `from_user` to `to_user` (owner and team), audited, one transaction."""
    if not may_transfer_between(by, from_user, to_user):
        raise PermissionDenied
    if from_user.pk == to_user.pk:
        raise ValidationError(_("Pick two different people."))
    if not to_user.is_active:
        raise ValidationError(_("The receiving user is not active."))
    criteria = clean_criteria(criteria)
    to_team = Profile.objects.filter(user=to_user).values_list("team_id", flat=True).first()
    transfer = Transfer.objects.create(
        from_user=from_user, to_user=to_user, performed_by=by, reason=reason[:200], criteria=criteria
    )
    change_reason = f"hand-over #{transfer.pk}"
    customers = list(customers_to_transfer(from_user, criteria).select_for_update().order_by("pk"))
    for customer in customers:
        customer.owner_id, customer.team_id = to_user.pk, to_team
    bulk_update_with_history(
        customers,
        Customer,
        ["owner", "team"],
        batch_size=CHUNK,
        default_user=by,
        default_change_reason=change_reason,
    )
    ids = [c.pk for c in customers]
    moved = transfer_hooks.run({"customers": len(ids)}, ids, from_user, to_user, by)
    transfer.customer_count = len(ids)
    transfer.moved = moved
    transfer.save(update_fields=["customer_count", "moved"])
    return transfer


def visible_transfers(user):
    """Past hand-overs: all for admins, those touching the manager's teams (or done by them) otherwise."""
    qs = Transfer.objects.select_related("from_user", "to_user", "performed_by")
    if is_admin(user):
        return qs
    teams = managed_team_ids(user)
    return qs.filter(
        Q(performed_by=user) | Q(from_user__profile__team__in=teams) | Q(to_user__profile__team__in=teams)
    ).distinct()
