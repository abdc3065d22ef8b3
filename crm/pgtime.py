"""PostgreSQL timestamps read at C speed.

On psycopg 3, Django reads every `timestamp with time zone` value through its own loader
(django.db.backends.postgresql.psycopg_any.BaseTzLoader): psycopg's pure-Python parser (a regular
expression and eight int() calls), then `replace(tzinfo=…)`, ~3 µs a value. psycopg's C loader,
used for every other type, does the same in ~0.4 µs. A list page reads a few hundred timestamps
(created, updated, last and next follow-up…), the customer page's timeline more.

Where the two agree, each new connection gets the C loader back: Django's connection time zone is
UTC (USE_TZ with no TIME_ZONE of its own for the database) and the session's TimeZone is UTC,
which Django itself sets on connecting. psycopg then returns aware datetimes in
`datetime.timezone.utc`, the values and tzinfo Django's loader gives (tests/crm/test_pgtime.py).
Elsewhere (another time zone, the pure-Python psycopg, SQLite) nothing changes.
"""

import datetime

from django.db.backends.signals import connection_created
from django.dispatch import receiver

try:
    from psycopg import _cmodule
    from psycopg.adapt import Loader

    _CLoader = getattr(_cmodule._psycopg, "TimestamptzLoader", None)
except ImportError:  # psycopg 2, or psycopg not installed
    _CLoader = None


if _CLoader is not None:

    class UTCTimestamptzLoader(Loader):
        """psycopg's C loader behind a Python one: Django compares `timezone` when it makes a
        cursor (and would put its own loader back on a mismatch); a C class has no such attribute."""

        timezone = datetime.UTC

        def __init__(self, oid, context=None):
            super().__init__(oid, context)
            self._load = _CLoader(oid, context).load

        def load(self, data):
            return self._load(data)


def applies(connection) -> bool:
    if _CLoader is None or connection.vendor != "postgresql" or connection.connection is None:
        return False
    if connection.timezone is not datetime.UTC:
        return False
    return connection.connection.info.parameter_status("TimeZone") == "UTC"


@receiver(connection_created, dispatch_uid="crm.pgtime.c_timestamp_loader")
def use_c_timestamp_loader(sender, connection, **kwargs):
    if applies(connection):
        connection.connection.adapters.register_loader("timestamptz", UTCTimestamptzLoader)
