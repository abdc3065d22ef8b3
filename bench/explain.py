"""Where a page spends its database time: every query of each benchmark page, slowest first, with
the EXPLAIN ANALYZE plan of the slowest ones.

    DATABASE_URL=postgres://…/crm_bench python -m bench.explain [--top 2] [--match pipeline]

Pages are rendered in-process with Django's test client as the benchmark personas (same list as
bench/run.py), so the SQL is exactly what gunicorn runs. Read-only: EXPLAIN ANALYZE runs inside a
transaction that is rolled back.
"""

import argparse
import time

from bench.run import PERSONAS, django_setup, pages


def signed_in(client, username: str):
    """Plant a session for `username` (as a login would) without running the login signals."""
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from crm.backends import planted_session_key

    user = get_user_model().objects.get(username=username)
    client.cookies[settings.SESSION_COOKIE_NAME] = planted_session_key(user)
    return client


def profile(path: str, client) -> tuple[float, list[dict]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(path)  # warm
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    total = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        print(f"  status {response.status_code}")
    queries = [{"ms": float(q["time"]) * 1000, "sql": q["sql"]} for q in captured.captured_queries]
    return total, sorted(queries, key=lambda q: -q["ms"])


def explain(sql: str) -> str:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    return plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--top", type=int, default=1, help="plans of the N slowest queries per page")
    parser.add_argument("--match", default="", help="only pages whose label contains this")
    args = parser.parse_args()
    django_setup()
    from django.test import Client

    clients = {}
    for page in pages():
        if page.get("missing") or args.match not in page["label"]:
            continue
        persona = page["persona"]
        if persona not in clients:
            clients[persona] = signed_in(Client(HTTP_HOST="127.0.0.1"), PERSONAS[persona])
        total, queries = profile(page["path"], clients[persona])
        db = sum(q["ms"] for q in queries)
        print(f"\n=== {page['label']}  {page['path']}  total {total:.0f} ms, {len(queries)} queries, SQL {db:.0f} ms")
        for q in queries[:5]:
            print(f"  {q['ms']:7.1f} ms  {q['sql'][:160]}")
        for q in queries[: args.top]:
            if q["sql"].lstrip().upper().startswith("SELECT"):
                print(explain(q["sql"]))


if __name__ == "__main__":
    main()
