"""The audit trail: who did what, when, to which record, and which fields changed.

Two sources, one reader:
- record changes (create/update/delete of customers, contacts, opportunities, contracts,
  payments, credit ratings, tier strategies …) are the django-simple-history rows those models
  already keep, with the acting user set by the history middleware or the service;
  tier moves (re-tier, override) are accounts' TierChange rows;
- what no model history holds — exports, denied access, sign-ins and lockouts — is written here
  as append-only `AuditEntry` rows (`record`, `record_export`, `record_denied`, `record_login…`).

`trail_for_customer` and `trail_for_user` merge both into one list of `TrailItem`, newest first.
crm sits below the apps, so the audited models are named by label and resolved lazily.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.apps import apps
from django.db import DatabaseError, models
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import AuditAction, AuditEntry

logger = logging.getLogger(__name__)

# Audited models with a history table, and how their rows point at the customer they belong to.
CUSTOMER_HISTORIES = {
    "accounts.Customer": "id",
    "accounts.Contact": "customer_id",
    "leads.Opportunity": "customer_id",
    "receivables.CreditRating": "customer_id",
    "receivables.Contract": "customer_id",
    "receivables.Payment": "contract__customer_id",
}
# Audited models without a customer (configuration): only in the trail of the user who changed them.
OTHER_HISTORIES = ("accounts.TierPolicy", "accounts.MaintenanceStrategy", "receivables.PaymentTermPolicy")
TIER_CHANGES = "accounts.TierChange"
# Never shown as a changed field (bookkeeping).
SKIPPED_FIELDS = {"updated_at", "normalized_name", "normalized_company", "completeness"}
HISTORY_ACTIONS = {"+": AuditAction.CREATE, "~": AuditAction.UPDATE, "-": AuditAction.DELETE}


# --- writing --------------------------------------------------------------------------------


def client_ip(request) -> str | None:
    return (request.META.get("REMOTE_ADDR") or None) if request is not None else None


def record(
    action: str,
    *,
    actor=None,
    username: str = "",
    obj=None,
    object_type: str = "",
    object_id="",
    changes: dict | None = None,
    request=None,
    status: int | None = None,
) -> AuditEntry | None:
    """Append one audit row. Never breaks the action it records: a failure is logged."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    if obj is not None:
        object_type = object_type or obj._meta.label
        object_id = object_id or obj.pk
    entry = AuditEntry(
        actor=actor,
        username=(username or getattr(actor, "username", ""))[:150],
        action=action,
        object_type=object_type,
        object_id="" if object_id in (None, "") else str(object_id)[:64],
        object_repr=str(obj)[:200] if obj is not None else "",
        changes=changes or {},
        method=(request.method or "")[:10] if request is not None else "",
        path=request.get_full_path()[:500] if request is not None else "",
        status=status,
        ip=client_ip(request),
    )
    try:
        entry.save(force_insert=True)
    except DatabaseError:
        logger.exception("could not write the audit entry %s %s", action, object_type)
        return None
    return entry


def record_export(request, *, what: str, fmt: str = "", rows: int | None = None) -> AuditEntry | None:
    """One line in every export view: who exported which list, in which format, with which filters."""
    details = {"format": fmt, "filters": {k: v for k, v in request.GET.items() if k not in ("_export", "page")}}
    if rows is not None:
        details["rows"] = rows
    return record(AuditAction.EXPORT, actor=request.user, object_type=what, changes=details, request=request)


def record_denied(request, *, status: int) -> AuditEntry | None:
    match = getattr(request, "resolver_match", None)
    return record(
        AuditAction.DENIED,
        actor=request.user,
        object_type=(match.view_name if match else "")[:100],
        object_id=",".join(str(v) for v in (match.kwargs.values() if match else []))[:64],
        request=request,
        status=status,
    )


# --- reading --------------------------------------------------------------------------------


@dataclass
class TrailItem:
    at: datetime
    action: str
    actor: object
    username: str
    object_type: str
    object_label: str
    object_repr: str
    changes: list = field(default_factory=list)  # (field label, old, new)
    note: str = ""

    @property
    def action_label(self) -> str:
        return AuditAction(self.action).label if self.action in AuditAction.values else self.action


def _model(label: str):
    try:
        return apps.get_model(label)
    except (LookupError, ValueError):
        return None


def _type_label(object_type: str) -> str:
    """A model label ("accounts.Customer") as its verbose name; anything else (a view name) as is."""
    model = _model(object_type) if object_type.count(".") == 1 else None
    return str(model._meta.verbose_name) if model is not None else object_type


def _is_amount(model_field) -> bool:
    return isinstance(model_field, models.DecimalField)


@dataclass(frozen=True)
class _Ref:
    """A foreign-key value in a diff, shown by the related record's name once all are read."""

    model: type
    pk: object


def _shown(value) -> str:
    if value in (None, ""):
        return "—"
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, datetime):
        return f"{timezone.localtime(value):%Y-%m-%d %H:%M}"
    return str(value)


def _diff(model, older, newer, *, show_amounts: bool) -> list:
    changes = []
    for model_field in model._meta.concrete_fields:
        name = model_field.attname
        if name in SKIPPED_FIELDS or model_field.primary_key or not hasattr(newer, name):
            continue
        old = getattr(older, name, None) if older is not None else None
        new = getattr(newer, name)
        if old == new or (older is None and new in (None, "")):
            continue
        if _is_amount(model_field) and not show_amounts:
            old, new = ("•••" if old not in (None, "") else None), "•••"
        label = str(model_field.verbose_name)
        if model_field.choices:
            choices = dict(model_field.flatchoices)
            old, new = choices.get(old, old), choices.get(new, new)
        elif model_field.is_relation:
            related = model_field.related_model
            old, new = (_Ref(related, v) if v is not None else None for v in (old, new))
        changes.append([label, *(v if isinstance(v, _Ref) else _shown(v) for v in (old, new))])
    return changes


def _name_of(obj) -> str:
    from django.contrib.auth import get_user_model

    if isinstance(obj, get_user_model()):
        from .templatetags.crm_tags import person

        return str(person(obj))
    return str(obj)


def _resolve(items: list) -> None:
    """Foreign keys in the diffs → the related records' names: one query per related model."""
    wanted: dict[type, set] = {}
    for item in items:
        for change in item.changes:
            for value in change[1:]:
                if isinstance(value, _Ref):
                    wanted.setdefault(value.model, set()).add(value.pk)
    names = {
        (model, obj.pk): _name_of(obj)
        for model, pks in wanted.items()
        for obj in model._base_manager.filter(pk__in=pks)
    }
    for item in items:
        item.changes = [
            (
                label,
                *(names.get((v.model, v.pk), f"#{v.pk}") if isinstance(v, _Ref) else v for v in (old, new)),
            )
            for label, old, new in item.changes
        ]


def _history_items(label: str, history_qs, *, show_amounts: bool) -> list[TrailItem]:
    """History rows → trail items, each diffed against the previous row of the same object."""
    model = _model(label)
    rows = list(history_qs.select_related("history_user").order_by("id", "history_date", "history_id"))
    previous: dict = {}
    items = []
    for row in rows:
        older = previous.get(row.id)
        previous[row.id] = row
        action = HISTORY_ACTIONS.get(row.history_type, AuditAction.UPDATE)
        changes = [] if action == AuditAction.DELETE else _diff(model, older, row, show_amounts=show_amounts)
        items.append(
            TrailItem(
                at=row.history_date,
                action=action,
                actor=row.history_user,
                username=getattr(row.history_user, "username", ""),
                object_type=label,
                object_label=str(model._meta.verbose_name),
                object_repr=str(row.instance)[:200],
                changes=changes,
                note=row.history_change_reason or "",
            )
        )
    return items


def _tier_items(queryset) -> list[TrailItem]:
    model = _model(TIER_CHANGES)
    items = []
    for change in queryset.select_related("by", "customer"):
        items.append(
            TrailItem(
                at=change.changed_at,
                action=AuditAction.UPDATE,
                actor=change.by,
                username=getattr(change.by, "username", ""),
                object_type=TIER_CHANGES,
                object_label=str(model._meta.verbose_name),
                object_repr=str(change.customer)[:200],
                changes=[(str(model._meta.get_field("to_tier").verbose_name), change.from_tier or "—", change.to_tier)],
                note=" · ".join(filter(None, [change.get_kind_display(), change.reason])),
            )
        )
    return items


def _entry_items(queryset) -> list[TrailItem]:
    items = []
    for entry in queryset.select_related("actor"):
        details = entry.changes or {}
        items.append(
            TrailItem(
                at=entry.at,
                action=entry.action,
                actor=entry.actor,
                username=entry.username,
                object_type=entry.object_type,
                object_label=_type_label(entry.object_type),
                object_repr=entry.object_repr or entry.object_id,
                changes=[(str(k), "", _shown(v)) for k, v in details.items()],
                note=" ".join(filter(None, [entry.method, entry.path, str(entry.status or "")])),
            )
        )
    return items


@dataclass(frozen=True)
class TrailFilter:
    """Which part of a trail to show: [since, until) and one action; empty means everything."""

    since: datetime | None = None
    until: datetime | None = None
    action: str = ""

    def dates(self, lookup: str) -> dict:
        bounds = {f"{lookup}__gte": self.since, f"{lookup}__lt": self.until}
        return {key: value for key, value in bounds.items() if value is not None}

    def keeps(self, item: TrailItem) -> bool:
        return (
            (self.since is None or item.at >= self.since)
            and (self.until is None or item.at < self.until)
            and (not self.action or item.action == self.action)
        )


EVERYTHING = TrailFilter()


def _newest_first(items: list[TrailItem], limit: int, only: TrailFilter) -> list[TrailItem]:
    items = [item for item in items if only.keeps(item)]
    items.sort(key=lambda item: item.at, reverse=True)
    items = items[:limit]
    _resolve(items)
    return items


def trail_for_customer(
    customer_id: int, *, show_amounts: bool, limit: int = 200, only: TrailFilter = EVERYTHING
) -> list[TrailItem]:
    """Every change to a customer and what belongs to it, its tier moves, and audit rows about it."""
    items: list[TrailItem] = []
    for label, lookup in CUSTOMER_HISTORIES.items():
        model = _model(label)
        if model is not None and hasattr(model, "history"):
            qs = model.history.filter(**{lookup: customer_id})
            items += _history_items(label, qs, show_amounts=show_amounts)
    tier_model = _model(TIER_CHANGES)
    if tier_model is not None:
        items += _tier_items(tier_model.objects.filter(customer_id=customer_id, **only.dates("changed_at")))
    entries = AuditEntry.objects.filter(object_type="accounts.Customer", object_id=str(customer_id))
    items += _entry_items(entries.filter(**only.dates("at")))
    return _newest_first(items, limit, only)


def trail_for_user(
    user_id: int, *, show_amounts: bool, limit: int = 200, only: TrailFilter = EVERYTHING
) -> list[TrailItem]:
    """Everything a user did: record changes, tier moves, exports, denials and sign-ins."""
    items: list[TrailItem] = []
    for label in (*CUSTOMER_HISTORIES, *OTHER_HISTORIES):
        model = _model(label)
        if model is not None and hasattr(model, "history"):
            qs = model.history.filter(history_user_id=user_id, **only.dates("history_date"))
            qs = qs.order_by("-history_date")[:limit]
            ids = list(qs.values_list("history_id", flat=True))
            # Diff against the object's previous row, which may be someone else's.
            object_ids = set(model.history.filter(history_id__in=ids).values_list("id", flat=True))
            rows = model.history.filter(id__in=object_ids)
            items += [
                item
                for item, row_user in zip(
                    _history_items(label, rows, show_amounts=show_amounts),
                    rows.order_by("id", "history_date", "history_id").values_list("history_user_id", flat=True),
                    strict=True,
                )
                if row_user == user_id
            ]
    tier_model = _model(TIER_CHANGES)
    if tier_model is not None:
        changes = tier_model.objects.filter(by_id=user_id, **only.dates("changed_at"))
        items += _tier_items(changes.order_by("-changed_at")[:limit])
    entries = AuditEntry.objects.filter(actor_id=user_id, **only.dates("at"))
    if only.action:
        entries = entries.filter(action=only.action)
    items += _entry_items(entries[:limit])
    return _newest_first(items, limit, only)
