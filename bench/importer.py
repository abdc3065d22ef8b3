"""The import leg of the benchmark: check and apply an N-row customer CSV through the real services.

    python -m bench.importer 50000      → one JSON line: seconds (check, apply, total), peak RSS

The file has every column of the template filled (contact and owner included), new unique
names and credit codes. The job is validated and applied exactly as the Celery tasks do it
(accounts.services.imports.validate_job / apply_job), as the benchmark admin. Afterwards the
imported rows are deleted again so the data set keeps its scale.
"""

import csv
import io
import json
import os
import resource
import sys
import time

import numpy as np


def make_csv(rows: int, owners: list[str], start: int) -> bytes:
    """A CSV with English headers; ids from `start` keep names and credit codes new."""
    from accounts.services.imports import SPECS
    from bench.data import PREFIXES, SUFFIXES, SURNAMES, _credit_codes

    rng = np.random.default_rng(11)
    ids = np.arange(start, start + rows, dtype=np.int64)
    codes = _credit_codes(ids, rng.random(rows) < 0.6)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([column.en for column in SPECS["customers"].columns])
    for i, pk in enumerate(ids):
        name = f"导入{PREFIXES[pk % len(PREFIXES)]}{SUFFIXES[pk % len(SUFFIXES)]}{pk}有限公司"
        writer.writerow(
            [
                name, codes[i] or "", "End customer", "Manufacturing", "50-199", "3000000", "上海", "上海",
                "2015-06-01", "ToB", "www.example.com", "Exhibition", "降低库存成本", "", "500000", "Intent",
                "Active", "安排演示", owners[i % len(owners)], "", f"{SURNAMES[i % len(SURNAMES)]}经理", "采购经理",
                "Decision-maker", f"138{i:08d}", f"import{pk}@example.com", "",
            ]
        )  # fmt: skip
    return buffer.getvalue().encode("utf-8-sig")


def run(rows: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.core.files.base import ContentFile
    from django.db import connection

    from accounts.models import Customer, ImportJob
    from accounts.services import imports

    admin = get_user_model().objects.get(username="bench_admin")
    owners = [f"bench_rep{n:03d}" for n in range(1, 21)]
    before = Customer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    content = make_csv(rows, owners, start=10**9 + before)
    job = ImportJob.objects.create(
        kind="customers", original_name="bench.csv", created_by=admin, report={"language": "zh-hans"}
    )
    job.file.save("bench.csv", ContentFile(content), save=True)
    started = time.perf_counter()
    imports.validate_job(job.pk)
    checked = time.perf_counter()
    job.refresh_from_db()
    if job.error_count:
        raise SystemExit(f"import check found {job.error_count} bad rows: {json.dumps(job.report)[:300]}")
    ImportJob.objects.filter(pk=job.pk).update(state=ImportJob.State.QUEUED)  # what queue_apply claims
    applied = imports.apply_job(job.pk)
    finished = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    job.refresh_from_db()
    outcome = {
        "seconds": round(finished - started, 2),
        "check_seconds": round(checked - started, 2),
        "apply_seconds": round(finished - checked, 2),
        "peak_rss_mib": round(peak, 1),
        "result": {"applied": applied, "state": job.state, "rows": job.total_rows},
    }
    # keep the data set at its scale: remove what the import added
    tables = {
        "contact": "accounts_contact",
        "tags": "accounts_customer_tags",
        "history": Customer.history.model._meta.db_table,
    }
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {tables['tags']} WHERE customer_id > %s", [before])  # noqa: S608 - model tables
        cursor.execute(f"DELETE FROM {tables['contact']} WHERE customer_id > %s", [before])  # noqa: S608
        cursor.execute(f"DELETE FROM {tables['history']} WHERE id > %s", [before])  # noqa: S608
        cursor.execute("DELETE FROM accounts_historicalcontact WHERE customer_id > %s", [before])
        cursor.execute("DELETE FROM accounts_customer WHERE id > %s", [before])
    job.file.delete(save=False)
    job.delete()
    return outcome


def main() -> None:
    from bench.run import django_setup

    django_setup()
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000), default=str))
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
