"""Celery tasks of follow-ups: thin, idempotent wrappers over services (beat entries in crm/schedules.py)."""

from celery import shared_task

from . import cadences, channels, dormancy, services


@shared_task(name="followups.tasks.check_sla")
def check_sla() -> dict:
    """Every 15 minutes: escalate each breached complaint SLA once."""
    return services.check_sla()


@shared_task(name="followups.tasks.mark_dormant")
def mark_dormant() -> dict:
    """Daily: customers with no intent for ≈ 6 months become dormant; intent shown again wakes them."""
    return dormancy.update_dormancy()


@shared_task(name="followups.tasks.create_cadence_tasks")
def create_cadence_tasks() -> dict:
    """Daily, after the dormancy run: the tier (or dormant) cadence tasks that fall due, once."""
    return cadences.create_cadence_tasks()


@shared_task(name="followups.tasks.send_channel_message", ignore_result=True)
def send_channel_message(channel_id: int, text: str) -> bool:
    """One notice to one team robot (WeCom / DingTalk); a failure is recorded and logged, not retried."""
    return channels.deliver(channel_id=channel_id, text=text)


@shared_task(name="followups.tasks.send_nps_surveys")
def send_nps_surveys() -> int:
    """Quarterly: one NPS survey link per won customer and quarter."""
    return services.send_nps_surveys()


@shared_task(name="followups.tasks.create_sop_tasks")
def create_sop_tasks(customer_id: int, stage: str, stage_entry: int | None = None) -> int:
    """Create (or, on a retry, find) a stage entry's SOP tasks; safe to run any number of times."""
    from accounts.models import Customer

    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        return 0
    return len(services.create_sop_tasks(customer=customer, stage=stage, stage_entry=stage_entry))


@shared_task(name="followups.tasks.send_sop_email")
def send_sop_email(task_id: int) -> bool:
    return services.send_sop_email(task_id=task_id)


@shared_task(name="followups.tasks.remind_due_tasks")
def remind_due_tasks() -> int:
    """Daily: remind each person of their open tasks due today or overdue, once a day."""
    return services.remind_due_tasks()
