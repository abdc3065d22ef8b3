"""Celery tasks of the lead pool: thin, idempotent wrappers over services (beat entries in crm/schedules.py)."""

from celery import shared_task

from . import services


@shared_task(name="leads.tasks.rescore_leads")
def rescore_leads() -> int:
    """Nightly: recompute every open lead's score and grade; returns how many changed."""
    return services.rescore_all()


@shared_task(name="leads.tasks.recycle_pool")
def recycle_pool() -> dict:
    """Nightly: leads and prospects without follow-up for N days return to the public pool."""
    return services.recycle_pool()


@shared_task(name="leads.tasks.send_nurture_touches")
def send_nurture_touches() -> dict:
    """Daily: email/SMS touches for leads in nurture, never twice in one period."""
    return services.send_nurture_touches()


@shared_task(name="leads.tasks.build_high_potential_list")
def build_high_potential_list() -> int:
    """Mondays: snapshot the high-potential lead list and email it to managers."""
    return services.build_high_potential_list().pk


@shared_task(name="leads.tasks.assign_lead")
def assign_lead(lead_id: int) -> None:
    """Route one new pool lead (the public web form enqueues this after commit)."""
    from .models import Lead

    lead = Lead.objects.filter(pk=lead_id).first()
    if lead is not None:
        services.assign_lead(lead=lead)
