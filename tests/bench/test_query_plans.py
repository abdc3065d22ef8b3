"""The hot queries have an index that serves them.

On PostgreSQL the planner is asked (sequential scans disabled, so a tiny test table does not hide
a missing index) which index it would use for each page's main query, and must name the one built
for it. On SQLite only the presence of those indexes is checked.
"""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Customer
from accounts.selectors import archive_customers
from followups.models import FollowUp, Task, TaskStatus
from leads.models import Lead, Opportunity
from leads.selectors import pool_leads, visible_opportunities
from receivables.models import Installment

on_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="query plans are PostgreSQL's")


def _indexes(model) -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.get_constraints(cursor, model._meta.db_table))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model", "index"),
    [
        (Customer, "customer_owner_idx"),
        (Customer, "customer_team_idx"),
        (Customer, "customer_industry_idx"),
        (Customer, "customer_name_idx"),
        (Lead, "lead_pool_idx"),
        (Lead, "lead_owner_status_idx"),
        (Opportunity, "opp_team_stage_idx"),
        (Opportunity, "opp_customer_idx"),
        (Task, "task_assignee_due_idx"),
        (FollowUp, "followup_customer_idx"),
        (Installment, "installment_due_idx"),
    ],
)
def test_it_has_the_index_a_page_depends_on(model, index):
    assert index in _indexes(model)


def _plan(queryset) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    return queryset.explain()


@on_postgres
def test_a_reps_customer_list_reads_their_owner_index(personas):
    plan = _plan(archive_customers(personas.rep_a).order_by("-id")[:25])
    assert "customer_owner_idx" in plan


@on_postgres
def test_a_managers_customer_list_reads_an_index(personas):
    plan = _plan(archive_customers(personas.manager_a).order_by("-id")[:25])
    assert "Seq Scan on accounts_customer" not in plan, plan


@on_postgres
def test_a_list_sorted_by_name_walks_the_name_index(personas):
    queryset = archive_customers(personas.manager_a).filter(industry="manufacturing").order_by("name")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")  # a tiny table: a sort would be as cheap
    assert "customer_name_idx" in _plan(queryset[:25])


@on_postgres
def test_the_lead_pool_reads_its_partial_index(personas):
    assert "lead_pool_idx" in _plan(pool_leads(personas.rep_a).order_by("-score", "-id")[:25])


@on_postgres
def test_my_day_reads_the_assignee_due_index(personas):
    end = timezone.now() + timedelta(days=8)
    queryset = Task.objects.filter(assignee=personas.rep_a, status=TaskStatus.OPEN, due_at__lt=end).order_by(
        "due_at", "id"
    )
    plan = _plan(queryset[:300])
    # The (assignee, due) index or the plain assignee one: the planner picks by table size; what
    # matters is that a rep's tasks are found through an index on the assignee.
    assert "Seq Scan on followups_task" not in plan, plan
    assert re.search(r"Index Cond: \(+assignee_id = ", plan), plan


@on_postgres
def test_the_pipeline_reads_opportunities_through_an_index(personas):
    for user in (personas.rep_a, personas.manager_a):
        plan = _plan(visible_opportunities(user).order_by("-id")[:25])
        assert "Seq Scan on leads_opportunity" not in plan, plan


@on_postgres
def test_a_customer_timeline_reads_follow_ups_by_customer(personas):
    queryset = FollowUp.objects.filter(customer=personas.customer_a).order_by("-occurred_at")[:50]
    plan = _plan(queryset)
    # Either the (customer, occurred_at) index or the plain foreign-key index: the planner picks
    # by table size; what matters is that the customer's rows are found through an index.
    assert "Seq Scan on followups_followup" not in plan, plan
    assert re.search(r"Index Cond: \(+customer_id = ", plan), plan


@on_postgres
@pytest.mark.parametrize("counts", ["followups", "tasks"])
def test_the_discipline_report_counts_from_its_indexes_alone(personas, counts):
    from followups.selectors import followup_counts, open_task_counts

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_bitmapscan = off")
    ids, now = [personas.rep_a.pk, personas.rep_b.pk], timezone.now()
    queryset = followup_counts(ids, now - timedelta(days=30)) if counts == "followups" else open_task_counts(ids, now)
    plan = _plan(queryset)
    index = "followup_author_idx" if counts == "followups" else "task_assignee_due_idx"
    assert f"Index Only Scan using {index}" in plan, plan
