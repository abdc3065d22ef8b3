"""Trigram indexes for substring search on PostgreSQL (no-op on SQLite).

Customer search is `icontains` on names and `contains` on phones, i.e. LIKE '%…%': only a
trigram GIN index serves that without scanning the table. Django's icontains compares
UPPER(col), so the name indexes are on that expression.
"""

from django.db import migrations

INDEXES = [
    ("customer_name_trgm", "accounts_customer", "UPPER(name) gin_trgm_ops"),
    ("contact_name_trgm", "accounts_contact", "UPPER(name) gin_trgm_ops"),
    ("contact_phone_trgm", "accounts_contact", "phone gin_trgm_ops"),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, expression in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({expression})")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _expression in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
