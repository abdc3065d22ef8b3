"""Aging buckets on hand-computed examples, DSO and collection-rate arithmetic, scoping per role."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from receivables import selectors, services
from receivables.models import Condition
from tests.factories import CustomerFactory

TODAY = date(2026, 11, 23)
D = Decimal


@pytest.fixture
def spread(personas, make_contract):
    """customer_a (rep_a): one installment per boundary day overdue, amounts 1, 2, 4 … so sums identify days."""
    days = [0, 1, 30, 31, 60, 61, 90, 91, -5]
    plan = [(2**i, TODAY - timedelta(days=d), Condition.PREPAYMENT) for i, d in enumerate(days)]
    return make_contract(personas.customer_a, personas.finance, plan, signed_on=TODAY - timedelta(days=100))


def test_it_puts_each_boundary_day_in_the_right_bucket(personas, spread):
    totals = selectors.aging_totals(personas.finance, today=TODAY)
    # days 0 (1) and −5 (256) current; 1 (2) + 30 (4); 31 (8) + 60 (16); 61 (32) + 90 (64); 91 (128)
    assert totals["current"] == D(1 + 256)
    assert totals["d1_30"] == D(2 + 4)
    assert totals["d31_60"] == D(8 + 16)
    assert totals["d61_90"] == D(32 + 64)
    assert totals["d90_plus"] == D(128)
    assert totals["total"] == D(511)


def test_it_counts_only_what_is_still_outstanding(personas, spread):
    services.record_payment(contract=spread, amount=D("128.50"), received_on=TODAY, by=personas.finance)
    totals = selectors.aging_totals(personas.finance, today=TODAY)
    assert totals["d90_plus"] == D(0)  # the oldest (91 days) was paid first
    assert totals["d61_90"] == D("95.50")  # 90 days (64) partly paid: 0.50 went to it
    assert totals["total"] == D("382.50")


def test_it_groups_aging_by_customer_rep_and_team(personas, spread, make_contract):
    make_contract(personas.customer_c, personas.finance, [(10, TODAY - timedelta(days=3), Condition.PREPAYMENT)])
    by_rep = {r["name"]: r["total"] for r in selectors.aging(personas.finance, by="rep", today=TODAY)}
    assert by_rep == {"rep_a": D(511), "rep_c": D(10)}
    by_team = {r["name"]: r["d1_30"] for r in selectors.aging(personas.finance, by="team", today=TODAY)}
    assert by_team == {"A队": D(6), "B队": D(10)}
    by_customer = selectors.aging(personas.finance, by="customer", today=TODAY)
    assert [r["name"] for r in by_customer] == ["MARKER-A 甲公司", "MARKER-C 丙公司"]


def test_it_scopes_receivables_per_role(personas, spread, make_contract):
    make_contract(personas.customer_c, personas.finance, [(10, TODAY, Condition.PREPAYMENT)])
    total = lambda user: selectors.aging_totals(user, today=TODAY)["total"]  # noqa: E731
    assert total(personas.finance) == total(personas.admin) == D(521)
    assert total(personas.manager_a) == total(personas.rep_a) == D(511)
    assert total(personas.manager_b) == total(personas.rep_c) == D(10)
    assert total(personas.rep_b) == D(0)


def test_it_computes_dso_from_outstanding_and_recent_sales(personas, make_contract):
    # Sales of the last 90 days: 900 + 300 = 1200; outstanding now: 900 − 300 paid + 300 = 900.
    first = make_contract(
        personas.customer_a,
        personas.finance,
        [(900, TODAY + timedelta(days=5), Condition.PREPAYMENT)],
        signed_on=TODAY - timedelta(days=10),
    )
    make_contract(
        personas.customer_b,
        personas.finance,
        [(300, TODAY + timedelta(days=5), Condition.PREPAYMENT)],
        signed_on=TODAY - timedelta(days=89),
    )
    make_contract(
        personas.customer_c,
        personas.finance,
        [(5000, TODAY - timedelta(days=200), Condition.PREPAYMENT)],
        signed_on=TODAY - timedelta(days=200),
    )
    services.record_payment(contract=first, amount=D(300), received_on=TODAY, by=personas.finance)
    # outstanding includes the old contract: 600 + 300 + 5000 = 5900 → 5900 / 1200 × 90 = 442.5
    assert selectors.dso(personas.finance, today=TODAY) == D("442.5")
    assert selectors.dso(personas.rep_c, today=TODAY) is None  # no sales in the period
    # the page passes the aging total it has already summed: the same figure
    outstanding = selectors.aging_totals(personas.finance, today=TODAY)["total"]
    assert selectors.dso(personas.finance, today=TODAY, outstanding=outstanding) == D("442.5")


def test_it_computes_the_collection_rate_of_what_fell_due_in_the_period(personas, make_contract):
    c = make_contract(
        personas.customer_a,
        personas.finance,
        [
            (400, TODAY - timedelta(days=20), Condition.PREPAYMENT),
            (600, TODAY - timedelta(days=5), Condition.PREPAYMENT),
            (1000, TODAY + timedelta(days=20), Condition.PREPAYMENT),
        ],
    )
    services.record_payment(contract=c, amount=D(700), received_on=TODAY, by=personas.finance)
    # due in the last 30 days: 1000; collected of it: 400 + 300 = 700 → 70.0 %
    assert selectors.collection_rate(personas.finance, start=TODAY - timedelta(days=30), end=TODAY) == D("70.0")
    assert selectors.collection_rate(personas.finance, start=TODAY - timedelta(days=10), end=TODAY) == D("50.0")
    assert selectors.collection_rate(personas.rep_c, start=TODAY - timedelta(days=30), end=TODAY) is None
    # the report's windows summed in one pass: each window its own figure
    both = selectors.collection_rates(personas.finance, end=TODAY, days=[10, 30])
    assert both == {10: D("50.0"), 30: D("70.0")}
    assert selectors.collection_rates(personas.rep_c, end=TODAY, days=[30, 90]) == {30: None, 90: None}


def test_it_leaves_pending_contracts_out_of_the_aging(personas, make_contract):
    pending = make_contract(
        personas.customer_b,
        personas.manager_a,
        [(500, TODAY - timedelta(days=3), Condition.PREPAYMENT), (500, TODAY + timedelta(days=40))],
    )
    assert pending.status == "pending"
    assert selectors.aging_totals(personas.finance, today=TODAY)["total"] == D(0)


def test_the_pages_top_customers_are_the_full_lists_head_equal_totals_by_name(personas, make_contract):
    owing = {"丁公司": 300, "甲公司": 500, "乙公司": 500, "丙公司": 100}  # 甲 gets the smaller key
    for name, amount in owing.items():
        customer = CustomerFactory(name=name, owner=personas.rep_a)
        make_contract(customer, personas.finance, [(amount, TODAY - timedelta(days=3), Condition.PREPAYMENT)])
    full = selectors.aging(personas.finance, by="customer", today=TODAY)
    assert [r["name"] for r in full] == ["乙公司", "甲公司", "丁公司", "丙公司"]  # equal totals by name

    def rows(limit):
        top = selectors.aging(personas.finance, by="customer", today=TODAY, limit=limit)
        return [(r["key"], r["name"], r["total"], r["d1_30"]) for r in top]

    for limit in (2, 3, 4, 10):
        assert rows(limit) == [(r["key"], r["name"], r["total"], r["d1_30"]) for r in full[:limit]]
    # a cut between equal totals keeps the smaller key
    assert [name for _key, name, _total, _d in rows(1)] == ["甲公司"]
