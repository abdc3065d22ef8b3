import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection


class Command(BaseCommand):
    help = "Build a synthetic benchmark data set on PostgreSQL with COPY (see bench/data.py)."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=100_000)
        parser.add_argument("--reps", type=int, default=200)
        parser.add_argument("--teams", type=int, default=10)
        parser.add_argument("--reset", action="store_true", help="delete existing customers first")

    def handle(self, *args, customers, reps, teams, reset, **options):
        if connection.vendor != "postgresql":
            raise CommandError("bench_data needs PostgreSQL: set DATABASE_URL=postgres://…")
        from bench import data

        started = time.monotonic()
        if reset:
            with connection.cursor() as cursor:
                cursor.execute("TRUNCATE accounts_contact, accounts_customer_tags, accounts_customer CASCADE")
        users = data.make_users(reps=reps, teams=teams)
        counts = data.make_customers(customers, users)
        self.stdout.write(self.style.SUCCESS(f"bench data: {counts} in {time.monotonic() - started:.1f}s"))
