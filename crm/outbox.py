"""The transactional outbox: work that must happen after a commit, written in the same transaction.

A payment reminder sent from an `on_commit` callback is lost when the process dies between the
commit and the send, or when the mail server or Redis is down at that moment. Instead, the job
writes an `OutboxMessage` row beside its other effects; after the commit this process tries to
deliver it at once, and the `crm.tasks.drain_outbox` beat job (every minute) delivers whatever
is still pending — after a crash, or once Redis or the mail server is back.

- Each message has a unique `key` naming its effect (`reminder:<installment>:<stage>`), so a job
  that runs twice queues it once (`bulk_create(ignore_conflicts=True)`).
- A drain claims rows with one conditional UPDATE (pending, and not claimed by a live drain)
  tagged with its own token, so two drains never deliver the same row; `sent_at` marks delivery.
  A failed delivery releases the row for the next run and records the error.
- Celery jobs that cannot be published while Redis is down are parked here too (kind TASK, see
  `crm.celery.OutboxTask`) and published by the drain once the broker answers again.
"""

import logging
import uuid
from collections.abc import Iterable
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from .models import OutboxKind, OutboxMessage

logger = logging.getLogger(__name__)

# A drain that claimed rows and died leaves them claimed; another drain takes them after this.
STALE_CLAIM = timedelta(minutes=10)
CHUNK = 500
# Delivered messages are kept this long, then pruned (daily job). A key guards against sending
# twice only while its row exists, so every key's job must have its own record beyond this:
# reminders (Notice rows), surveys, nurture touches, SOP tasks and the weekly lists (unique rows),
# churn warnings (per ISO week), notices and parked jobs (unique per call).
KEEP_SENT = timedelta(days=90)


def queue_emails(messages: Iterable[tuple[str, str, str, list[str]]], *, deliver_now: bool = True) -> int:
    """Queue (key, subject, body, recipients) emails in the caller's transaction; returns how many
    keys were new. After the commit, this process delivers them unless `deliver_now` is off."""
    rows = [
        OutboxMessage(
            key=key,
            kind=OutboxKind.EMAIL,
            payload={"subject": subject, "body": body, "from": settings.DEFAULT_FROM_EMAIL, "to": list(to)},
        )
        for key, subject, body, to in messages
    ]
    return _queue(rows, deliver_now=deliver_now)


def queue_task(name: str, args: list | tuple | None = None, kwargs: dict | None = None) -> int:
    """Park a Celery job (by task name, JSON arguments only) until the broker can take it."""
    row = OutboxMessage(
        key=f"task:{name}:{uuid.uuid4().hex}",
        kind=OutboxKind.TASK,
        payload={"task": name, "args": list(args or ()), "kwargs": dict(kwargs or {})},
    )
    return _queue([row], deliver_now=False)


def _queue(rows: list[OutboxMessage], *, deliver_now: bool) -> int:
    if not rows:
        return 0
    keys = [r.key for r in rows]
    with transaction.atomic():
        known = set()
        for start in range(0, len(keys), CHUNK):  # any number of messages: keys looked up a chunk at a time
            chunk = keys[start : start + CHUNK]
            known.update(OutboxMessage.objects.filter(key__in=chunk).values_list("key", flat=True))
        OutboxMessage.objects.bulk_create(rows, ignore_conflicts=True, batch_size=CHUNK)
    if deliver_now:
        # robust: a failure here must not undo or fail the committed work; the beat job retries.
        transaction.on_commit(partial(drain, keys=keys), robust=True)
    return len(set(keys) - known)


def drain(*, keys: list[str] | None = None, limit: int = 5000) -> dict[str, int]:
    """Deliver pending messages (only `keys`, when given); returns {"sent": n, "failed": n}."""
    now = timezone.now()
    pending = OutboxMessage.objects.filter(sent_at__isnull=True).filter(
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - STALE_CLAIM)
    )
    if keys is not None:
        pending = pending.filter(key__in=keys)
    ids = list(pending.order_by("created_at", "id").values_list("id", flat=True)[:limit])
    sent = failed = 0
    for start in range(0, len(ids), CHUNK):
        token = uuid.uuid4().hex
        # The WHERE is re-checked under the row lock, so a concurrent drain skips what this claimed.
        pending.filter(pk__in=ids[start : start + CHUNK]).update(
            claim=token, claimed_at=timezone.now(), attempts=F("attempts") + 1
        )
        claimed = list(OutboxMessage.objects.filter(claim=token, sent_at__isnull=True).order_by("id"))
        done, errors = _deliver(claimed)
        OutboxMessage.objects.filter(pk__in=done, claim=token).update(sent_at=timezone.now(), claim="")
        for pk, error in errors.items():
            OutboxMessage.objects.filter(pk=pk, claim=token).update(claim="", claimed_at=None, last_error=error)
        sent, failed = sent + len(done), failed + len(errors)
    if failed:
        logger.warning("outbox: %s message(s) could not be delivered, will retry", failed)
    return {"sent": sent, "failed": failed}


def _deliver(messages: list[OutboxMessage]) -> tuple[list[int], dict[int, str]]:
    done, errors = [], {}
    emails = [m for m in messages if m.kind == OutboxKind.EMAIL]
    if emails:
        try:
            with get_connection() as connection:
                for m in emails:
                    p = m.payload
                    try:
                        EmailMessage(p["subject"], p["body"], p["from"], p["to"], connection=connection).send()
                        done.append(m.pk)
                    except Exception as exc:  # any mail failure is retried later
                        errors[m.pk] = repr(exc)[:1000]
        except Exception as exc:  # the mail server is unreachable: retry them all
            errors.update({m.pk: repr(exc)[:1000] for m in emails if m.pk not in done})
    tasks = [m for m in messages if m.kind == OutboxKind.TASK]
    if tasks:
        from .celery import app

        for m in tasks:
            try:
                app.send_task(m.payload["task"], args=m.payload["args"], kwargs=m.payload["kwargs"])
                done.append(m.pk)
            except Exception as exc:  # the broker is still down: retry next run
                errors[m.pk] = repr(exc)[:1000]
    return done, errors


def prune(*, now=None, keep: timedelta = KEEP_SENT) -> int:
    """Delete messages delivered more than `keep` ago, a chunk at a time; returns how many.
    Pending messages stay whatever their age (they are still to be delivered)."""
    cutoff = (now or timezone.now()) - keep
    removed = 0
    while True:
        ids = list(OutboxMessage.objects.filter(sent_at__lt=cutoff).values_list("id", flat=True)[: CHUNK * 10])
        if not ids:
            return removed
        removed += OutboxMessage.objects.filter(pk__in=ids).delete()[0]
