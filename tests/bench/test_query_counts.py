"""Query-count guards: a page issues the same number of queries for 10 rows as for 50, under a
ceiling — so an N+1 (a query per row shown) cannot come back unnoticed.

Each page is requested once to warm per-process caches (content types, policies), then measured
with 10 and with 50 rows of what it lists; rows are raw inserts (bulk_create), as in the
benchmark data, because only their number matters here.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from accounts.models import Contact, ContactRole, Customer, Industry, Stage
from bench.explain import signed_in
from bench.run import url_names
from followups.models import Complaint, FollowUp, Task, TaskStatus
from leads.models import Lead, LeadStatus, Opportunity, OpportunityStageChange, OppStage
from receivables.models import Contract, ContractStatus, Installment

# Generous ceilings: the point is the equality (no per-row query); the ceiling catches a page
# that grows a fixed pile of queries.
MAX_QUERIES = 40
MAX_DASHBOARD_QUERIES = 60


def add_rows(p, n: int, *, start: int, customer: Customer) -> None:
    """n more of everything: rep_a's customers (each with a contact, follow-up, open task, open
    opportunity and an active contract with an overdue installment), pool leads and owned leads,
    and n follow-ups, tasks, contacts, opportunities, contracts and complaints on `customer`."""
    now = timezone.now()
    rep, team = p.rep_a, p.team_a
    customers = Customer.objects.bulk_create(
        Customer(
            name=f"查询客户{start + i}有限公司",
            normalized_name=f"查询客户{start + i}",
            industry=Industry.IT,
            owner=rep,
            team=team,
            stage=Stage.INTENT,
            last_followup_at=now - timedelta(days=3),
            next_followup_at=now - timedelta(hours=1),
            next_step="电话回访",
        )
        for i in range(n)
    )
    targets = [*customers, *[customer] * n]
    Contact.objects.bulk_create(
        [
            Contact(customer=c, name=f"联系人{i}", role=ContactRole.USER, phone="13800000000")
            for i, c in enumerate(targets)
        ]
    )
    FollowUp.objects.bulk_create(
        FollowUp(customer=c, author=rep, occurred_at=now - timedelta(days=1), logged_at=now, summary="电话沟通")
        for c in targets
    )
    Task.objects.bulk_create(
        Task(
            title="回访",
            customer=c,
            assignee=rep,
            team=team,
            due_at=now + timedelta(hours=1) if i % 2 else now - timedelta(days=1),
            status=TaskStatus.OPEN,
        )
        for i, c in enumerate(targets)
    )
    opportunities = Opportunity.objects.bulk_create(
        Opportunity(
            customer=c, owner=rep, team=team, name=f"商机{start + i}", amount=Decimal("50000.00"), stage=OppStage.DEMO
        )
        for i, c in enumerate(targets)
    )
    OpportunityStageChange.objects.bulk_create(
        OpportunityStageChange(opportunity=o, from_stage="", to_stage=OppStage.PROSPECT, at=now, by=rep)
        for o in opportunities
    )
    contracts = Contract.objects.bulk_create(
        Contract(
            customer=c,
            title=f"合同{start + i}",
            amount=Decimal("90000.00"),
            signed_on=timezone.localdate() - timedelta(days=60),
            owner=rep,
            team=team,
            status=ContractStatus.ACTIVE,
        )
        for i, c in enumerate(targets)
    )
    Installment.objects.bulk_create(
        Installment(contract=k, seq=1, amount=Decimal("90000.00"), due_on=timezone.localdate() - timedelta(days=20))
        for k in contracts
    )
    Complaint.objects.bulk_create(
        Complaint(
            customer=c,
            description="响应慢",
            opened_at=now,
            opened_by=rep,
            response_due_at=now + timedelta(hours=24),
            resolution_due_at=now + timedelta(hours=48),
        )
        for c in targets
    )
    Lead.objects.bulk_create(
        Lead(
            company=f"线索{start + i}",
            normalized_company=f"线索{start + i}",
            score=50,
            status=LeadStatus.NEW,
            owner=None if i % 2 else rep,
            team=None if i % 2 else team,
        )
        for i in range(2 * n)
    )


def dashboard_pages() -> list[str]:
    """Every page without arguments of the dashboards, plus tier and churn pages once they exist."""
    names = []
    for name in sorted(url_names()):
        if name.startswith("dashboards:") or any(word in name for word in ("matrix", "churn", "tiers")):
            try:
                reverse(name)
            except NoReverseMatch:
                continue  # takes arguments: an action or a detail page
            names.append(name)
    return names


@pytest.fixture(autouse=True)
def _counts(stable_query_counts):
    """Every page here is counted twice and compared (tests/conftest.py)."""


def _count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, f"{url}: {response.status_code}"
    return len(queries)


def _page_url(name: str, p) -> str:
    args = [p.customer_a.pk] if name in ("accounts:customer_detail", "followups:customer") else None
    return reverse(name, args=args)


PAGES = [
    ("manager_a", "accounts:customer_list", ""),
    ("manager_a", "accounts:customer_list", "?industry=it&sort=name"),
    ("rep_a", "accounts:customer_list", "?q=查询"),
    ("rep_a", "accounts:customer_detail", ""),
    ("rep_a", "followups:customer", ""),
    ("rep_a", "followups:my_day", ""),
    ("manager_a", "followups:team", ""),
    ("rep_a", "followups:task_list", ""),
    ("manager_a", "followups:complaint_list", ""),
    ("rep_a", "leads:pool", ""),
    ("manager_a", "leads:lead_list", ""),
    ("manager_a", "leads:pipeline", ""),
    ("finance", "receivables:dashboard", ""),
    ("finance", "receivables:contract_list", ""),
    ("finance", "receivables:overdue", ""),
    ("finance", "receivables:ratings", ""),
]


# Pages whose few extra queries come with a full page, not with each row: My day counts a section
# only once its list fills a page (followups.selectors._count), at most one query per section.
PAGE_FULL_QUERIES = {"followups:my_day": 4}


def _measure(client, url, p, maximum, django_assert_max_num_queries, *, page_full: int = 0) -> None:
    add_rows(p, 10, start=0, customer=p.customer_a)
    client.get(url)  # warm per-process caches
    few = _count(client, url)
    add_rows(p, 40, start=10, customer=p.customer_a)
    with django_assert_max_num_queries(maximum):
        many = _count(client, url)
    assert few <= many <= few + page_full, f"{url}: {few} queries with 10 rows, {many} with 50 — a query per row"


@pytest.mark.parametrize(("persona", "name", "query"), PAGES, ids=[f"{n}{q}" for _, n, q in PAGES])
def test_it_issues_the_same_queries_for_10_and_50_rows(
    personas, client, persona, name, query, django_assert_max_num_queries
):
    try:
        url = _page_url(name, personas) + query
    except NoReverseMatch:
        pytest.skip(f"{name} is not part of the project (yet)")
    signed_in(client, getattr(personas, persona).username)  # a planted session: no login signals
    page_full = PAGE_FULL_QUERIES.get(name, 0)
    _measure(client, url, personas, MAX_QUERIES, django_assert_max_num_queries, page_full=page_full)


@pytest.mark.parametrize("name", dashboard_pages(), ids=str)
def test_each_dashboard_issues_the_same_queries_for_10_and_50_rows(
    personas, client, name, django_assert_max_num_queries
):
    signed_in(client, personas.manager_a.username)
    if client.get(reverse(name)).status_code == 405:
        pytest.skip(f"{name} only accepts POST")
    _measure(client, reverse(name), personas, MAX_DASHBOARD_QUERIES, django_assert_max_num_queries)
