"""Dormancy (DOMAIN §2, §3): customers with no intent for 6 months go to the dormant pool.

"Intent" is what shows the customer wants to buy, not merely that someone talked to them (a C
customer's monthly standard email is logged as a follow-up too, and must not keep it active):

- a follow-up that moved the customer into intent, negotiation or won;
- activity on a not-lost opportunity (created or changed), when the leads app is installed;
- a deal (won opportunity, contract) from any revenue source registered with accounts.

Active customers older than the policy's window (182 days) with none of these in the window go
dormant, except A and B customers: their value keeps their tier strategy (DOMAIN §3 sends the
C + low potential customers and the untiered prospects to the dormant pool). A dormant customer
gets the lower dormant cadence instead of its tier cadence (see cadences.py). Intent shown after
the customer went dormant makes it active again, in the daily job and at once when a follow-up
moves its stage forward. Set-based (one grouped query per signal source), bulk writes in chunks,
audited with a reason; running it twice changes nothing the second time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.apps import apps
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import revenue
from accounts.models import Customer, Stage, Status, ValueTier
from crm.history import copy_to_history

from .models import FollowUp, FollowupPolicy

CHUNK = 1000
INTENT_STAGES = (Stage.INTENT, Stage.NEGOTIATION, Stage.WON)
KEPT_TIERS = (ValueTier.A, ValueTier.B)


def _chunks(values: list, size: int = CHUNK):
    for start in range(0, len(values), size):
        yield values[start : start + size]


def last_intent(*, since: datetime) -> dict[int, datetime]:
    """The latest intent signal at or after `since`, per customer id (customers without one absent)."""
    latest: dict[int, datetime] = {}

    def add(rows):
        for customer_id, at in rows:
            if at is not None and (customer_id not in latest or at > latest[customer_id]):
                latest[customer_id] = at

    add(
        FollowUp.objects.filter(occurred_at__gte=since, stage_to__in=INTENT_STAGES)
        .values("customer_id")
        .annotate(at=Max("occurred_at"))
        .values_list("customer_id", "at")
    )
    if apps.is_installed("leads"):  # a sibling app: read through the registry, no import
        opportunity = apps.get_model("leads", "Opportunity")
        add(
            opportunity.objects.filter(updated_at__gte=since)
            .exclude(stage="lost")
            .values("customer_id")
            .annotate(at=Max("updated_at"))
            .values_list("customer_id", "at")
        )
    for source in revenue.sources():
        add((row[0], row[2]) for row in source.deals(since))
    return latest


def _set_status(ids: list[int], *, old: str, new: str, reason: str) -> int:
    changed = 0
    for batch_ids in _chunks(ids):
        # One value for every row: UPDATE … WHERE id IN (bulk_update would send a CASE with a
        # branch per row), then the history rows copied from the updated rows in one INSERT.
        with transaction.atomic():
            batch = list(
                Customer.objects.select_for_update().filter(pk__in=batch_ids, status=old).values_list("pk", flat=True)
            )
            Customer.objects.filter(pk__in=batch).update(status=new)
            copy_to_history(Customer, batch, reason=reason)
        changed += len(batch)
    return changed


def reactivate(*, customer_ids, reason: str) -> int:
    """Dormant customers among these become active again (audited)."""
    return _set_status(list(customer_ids), old=Status.DORMANT, new=Status.ACTIVE, reason=reason)


def _dormant_since(customer_ids: list[int]) -> dict[int, datetime]:
    """When each (currently dormant) customer last became dormant, from its audit history."""
    history = Customer.history.model
    since: dict[int, datetime] = {}
    for batch in _chunks(customer_ids):
        rows = (
            history.objects.filter(id__in=batch)
            .order_by("id", "history_id")
            .values_list("id", "status", "history_date")
        )
        previous: dict[int, str] = {}
        for pk, status, at in rows:
            if status == Status.DORMANT and previous.get(pk) != Status.DORMANT:
                since[pk] = at
            previous[pk] = status
    return since


@transaction.atomic
def update_dormancy(*, now: datetime | None = None) -> dict[str, int]:
    """Daily: no intent for the policy's days → dormant; intent since going dormant → active again."""
    now = now or timezone.now()
    days = FollowupPolicy.current().dormant_after_days
    cutoff = now - timedelta(days=days)
    intent = last_intent(since=cutoff)

    candidates = (
        Customer.objects.filter(status=Status.ACTIVE, merged_into__isnull=True, created_at__lt=cutoff)
        .exclude(tier_assessment__tier__in=KEPT_TIERS)
        .values_list("pk", flat=True)
    )
    stale = [pk for pk in candidates.iterator(chunk_size=CHUNK) if pk not in intent]
    dormant = _set_status(
        stale,
        old=Status.ACTIVE,
        new=Status.DORMANT,
        reason=_("Dormant: no intent for %(days)d days") % {"days": days},
    )

    woken = []
    for batch in _chunks(list(intent)):
        created = dict(Customer.objects.filter(pk__in=batch, status=Status.DORMANT).values_list("pk", "created_at"))
        went_dormant = _dormant_since(list(created))  # no recorded move (imported dormant): since creation
        woken += [pk for pk in created if intent[pk] > went_dormant.get(pk, created[pk])]
    reactivated = reactivate(customer_ids=woken, reason=_("Active again: the customer shows intent"))
    return {"dormant": dormant, "reactivated": reactivated}
