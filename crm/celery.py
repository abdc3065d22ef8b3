"""The Celery application. Periodic jobs are declared once, in crm/schedules.py."""

import logging
import os

from celery import Celery, Task
from kombu.exceptions import OperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

logger = logging.getLogger(__name__)


class OutboxTask(Task):
    """A task whose publishing survives a broker outage: when Redis cannot take the message, the
    job is parked in the database outbox (crm.outbox) and published by its drain once Redis is
    back, so the request or job that enqueued it still succeeds. Arguments must be JSON (ids)."""

    def apply_async(self, args=None, kwargs=None, **options):
        try:
            return super().apply_async(args, kwargs, **options)
        except OperationalError:
            from crm.outbox import queue_task

            logger.warning("broker unavailable: %s parked in the outbox", self.name)
            queue_task(self.name, args, kwargs)
            return None


app = Celery("crm", task_cls=OutboxTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _ensure_filesystem_broker_folders(sender, **kwargs):
    """Kombu's filesystem transport needs its folders to exist before it polls them."""
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "control_folder", "processed_folder"):
        if options.get(key):
            os.makedirs(options[key], exist_ok=True)
