from celery import shared_task

from . import outbox, services


@shared_task(name="crm.tasks.heartbeat")
def heartbeat() -> int:
    """Thin wrapper: record that beat and a worker are alive; returns the run count."""
    worker = getattr(heartbeat.request, "hostname", "") or ""
    return services.record_heartbeat(worker=worker).run_count


@shared_task(name="crm.tasks.refresh_dashboards")
def refresh_dashboards() -> dict:
    """Every 30 minutes: recompute the unfiltered dashboards of admins, managers and finance."""
    from .dashboards import snapshots

    return snapshots.refresh()


@shared_task(name="crm.tasks.drain_outbox")
def drain_outbox() -> dict:
    """Every minute: deliver outbox messages still pending (after a crash or an outage)."""
    return outbox.drain()


@shared_task(name="crm.tasks.prune_outbox")
def prune_outbox() -> int:
    """Daily: delete outbox messages delivered more than 90 days ago."""
    return outbox.prune()
