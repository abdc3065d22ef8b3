"""The one door for a customer's lifecycle stage (DOMAIN §1): prospect → intent → negotiation → won.

Allowed moves (the table below is the authority):

- forward one step at a time: prospect → intent → negotiation → won;
- churned from any stage (a lost or terminated customer);
- back one step where a deal really goes backwards: intent → prospect (the interest cooled),
  negotiation → intent (talks stalled, back to qualifying);
- win-back: churned → prospect or intent.
- won is otherwise final: upsell and renewal are opportunities (leads/), not stage moves.

Setting the current stage again is a no-op (nothing saved, no hook called), so a form or job that
saves the same change twice has no side effect. Higher apps react to a real change by registering
a hook (`register_stage_hook(fn)`, fn(customer, old, new, by)), e.g. follow-ups create the new
stage's SOP tasks; hooks run inside the same transaction, after the audited save. The id of the
history row that records the move is left on `customer.stage_entry_id`, a stable key for
"this entry into the stage" (a later re-entry gets a new one).

A newly created customer has entered its first stage without a move: `enter_first_stage`
runs the hooks for it (old stage "") so e.g. the prospect SOP starts; creation code calls it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction
from django.utils.translation import gettext as _

from ..models import Customer, Stage

logger = logging.getLogger(__name__)

TRANSITIONS: dict[str, frozenset[str]] = {
    Stage.PROSPECT: frozenset({Stage.INTENT, Stage.CHURNED}),
    Stage.INTENT: frozenset({Stage.NEGOTIATION, Stage.PROSPECT, Stage.CHURNED}),
    Stage.NEGOTIATION: frozenset({Stage.WON, Stage.INTENT, Stage.CHURNED}),
    Stage.WON: frozenset({Stage.CHURNED}),
    Stage.CHURNED: frozenset({Stage.PROSPECT, Stage.INTENT}),
}

StageHook = Callable[..., None]
_hooks: list[StageHook] = []


class StageTransitionError(Exception):
    """A forbidden stage move; str(error) is the message for the user."""


def register_stage_hook(fn: StageHook) -> StageHook:
    """Call fn(customer, old, new, by) after every real stage change (idempotent; a decorator too)."""
    if fn not in _hooks:
        _hooks.append(fn)
    return fn


def unregister_stage_hook(fn: StageHook) -> None:
    if fn in _hooks:
        _hooks.remove(fn)


def allowed_stages(current: str) -> list[str]:
    """The stages a customer in `current` may move to, in lifecycle order."""
    targets = TRANSITIONS.get(current, frozenset())
    return [value for value in Stage.values if value in targets]


def can_move(current: str, new: str) -> bool:
    return new == current or new in TRANSITIONS.get(current, frozenset())


def _label(value: str) -> str:
    return str(Stage(value).label) if value in Stage.values else value


@transaction.atomic
def set_stage(*, customer: Customer, stage: str, by=None, reason: str = "", won_deal: bool = False) -> Customer:
    """Move `customer` to `stage` through the transitions table, audited, then run the hooks.

    Raises StageTransitionError on a forbidden move or an unknown stage. The row is locked and
    re-read, so two concurrent or repeated calls with the same target change it only once.
    `won_deal=True` is the one exception to the table: a won opportunity proves the deal, so the
    customer goes straight to won from any earlier stage (see `record_won_deal`).
    """
    if stage not in Stage.values:
        raise StageTransitionError(_("“%(stage)s” is not a lifecycle stage.") % {"stage": stage})
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    old = locked.stage
    if old == stage:
        customer.stage = stage
        return customer
    jump_to_won = won_deal and stage == Stage.WON
    if not jump_to_won and stage not in TRANSITIONS.get(old, frozenset()):
        raise StageTransitionError(
            _("A customer cannot move from “%(from)s” to “%(to)s”.") % {"from": _label(old), "to": _label(stage)}
        )
    locked.stage = stage
    locked._history_user = by
    locked._change_reason = reason or _("Stage: %(from)s → %(to)s") % {"from": _label(old), "to": _label(stage)}
    locked.save(update_fields=["stage", "updated_at"])
    entry = locked.history.order_by("-history_id").values_list("history_id", flat=True).first()
    customer.stage = stage
    customer.stage_entry_id = locked.stage_entry_id = entry
    for hook in list(_hooks):
        hook(customer, old, stage, by)
    return customer


def record_won_deal(*, customer: Customer, by=None) -> Customer:
    """A won opportunity makes its customer a won customer, whatever stage it had reached."""
    return set_stage(customer=customer, stage=Stage.WON, by=by, won_deal=True, reason=_("Opportunity won"))


@transaction.atomic
def enter_first_stage(*, customer: Customer, by=None) -> Customer:
    """Run the stage hooks for a customer that was just created (old stage ""), e.g. so the
    prospect SOP (first contact ≤ 24 h) starts. Call it once after creating the customer; a
    repeat is harmless because hooks key their work by the stage entry (the creation's history row)."""
    entry = customer.history.order_by("history_id").values_list("history_id", "stage").first()
    customer.stage_entry_id = entry[0] if entry and entry[1] == customer.stage else None
    for hook in list(_hooks):
        hook(customer, "", customer.stage, by)
    return customer
