"""The customer timeline: one chronological feed composed from providers.

A provider is `fn(customer, user) -> list[TimelineEvent]`. accounts registers the audit
history provider below; higher apps (follow-ups, tiers, receivables) register theirs in their
`AppConfig.ready()` so that accounts never imports them:

    from accounts import timeline
    timeline.register(followups_provider)

Providers get the viewing user and must only return what that user may see (e.g. amounts).
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TimelineEvent:
    when: datetime
    kind: str  # a short key: "created", "changed", "followup", "payment" …; also used as a CSS hook
    title: str
    body: str = ""
    url: str = ""
    changes: tuple = ()  # (label, old, new) triples, for field-change events


Provider = Callable[..., list[TimelineEvent]]
_providers: list[Provider] = []


def register(provider: Provider) -> Provider:
    """Add a provider (idempotent); usable as a decorator."""
    if provider not in _providers:
        _providers.append(provider)
    return provider


def unregister(provider: Provider) -> None:
    if provider in _providers:
        _providers.remove(provider)


def providers() -> list[Provider]:
    return list(_providers)


def events_for(customer, user, *, limit: int = 50) -> list[TimelineEvent]:
    """All providers' events, newest first. A failing provider is logged and left out."""
    events: list[TimelineEvent] = []
    for provider in _providers:
        try:
            events.extend(provider(customer, user) or [])
        except Exception:
            logger.exception("timeline provider %r failed for customer %s", provider, customer.pk)
    events.sort(key=lambda e: e.when, reverse=True)
    return events[:limit]


# --- accounts' own provider: the audit history ----------------------------------------------

HIDDEN_FIELDS = {"id", "normalized_name", "merged_into", "created_by", "created_at", "updated_at", "completeness"}
AMOUNT_FIELDS = {"budget"}
HISTORY_LIMIT = 60


def _display(field, value, users: dict, teams: dict) -> str:
    if value in (None, ""):
        return "—"
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if field.name in AMOUNT_FIELDS or field.name == "annual_revenue":
        from crm.templatetags.crm_tags import cny

        return cny(value)
    if field.name == "owner":
        return users.get(value, str(value))
    if field.name == "team":
        return teams.get(value, str(value))
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, datetime):
        from django.utils import timezone

        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    return str(value)


def recent_history(customer) -> list:
    """The customer's latest HISTORY_LIMIT + 1 history records, newest first, with who made them:
    read once per customer object for both the timeline and the detail page's audit panel."""
    if "_recent_history" not in customer.__dict__:
        customer._recent_history = list(customer.history.select_related("history_user")[: HISTORY_LIMIT + 1])
    return customer._recent_history


def history_provider(customer, user) -> list[TimelineEvent]:
    """Field changes from the customer's simple_history records, old → new (amounts only if allowed)."""
    from crm.access import can_view_amounts
    from crm.models import Team
    from crm.templatetags.crm_tags import person

    from .models import Customer

    records = recent_history(customer)[::-1]  # oldest first, so each compares with the one before it
    if not records:
        return []  # rows written in bulk (demo, imports of old data) have no history
    show_amounts = can_view_amounts(user)
    tracked = {f.name for f in customer.history.model._meta.fields}
    fields = {
        f.name: f
        for f in Customer._meta.concrete_fields
        if f.name in tracked and f.name not in HIDDEN_FIELDS and (show_amounts or f.name not in AMOUNT_FIELDS)
    }
    owner_ids = {r.owner_id for r in records if r.owner_id}
    team_ids = {r.team_id for r in records if r.team_id}
    users = {u.pk: person(u) for u in get_user_model().objects.filter(pk__in=owner_ids)}
    teams = dict(Team.objects.filter(pk__in=team_ids).values_list("pk", "name"))
    events = []
    for previous, record in zip([None, *records[:-1]], records, strict=True):
        if previous is None and len(records) > HISTORY_LIMIT:
            continue  # the extra oldest record only serves as the baseline of the next one
        who = person(record.history_user) if record.history_user else _("system")
        if record.history_type == "+":
            kind, title, changes = "created", _("Customer created by %(who)s") % {"who": who}, ()
        elif record.history_type == "-":
            kind, title, changes = "deleted", _("Customer deleted by %(who)s") % {"who": who}, ()
        else:
            changes = tuple(
                change
                for change in (
                    (
                        str(field.verbose_name),
                        _display(field, getattr(previous, field.attname), users, teams),
                        _display(field, getattr(record, field.attname), users, teams),
                    )
                    for field in fields.values()
                    if previous is not None and getattr(previous, field.attname) != getattr(record, field.attname)
                )
                if change[1] != change[2]  # e.g. seconds dropped: nothing a person would call a change
            )
            if not changes and not record.history_change_reason:
                continue
            kind, title = "changed", _("Changed by %(who)s") % {"who": who}
        events.append(
            TimelineEvent(
                when=record.history_date,
                kind=kind,
                title=title,
                body=record.history_change_reason or "",
                changes=changes,
            )
        )
    return events


register(history_provider)


# --- actions on the customer page ---------------------------------------------------------------


@dataclass(frozen=True)
class CustomerAction:
    """A button on the customer page offered by a higher app (e.g. "Log follow-up")."""

    label: str
    url: str
    icon: str = "plus-lg"
    key: str = ""


ActionProvider = Callable[..., list[CustomerAction]]
_action_providers: list[ActionProvider] = []


def register_actions(provider: ActionProvider) -> ActionProvider:
    """Add `provider(customer, user) -> list[CustomerAction]` (idempotent); only actions the user may take."""
    if provider not in _action_providers:
        _action_providers.append(provider)
    return provider


def actions_for(customer, user) -> list[CustomerAction]:
    actions: list[CustomerAction] = []
    for provider in list(_action_providers):
        try:
            actions.extend(provider(customer, user) or [])
        except Exception:  # a broken provider must not take the customer page down
            logger.exception("customer action provider %r failed", provider)
    return actions
