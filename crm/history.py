"""Set-based audit history for batch jobs.

`django-simple-history` writes one historical row per saved object. Batch jobs (nightly rescoring,
dormancy, pool recycling) change hundreds of thousands of rows at a million customers; building a
model instance and a historical instance per row costs minutes. `copy_to_history` writes the same
historical rows in one `INSERT … SELECT` per chunk, straight from the rows as they now are, so it
must run after the job's UPDATE, inside the same transaction.
"""

from collections.abc import Iterable
from datetime import datetime

from django.db import connection
from django.utils import timezone

CHUNK = 5000
HISTORY_FIELDS = {"history_date", "history_change_reason", "history_type", "history_user"}


def copy_to_history(
    model, ids: Iterable[int], *, reason: str = "", user_id: int | None = None, when: datetime | None = None
) -> int:
    """One '~' (changed) history row per id, copied from the model's current row; the number written."""
    history = model.history.model
    source = {f.column for f in model._meta.concrete_fields}
    columns, selected = [], []
    for field in history._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.name in HISTORY_FIELDS:
            selected.append("%s")
        elif field.column in source:
            selected.append(f"src.{connection.ops.quote_name(field.column)}")
        else:  # a field only the history has: we cannot copy it, so refuse rather than guess
            raise ValueError(f"{history.__name__}.{field.name} has no column in {model.__name__}")
    fixed = {
        "history_date": when or timezone.now(),
        "history_change_reason": reason,
        "history_type": "~",
        "history_user": user_id,
    }
    params = [fixed[f.name] for f in history._meta.concrete_fields if f.name in HISTORY_FIELDS and not f.primary_key]
    ids = list(ids)
    written = 0
    with connection.cursor() as cursor:
        for start in range(0, len(ids), CHUNK):
            part = ids[start : start + CHUNK]
            marks = ", ".join(["%s"] * len(part))
            cursor.execute(
                f"INSERT INTO {connection.ops.quote_name(history._meta.db_table)} ({', '.join(columns)}) "  # noqa: S608 - names from model meta
                f"SELECT {', '.join(selected)} FROM {connection.ops.quote_name(model._meta.db_table)} AS src "
                f"WHERE src.{connection.ops.quote_name(model._meta.pk.column)} IN ({marks})",
                [*params, *part],
            )
            written += cursor.rowcount
    return written
