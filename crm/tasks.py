from celery import shared_task

from . import services


@shared_task(name="crm.tasks.heartbeat")
def heartbeat() -> int:
    """Thin wrapper: record that beat and a worker are alive; returns the run count."""
    worker = getattr(heartbeat.request, "hostname", "") or ""
    return services.record_heartbeat(worker=worker).run_count
