import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection


class Command(BaseCommand):
    help = "Build a synthetic benchmark data set on PostgreSQL with COPY (see bench/data.py)."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=100_000)
        parser.add_argument("--reps", type=int, default=200)
        parser.add_argument("--teams", type=int, default=10)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--reset", action="store_true", help="empty the generated tables first")
        parser.add_argument("--no-jobs", action="store_true", help="skip the catch-up run of the beat jobs")

    def handle(self, *args, customers, reps, teams, seed, reset, no_jobs, **options):
        if connection.vendor != "postgresql":
            raise CommandError("bench_data needs PostgreSQL: set DATABASE_URL=postgres://…")
        from bench import data, jobs

        started = time.monotonic()
        if reset:
            data.reset()
        users = data.make_users(reps=reps, teams=teams)
        counts = data.build(customers, users, seed=seed, log=self.stdout.write)
        loaded = time.monotonic() - started
        self.stdout.write(f"loaded {sum(counts.values()):,} rows in {loaded:.1f}s: {counts}")
        if not no_jobs:
            # Derived tables (tiers, notices, scores …) come from the application's own jobs,
            # each in a process of its own (bench/jobs.py), two at a time.
            from bench.run import job_env, subprocess_json

            env = job_env()
            connection.close()  # the jobs' own connections do the work from here
            jobs.catch_up(lambda target: subprocess_json(["bench.jobs", target], env), log=self.stdout.write)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")  # statistics and visibility maps for the planner
        self.stdout.write(self.style.SUCCESS(f"bench data built in {time.monotonic() - started:.1f}s"))
