from django.core.management.base import BaseCommand

from crm.services import ensure_periodic_tasks


class Command(BaseCommand):
    help = "Create the periodic jobs declared in crm/schedules.py that are missing (edited ones are kept)."

    def handle(self, *args, **options):
        created = ensure_periodic_tasks()
        self.stdout.write(f"schedules created: {', '.join(created) or 'none (all present)'}")
