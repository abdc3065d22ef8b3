"""Re-tier every customer now (what the quarterly job does), or only preview who would move."""

from django.core.management.base import BaseCommand

from accounts.services import tiering


class Command(BaseCommand):
    help = "Re-tier every customer under the current policy (--preview: show the moves, write nothing)."

    def add_arguments(self, parser):
        parser.add_argument("--preview", action="store_true", help="Only show who would move; write nothing.")

    def handle(self, *args, preview: bool = False, **options):
        plan = tiering.preview_retier() if preview else tiering.apply_retier()
        verb = "would change" if preview else "changed"
        self.stdout.write(
            f"policy v{plan.policy.version}: {plan.total} customers, {plan.changes} {verb}, {plan.writes} writes"
        )
        for move, count in sorted(plan.moves.items()):
            self.stdout.write(f"  {move}: {count}")
        for row in plan.sample if preview else []:
            self.stdout.write(f"  {row['name']}: {row['from']} → {row['to']}")
