"""`make backup` / `make restore` round trip on PostgreSQL: the restored database holds the same
rows (counts) with the same content (a checksum per key table) as the one backed up."""

import shutil
import subprocess
import uuid

import pytest
from django.conf import settings
from django.db import connection

from crm import demo

KEY_TABLES = [
    "auth_user",
    "crm_team",
    "accounts_customer",
    "accounts_contact",
    "accounts_historicalcustomer",
    "leads_lead",
    "followups_followup",
    "followups_task",
    "receivables_contract",
    "receivables_installment",
    "receivables_payment",
    "receivables_allocation",
]


def _url(name: str) -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s['USER']}{password}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{name}"


def _fingerprint(url: str) -> dict[str, tuple[int, str]]:
    """{table: (rows, md5 of every row in id order)} read with psql from the database at `url`."""
    result = {}
    for table in KEY_TABLES:
        sql = f"SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, '|' ORDER BY t.id)), '') FROM {table} t"  # noqa: S608
        out = subprocess.run(["psql", "-Atc", sql, url], capture_output=True, text=True, timeout=60, check=True)
        count, _, digest = out.stdout.strip().partition(" ")
        result[table] = (int(count), digest)
    return result


def _make(target: str, **variables) -> None:
    args = ["make", "--no-print-directory", target, *(f"{k}={v}" for k, v in variables.items())]
    done = subprocess.run(args, cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.django_db(transaction=True)
def test_a_backup_restores_to_the_same_rows(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("backups are pg_dump/pg_restore: run with DATABASE_URL=postgres://… (make test on PostgreSQL)")
    if not (shutil.which("pg_dump") and shutil.which("pg_restore") and shutil.which("psql")):
        pytest.fail("pg_dump, pg_restore and psql are needed (apt-get install postgresql-client)")
    demo.seed(customers=25)
    source = _url(connection.settings_dict["NAME"])
    before = _fingerprint(source)
    assert before["accounts_customer"][0] == 25 and before["receivables_installment"][0] > 0

    dump = tmp_path / "crm.dump"
    _make("backup", DATABASE_URL=source, BACKUP_FILE=dump)
    assert dump.stat().st_size > 0
    target = f"crm_restore_{uuid.uuid4().hex[:10]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{target}"')
    try:
        _make("restore", DATABASE_URL=_url(target), BACKUP_FILE=dump)
        assert _fingerprint(_url(target)) == before
        # Restoring over a database that already holds the data replaces it, without duplicates.
        _make("restore", DATABASE_URL=_url(target), BACKUP_FILE=dump)
        assert _fingerprint(_url(target)) == before
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
