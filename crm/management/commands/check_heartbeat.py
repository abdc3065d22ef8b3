from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from crm.models import Heartbeat


class Command(BaseCommand):
    help = "Exit non-zero when the heartbeat job has not run recently (a health check for beat + worker)."

    def add_arguments(self, parser):
        parser.add_argument("--max-age", type=int, default=300, help="seconds (default 300)")

    def handle(self, *args, max_age, **options):
        cutoff = timezone.now() - timedelta(seconds=max_age)
        beat = Heartbeat.objects.filter(name="heartbeat").first()
        if beat is None or beat.last_run_at < cutoff:
            raise CommandError(f"heartbeat older than {max_age}s: {beat.last_run_at if beat else 'never ran'}")
        self.stdout.write(f"heartbeat ok: {beat.last_run_at.isoformat()} ({beat.run_count} runs)")
