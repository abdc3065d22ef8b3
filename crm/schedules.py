"""Every periodic job of the CRM, declared in one place.

django-celery-beat keeps them in the database so managers and admins can see and change them
in the admin; `python manage.py setup_schedules` creates the missing ones from this table and
never overwrites an edited entry. Later issues add their jobs here.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Schedule:
    name: str
    task: str
    description: str
    every_seconds: int | None = None
    crontab: str | None = None  # "minute hour day_of_month month_of_year day_of_week"


SCHEDULES = [
    Schedule(
        name="heartbeat",
        task="crm.tasks.heartbeat",
        description=_("Records that the scheduler and a worker are alive (shown on the status page)."),
        every_seconds=60,
    ),
]
