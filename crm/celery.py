"""The Celery application. Periodic jobs are declared once, in crm/schedules.py."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

app = Celery("crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _ensure_filesystem_broker_folders(sender, **kwargs):
    """Kombu's filesystem transport needs its folders to exist before it polls them."""
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "control_folder", "processed_folder"):
        if options.get(key):
            os.makedirs(options[key], exist_ok=True)
