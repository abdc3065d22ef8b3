"""crm.pgtime: PostgreSQL timestamps read by psycopg's C loader give what Django's loader gives."""

import datetime

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import register_tzloader
from django.utils import timezone

from crm import pgtime
from tests.conftest import require

pytestmark = pytest.mark.django_db

LITERALS = [
    "2026-11-24 21:54:45.557773+00",
    "2026-01-02 03:04:05.1+08",  # another offset: the same instant, in UTC
    "1969-12-31 23:59:59-05:30",
    "0001-01-01 00:00:00+00",
    "9999-12-31 23:59:59.999999+00",
    "2024-02-29 12:00:00+14",
]


def on_postgresql():
    require(connection.vendor == "postgresql", "the loader is psycopg's: run on PostgreSQL (CI does)")
    connection.ensure_connection()


def read(literals, *, django_loader: bool):
    """The values of `literals` as timestamptz, through Django's loader or the connection's."""
    with connection.cursor() as cursor:
        if django_loader:
            register_tzloader(connection.timezone, cursor.cursor)
        cursor.execute("SELECT " + ", ".join(f"'{x}'::timestamptz" for x in literals) + ", NULL::timestamptz")
        return cursor.fetchone()


def test_each_connection_reads_timestamps_with_the_c_loader():
    on_postgresql()
    from psycopg.pq import Format

    assert pgtime.applies(connection)
    loader = connection.connection.adapters.get_loader(1184, Format.TEXT)  # 1184: timestamptz
    assert loader is pgtime.UTCTimestamptzLoader


def test_it_reads_the_same_values_and_time_zone_as_django_s_loader():
    on_postgresql()
    ours, django_s = read(LITERALS, django_loader=False), read(LITERALS, django_loader=True)
    assert ours == django_s
    assert ours[-1] is None
    for mine, theirs in zip(ours[:-1], django_s[:-1], strict=True):
        assert mine.tzinfo is theirs.tzinfo is datetime.UTC
        assert mine.utcoffset() == datetime.timedelta(0)
    assert ours[1] == datetime.datetime(2026, 1, 1, 19, 4, 5, 100000, tzinfo=datetime.UTC)


def test_a_model_s_datetimes_round_trip():
    on_postgresql()
    from crm.models import Heartbeat

    moment = timezone.now().replace(microsecond=123456)
    beat = Heartbeat.objects.create(name="pgtime", last_run_at=moment)
    assert Heartbeat.objects.get(pk=beat.pk).last_run_at == moment


def test_a_session_in_another_time_zone_keeps_django_s_loader():
    on_postgresql()
    with connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'Asia/Shanghai'")
    try:
        assert not pgtime.applies(connection)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'UTC'")
    assert pgtime.applies(connection)


def test_nothing_changes_for_other_databases(monkeypatch):
    class Other:
        vendor = "sqlite"
        connection = object()
        timezone = datetime.UTC

    assert not pgtime.applies(Other())
    monkeypatch.setattr(pgtime, "_CLoader", None)
    assert not pgtime.applies(connection)
