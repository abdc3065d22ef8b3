"""Demo data: users of every role, two teams, and Chinese companies (Faker zh_CN).

Idempotent: users are created once; customers are topped up to the requested number.
Later capabilities add their own demo data through `crm.demo.SEEDERS`.
"""

from django.core.management.base import BaseCommand

from crm import demo


class Command(BaseCommand):
    help = "Create demo users, teams and customers (idempotent; sized by --customers)."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=120, help="total demo customers wanted (default 120)")
        parser.add_argument("--if-empty", action="store_true", help="do nothing when customers already exist")

    def handle(self, *args, customers, if_empty, **options):
        result = demo.seed(customers=customers, if_empty=if_empty)
        if result is None:
            self.stdout.write("database already has data: demo seeding skipped")
            return
        self.stdout.write(self.style.SUCCESS(f"demo data ready: {result['customers_created']} customers added"))
        self.stdout.write(f"logins (password for all: {demo.DEMO_PASSWORD}):")
        for username, role, team in demo.DEMO_USERS:
            self.stdout.write(f"  {username:<10} {role.label:<18} {team or ''}")
