"""Every dashboard number on the hand-built world of conftest.py, against hand-worked values,
for each role (admin: all; manager_a: team A; rep_a: own; rep_c: own in team B)."""

from decimal import Decimal

import pytest
import time_machine

from crm.dashboards import selectors
from crm.dashboards.scope import Scope
from tests.dashboards.conftest import END, START, at

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture(autouse=True)
def after_the_quarter():
    with time_machine.travel(at(2026, 4, 10), tick=False):
        yield


def scope(user, **kwargs):
    return Scope(user=user, start=START, end=END, **kwargs)


def section(data, key):
    return next(s for s in data["sections"] if s.key == key)


def test_it_counts_the_funnel_with_conversion_per_stage(world):
    data = selectors.sales(scope(world.manager_a))
    assert [row[1:] for row in section(data, "funnel").rows] == [
        [4, D("75.0")],  # 3 of 4 reached intent
        [3, D("66.7")],  # 2 of 3 reached demo
        [2, D("100.0")],
        [2, D("100.0")],  # o4 skipped negotiation but went past it
        [2, None],
    ]


def test_it_computes_win_rate_lead_conversion_and_the_sales_cycle_per_role(world):
    admin = selectors.sales(scope(world.admin))["kpis"]
    assert (admin["won"], admin["lost"], admin["win_rate"]) == (3, 1, D("75.0"))
    assert (admin["leads"], admin["converted"], admin["lead_conversion"]) == (3, 2, D("66.7"))
    assert (admin["cycle_average"], admin["cycle_median"]) == (D("56.0"), D("59.0"))  # 59, 20, 89 days
    assert (admin["new_customers"], admin["won_amount"]) == (3, D("200000.00"))

    team = selectors.sales(scope(world.manager_a))["kpis"]
    assert (team["won"], team["lost"], team["win_rate"]) == (2, 1, D("66.7"))
    assert (team["cycle_average"], team["cycle_median"]) == (D("39.5"), D("39.5"))
    assert (team["leads"], team["lead_conversion"], team["won_amount"]) == (2, D("50.0"), D("160000.00"))

    rep_c = selectors.sales(scope(world.rep_c))["kpis"]
    assert (rep_c["won"], rep_c["cycle_average"], rep_c["new_customers"], rep_c["won_amount"]) == (
        1,
        D("89.0"),
        1,
        D("40000.00"),
    )
    by_rep = selectors.sales(scope(world.manager_a, rep_id=world.rep_b.pk))["kpis"]
    assert (by_rep["won"], by_rep["cycle_average"], by_rep["won_amount"]) == (1, D("20.0"), D("60000.00"))


def test_it_spreads_new_customers_and_won_amount_over_the_months(world):
    monthly = section(selectors.sales(scope(world.admin)), "monthly").rows
    assert monthly == [
        ["2026-01", 0, D("0.00")],
        ["2026-02", 1, D("60000.00")],
        ["2026-03", 2, D("140000.00")],
    ]
    pipeline = section(selectors.sales(scope(world.rep_a)), "pipeline").rows
    assert pipeline == [["2026-05", 1, D("50000.00"), D("5000.00")]]


def test_it_compares_targets_with_actuals(world):
    from crm.models import SalesTarget

    SalesTarget.objects.create(month=START.replace(month=3), team=world.team_a, won_amount=200000, new_customers=2)
    SalesTarget.objects.create(month=START.replace(month=3), user=world.rep_a, won_amount=80000, new_customers=1)
    team = section(selectors.sales(scope(world.manager_a)), "targets").rows
    assert team == [["2026-03", D("200000.00"), D("100000.00"), D("50.0"), 2, 1]]
    rep = section(selectors.sales(scope(world.rep_a, rep_id=world.rep_a.pk)), "targets").rows
    assert rep == [["2026-03", D("80000.00"), D("100000.00"), D("125.0"), 1, 1]]
    assert section(selectors.sales(scope(world.manager_b)), "targets").rows == []


def test_it_computes_tier_distribution_by_count_and_amount(world):
    admin = section(selectors.customer_dashboard(scope(world.admin)), "tiers").rows
    assert admin == [
        ["A", 1, D("25.0"), D("300000.00"), D("60.0")],
        ["B", 2, D("50.0"), D("150000.00"), D("30.0")],
        ["C", 1, D("25.0"), D("50000.00"), D("10.0")],
    ]
    team = section(selectors.customer_dashboard(scope(world.manager_a)), "tiers").rows
    assert team == [
        ["A", 1, D("33.3"), D("300000.00"), D("66.7")],
        ["B", 2, D("66.7"), D("150000.00"), D("33.3")],
        ["C", 0, D("0.0"), D("0.00"), D("0.0")],
    ]


def test_it_counts_tier_migration_per_quarter_and_churn_per_tier(world):
    data = selectors.customer_dashboard(scope(world.admin))
    migration = section(data, "migration").rows
    moves = {row[1]: row[2] for row in migration}
    assert {row[0] for row in migration} == {"2026Q1"}  # the A → C move of April is outside the period
    assert moves.pop("B → A") == 1 and moves.pop("C → B") == 1
    assert list(moves.values()) == [1] and next(iter(moves)).endswith("→ C")  # a first tiering
    assert section(data, "churn").rows == [
        ["A", 1, 0, D("0.0")],
        ["B", 2, 1, D("50.0")],
        ["C", 1, 0, D("0.0")],
    ]
    rep_c = section(selectors.customer_dashboard(scope(world.rep_c)), "churn").rows
    assert rep_c == [["A", 0, 0, None], ["B", 0, 0, None], ["C", 1, 0, D("0.0")]]


def test_it_computes_nps_per_quarter(world):
    nps = section(selectors.customer_dashboard(scope(world.manager_a)), "nps").rows
    assert nps == [["2026Q1", 4, 2, 1, 1, D("25.0")]]  # (2 − 1) ÷ 4
    assert section(selectors.customer_dashboard(scope(world.manager_b)), "nps").rows == []


def test_it_sets_a_customers_maintenance_cost_against_their_contribution(world):
    upkeep = selectors.customer_dashboard(scope(world.manager_a))["upkeep"]
    assert (upkeep["visits"], upkeep["others"]) == (2, 3)
    assert upkeep["cost"] == D("1750.00")  # 2 × 800 + 3 × 50
    assert upkeep["contribution"] == D("40000.00")  # 100,000 × 40 %
    assert upkeep["ratio"] == D("22.86")
    assert upkeep["section"].rows[0][1:] == [2, 3, D("1750.00"), D("40000.00"), D("22.86")]
    assert selectors.customer_dashboard(scope(world.rep_c))["upkeep"]["cost"] == 0


def test_it_computes_cac_roi_and_ltv(world):
    data = selectors.acquisition(scope(world.admin))
    rows = {row[0]: row for row in data["section"].rows}
    #            channel, leads, cost, new, CAC, revenue, ROI, LTV/CAC
    assert rows["官网"][1:7] == [2, D("30000.00"), 2, D("15000.00"), D("160000.00"), D("5.33")]
    assert rows["展会"][1:7] == [1, D("20000.00"), 1, D("20000.00"), D("40000.00"), D("2.00")]
    overall = data["overall"]
    assert (overall["cost"], overall["new"], overall["cac"], overall["roi"]) == (
        D("50000.00"),
        3,
        D("16666.67"),
        D("4.00"),
    )
    ltv = data["ltv"]
    # contribution 100,000 × 40 % + 60,000 × 30 % + 40,000 × 30 % = 70,000 from 3 paying customers
    assert (ltv["paying"], ltv["revenue"], ltv["contribution"]) == (3, D("200000.00"), D("70000.00"))
    assert ltv["annual_contribution"] == D("23333.33")
    assert ltv["churn"] == {"base": 4, "churned": 1, "rate": D("25.0")}  # d churned of a, b, c, d
    assert ltv["lifetime"] == D("4.0")
    assert ltv["value"] == D("93333.32")
    assert data["ltv_cac"] == D("5.60")


def test_a_managers_channel_cost_is_their_share_of_the_channels_leads(world):
    data = selectors.acquisition(scope(world.manager_a))
    rows = {row[0]: row for row in data["section"].rows}
    # team A has both website leads of the period and no exhibition lead
    assert rows["官网"][1:5] == [2, D("30000.00"), 2, D("15000.00")]
    assert rows["展会"][1:5] == [0, D("0.00"), 0, None]
    assert data["overall"]["revenue"] == D("160000.00")


def test_it_reports_discipline_per_rep(world):
    rows = {r["rep"]: r for r in selectors.discipline_rows(scope(world.manager_a))}
    from crm.templatetags.crm_tags import person

    rep_a = rows[person(world.rep_a)]
    assert (rep_a["logged"], rep_a["late"], rep_a["late_share"]) == (5, 2, D("40.0"))
    assert rep_a["overdue"] == 2
    assert (rep_a["sop_due"], rep_a["sop_done"], rep_a["sop_completion"]) == (3, 2, D("66.7"))
    assert (rep_a["leads_taken"], rep_a["leads_converted"]) == (2, 1)
    assert person(world.rep_c) not in rows
    assert [r["rep"] for r in selectors.discipline_rows(scope(world.rep_c, rep_id=world.rep_c.pk))] == [
        person(world.rep_c)
    ]


def test_it_shows_the_health_distribution_of_the_latest_scan(world):
    from accounts.models import CustomerHealth

    for customer, risk, score in (
        (world.customer_a, "low", 90),
        (world.customer_b, "high", 40),
        (world.customer_c, "low", 80),
    ):
        CustomerHealth.objects.create(
            customer=customer, risk=risk, score=score, week="2026-W14", scanned_at=at(2026, 4, 6)
        )
    admin = selectors.customer_dashboard(scope(world.admin))
    assert [row[1:] for row in section(admin, "health").rows] == [
        [1, D("33.3"), 40],
        [0, D("0.0"), None],
        [2, D("66.7"), 85],
    ]
    assert admin["health_scanned"] == at(2026, 4, 6)
    rep_c = section(selectors.customer_dashboard(scope(world.rep_c)), "health").rows
    assert [row[1:] for row in rep_c] == [[0, D("0.0"), None], [0, D("0.0"), None], [1, D("100.0"), 80]]
