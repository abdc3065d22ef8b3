"""Celery tasks of receivables: thin, idempotent wrappers over services (beat entries in crm/schedules.py)."""

from celery import shared_task

from . import services


@shared_task(name="receivables.tasks.run_daily_reminders")
def run_daily_reminders() -> dict:
    """Daily: reminders 7 days before due, collection at day +1, escalation at 30/60, bad debt > 90."""
    return services.run_daily_reminders()
