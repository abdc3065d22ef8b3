"""Two-character search on PostgreSQL: a GIN index of each name's two-character pieces.

Trigram indexes (0002) cannot serve a two-character term, and Chinese names and words are often
two characters ("王伟", "科技"). pg_bigm would, but it is not packaged for Debian; the same idea in
plain SQL is an immutable function listing the distinct bigrams of a text, indexed with GIN, and
searched with `crm_bigrams(UPPER(name)) @> ARRAY['科技']` (accounts/search.py). No-op on SQLite.
"""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION crm_bigrams(value text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT substr(value, i, 2)), '{}')
    FROM generate_series(1, char_length(value) - 1) AS i
$$
"""
INDEXES = [
    ("customer_name_bigrams", "accounts_customer"),
    ("contact_name_bigrams", "accounts_contact"),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION)
    for name, table in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (crm_bigrams(UPPER(name)))")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
    schema_editor.execute("DROP FUNCTION IF EXISTS crm_bigrams(text)")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_customer_owner_next_followup_index")]

    operations = [migrations.RunPython(create, drop)]
