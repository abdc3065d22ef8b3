"""Tiering (DOMAIN §3): the 30/30/40 value score, bands, potential, relationship, RFM, re-tiering,
history and overrides, on hand-computed examples.

Revenue comes from a test source registered with accounts.revenue (the real sources — won
opportunities, direct contracts — have no rows here), so every number below is computed by hand.
The policy is the default one: amount 30 / margin 30 / renewal 40; A from 85, B from 45; amount A
at 150% of the industry average or 500,000, B at 50%; margin A 30%, B 15%; renewal A 90%, B 60%.
"""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied

from accounts import revenue
from accounts.models import (
    BudgetLevel,
    Industry,
    MaintenanceStrategy,
    TierAssessment,
    TierChange,
    TierInputs,
    TierRun,
)
from accounts.services import tiering
from tests.factories import CustomerFactory

pytestmark = pytest.mark.usefixtures("english")  # the assertions read the English wording


TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 5, 15, 10, 0, tzinfo=TZ)


def at(y, m, d):
    return datetime(y, m, d, 12, 0, tzinfo=TZ)


@pytest.fixture
def deals(db):
    """deals.add(customer, amount, when, product_line); registered as the revenue source "test"."""

    class Deals(list):
        def add(self, customer, amount, when, line="crm"):
            self.append((customer.pk, Decimal(amount), when, line))

    rows = Deals()
    source = revenue.RevenueSource("test", deals=lambda since: [r for r in rows if r[2] >= since])
    revenue.register(source)
    yield rows
    revenue.unregister("test")


def inputs(customer, **values):
    return TierInputs.objects.create(customer=customer, **values)


@pytest.fixture
def checklist(personas, deals):
    """The three example customers of seed 001's maintenance checklist, plus a second manufacturer
    so that the manufacturing average is not the customer itself."""
    tech = CustomerFactory(name="2024001 科技有限公司", industry=Industry.INTERNET, owner=personas.rep_a)
    inputs(tech, expanding=True, margin_rate=Decimal("35"), cooperation_since=date(2021, 3, 1), referrals=2)
    deals.add(tech, 250_000, at(2024, 9, 10), "crm")
    deals.add(tech, 150_000, at(2024, 11, 20), "analytics")
    deals.add(tech, 350_000, at(2025, 9, 10), "crm")
    deals.add(tech, 250_000, at(2026, 1, 15), "analytics")

    maker = CustomerFactory(
        name="2024002 YY制造有限公司", industry=Industry.MANUFACTURING, needs="4月计划增加采购量", owner=personas.rep_b
    )
    inputs(maker, margin_rate=Decimal("20"), cooperation_since=date(2024, 6, 1), budget_level=BudgetLevel.NORMAL)
    deals.add(maker, 180_000, at(2025, 3, 10), "crm")
    deals.add(maker, 200_000, at(2026, 3, 10), "crm")

    other_maker = CustomerFactory(name="另一家制造公司", industry=Industry.MANUFACTURING, owner=personas.rep_c)
    inputs(other_maker, margin_rate=Decimal("40"))
    deals.add(other_maker, 300_000, at(2026, 2, 15), "crm")
    deals.add(other_maker, 300_000, at(2026, 4, 1), "crm")

    shop = CustomerFactory(name="2024003 ZZ商贸公司", industry=Industry.RETAIL, owner=personas.rep_c)
    inputs(shop, margin_rate=Decimal("10"), budget_level=BudgetLevel.CUT)
    deals.add(shop, 30_000, at(2026, 2, 1), "service")
    return {"tech": tech, "maker": maker, "other_maker": other_maker, "shop": shop}


def assessment(customer) -> TierAssessment:
    return TierAssessment.objects.get(customer=customer)


# --- the score and the three example customers ------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_it_tiers_the_a_high_strategic_example_with_every_point_explained(checklist):
    tiering.apply_retier()
    a = assessment(checklist["tech"])
    # amount 350k + 250k = 600k in 12 months ≥ min(150% × 600k, 500k) → 30; margin 35% ≥ 30% → 30;
    # both product lines of the previous year bought again: renewal 100% ≥ 90% → 40.
    assert (a.tier, a.potential, a.relationship, a.score) == ("A", "high", "strategic", 100)
    assert a.annual_amount == Decimal("600000.00")
    why = a.breakdown
    assert (why["amount_pts"], why["margin_pts"], why["renewal_pts"]) == (30, 30, 40)
    assert why["industry_avg"] == 600000 and why["amount_a_at"] == 500000 and why["amount_b_at"] == 300000
    assert why["renewal"] == 100
    # potential: growing industry +2, expanding +1 = 3 ≥ 3 → high
    assert (why["outlook"], why["outlook_pts"], why["expanding"], why["potential_pts"]) == ("growing", 2, True, 3)
    # relationship: since 2021-03-01 (5.2 years ≥ 3), 2 product lines ≥ 2, 2 referrals ≥ 1
    assert (why["since"], why["years"], why["product_lines"], why["referrals"]) == ("2021-03-01", 5.2, 2, 2)
    assert str(a.label) == "A + high potential + strategic partner"


@time_machine.travel(NOW, tick=False)
def test_it_tiers_the_b_medium_long_term_example(checklist):
    tiering.apply_retier()
    b = assessment(checklist["maker"])
    # manufacturing buyers: 200k and 600k → average 400k; B at 50% = 200k → 15 (A at min(600k, 500k));
    # margin 20% between 15% and 30% → 15; the CRM line of last year renewed → 100% → 40. 70 → B.
    assert (b.tier, b.potential, b.relationship, b.score) == ("B", "medium", "long_term", 70)
    assert (b.breakdown["amount_pts"], b.breakdown["margin_pts"], b.breakdown["renewal_pts"]) == (15, 15, 40)
    assert b.breakdown["industry_avg"] == 400000
    # potential: stable industry 0, stated needs +1 → 1 (between −2 and 3) → medium
    assert (b.breakdown["needs"], b.breakdown["potential_pts"]) == (True, 1)
    # since 2024-06-01: 1.95 years → long-term
    assert b.breakdown["years"] == 2.0


@time_machine.travel(NOW, tick=False)
def test_it_tiers_the_c_low_wait_and_see_example(checklist):
    tiering.apply_retier()
    c = assessment(checklist["shop"])
    # one deal of 30k: the retail average is itself, so B at 15k → 15 points, but a single deal in
    # two years is a one-off project → C. Budget cuts −2 → low potential; first deal 3.5 months ago → new.
    assert (c.tier, c.potential, c.relationship, c.score) == ("C", "low", "new", 15)
    assert c.breakdown["one_off"] is True
    assert (c.breakdown["budget_level"], c.breakdown["budget_pts"], c.breakdown["potential_pts"]) == ("cut", -2, -2)
    assert str(c.label) == "C + low potential (wait-and-see) + new"


@time_machine.travel(NOW, tick=False)
def test_it_gives_the_full_amount_points_above_the_absolute_a_threshold(checklist):
    tiering.apply_retier()
    other = assessment(checklist["other_maker"])
    # 600k ≥ 500k → 30; margin 40% → 30; nothing bought the year before: no renewal points → 60 → B
    assert (other.tier, other.score, other.breakdown["renewal"], other.breakdown["renewal_pts"]) == ("B", 60, None, 0)


@time_machine.travel(NOW, tick=False)
def test_it_scores_rfm_as_quintiles_among_the_customers_that_bought(checklist, personas):
    tiering.apply_retier()
    rfm = {name: (a.rfm_r, a.rfm_f, a.rfm_m) for name, a in ((n, assessment(c)) for n, c in checklist.items())}
    # recency: tech (Jan 15) < shop (Feb 1) < maker (Mar 10) < other (Apr 1) → 2, 3, 4, 5
    # frequency in 12 months: tech 2, maker 1, other 2, shop 1 → ties share the higher: 5, 3, 5, 3
    # monetary: shop 30k, maker 200k, tech = other 600k → 2, 3, 5, 5
    assert rfm == {"tech": (2, 5, 5), "maker": (4, 3, 3), "other_maker": (5, 5, 5), "shop": (3, 3, 2)}
    # a customer that bought nothing: 1 / 1 / 1, C, new
    idle = assessment(personas.customer_a)
    assert (idle.rfm_r, idle.rfm_f, idle.rfm_m, idle.tier, idle.relationship) == (1, 1, 1, "C", "new")


@time_machine.travel(NOW, tick=False)
def test_it_reads_amounts_as_absolute_thresholds_when_the_policy_says_so(checklist, personas):
    policy = tiering.current_policy()
    policy.amount_mode = "absolute"
    policy.amount_b_absolute = Decimal("250000")
    tiering.save_policy(policy=policy, by=personas.manager_a)
    tiering.apply_retier()
    # maker: 200k < 250k → 0 amount points: 0 + 15 + 40 = 55, still B
    maker = assessment(checklist["maker"])
    assert (maker.score, maker.breakdown["amount_pts"], maker.breakdown["amount_mode"]) == (55, 0, "absolute")


# --- policy versions, re-tiering, history -----------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_a_policy_edit_changes_results_only_after_re_tiering(checklist, personas):
    tiering.apply_retier()
    assert assessment(checklist["maker"]).tier == "B"
    policy = tiering.current_policy()
    policy.band_a = 70
    saved = tiering.save_policy(policy=policy, by=personas.manager_a)
    assert saved.version == 2 and tiering.current_policy().band_a == 70
    assert assessment(checklist["maker"]).tier == "B"  # nothing moves on save
    preview = tiering.preview_retier()
    assert preview.moves == {"B → A": 1} and preview.changes == 1
    assert [row["name"] for row in preview.sample] == [checklist["maker"].name]
    assert assessment(checklist["maker"]).tier == "B"  # nor on preview
    tiering.apply_retier(by=personas.manager_a)
    moved = assessment(checklist["maker"])
    assert (moved.tier, moved.policy_version) == ("A", 2)
    change = TierChange.objects.filter(customer=checklist["maker"]).first()
    assert (change.from_tier, change.to_tier, change.kind, change.policy_version, change.by) == (
        "B",
        "A",
        "retier",
        2,
        personas.manager_a,
    )
    assert change.from_label == "B|medium|long_term" and change.to_label == "A|medium|long_term"


def test_only_managers_and_admins_edit_the_policy_and_the_weights_must_add_up(personas):
    policy = tiering.current_policy()
    with pytest.raises(PermissionDenied):
        tiering.save_policy(policy=policy, by=personas.rep_a)
    policy.weight_amount = 40
    with pytest.raises(tiering.TieringError):
        tiering.save_policy(policy=policy, by=personas.manager_a)
    assert tiering.current_policy().version == 1


@time_machine.travel(NOW, tick=False)
def test_the_first_re_tier_writes_one_history_row_per_customer(checklist, personas):
    plan = tiering.apply_retier()
    customers = 7  # three personas' customers + the four above
    assert (plan.total, plan.changes, plan.writes) == (customers, customers, customers)
    assert TierChange.objects.count() == customers
    first = TierChange.objects.get(customer=checklist["tech"])
    assert (first.from_tier, first.to_tier, first.kind, first.policy_version) == ("", "A", "retier", 1)
    assert plan.moves == {"— → A": 1, "— → B": 2, "— → C": 4}
    run = TierRun.objects.get()
    assert (run.customers, run.changed, run.moves) == (customers, customers, plan.moves)


@time_machine.travel(NOW, tick=False)
def test_re_tiering_twice_changes_nothing_the_second_time(checklist):
    tiering.apply_retier()
    stamps = dict(TierAssessment.objects.values_list("customer_id", "assessed_at"))
    with time_machine.travel(datetime(2026, 5, 16, 10, 0, tzinfo=TZ), tick=False):
        again = tiering.apply_retier()
    assert (again.changes, again.writes, again.moves) == (0, 0, {})
    assert TierChange.objects.count() == 7
    assert dict(TierAssessment.objects.values_list("customer_id", "assessed_at")) == stamps
    assert TierRun.objects.count() == 2


@time_machine.travel(NOW, tick=False)
def test_a_new_customer_is_tiered_without_rewriting_the_others(checklist):
    tiering.apply_retier()
    newcomer = CustomerFactory(name="新客户", industry=Industry.EDUCATION)
    plan = tiering.apply_retier()
    assert (plan.writes, plan.changes, plan.moves) == (1, 1, {"— → C": 1})
    assert assessment(newcomer).relationship == "new"


@time_machine.travel(NOW, tick=False)
def test_new_revenue_rewrites_the_breakdown_without_a_history_row_when_the_label_stays(checklist, deals):
    tiering.apply_retier()
    deals.add(checklist["tech"], 100_000, at(2026, 5, 1), "crm")
    plan = tiering.apply_retier()
    assert plan.changes == 0 and plan.writes >= 1
    assert assessment(checklist["tech"]).annual_amount == Decimal("700000.00")
    assert TierChange.objects.filter(customer=checklist["tech"]).count() == 1


@time_machine.travel(NOW, tick=False)
def test_it_counts_won_opportunities_as_revenue(personas):
    from leads.models import Opportunity, OppStage

    customer = personas.customer_a
    for amount, when in ((120_000, at(2025, 12, 1)), (80_000, at(2026, 3, 1))):
        Opportunity.objects.create(
            customer=customer,
            owner=personas.rep_a,
            name="商机",
            amount=Decimal(amount),
            product_line="crm",
            stage=OppStage.WON,
            closed_at=when,
        )
    tiering.apply_retier()
    a = assessment(customer)
    assert a.annual_amount == Decimal("200000.00")
    assert (a.breakdown["deals_12m"], a.breakdown["since"]) == (2, "2025-12-01")


# --- overrides ------------------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_a_manager_overrides_a_tier_with_a_reason_until_the_next_review(checklist, personas):
    tiering.apply_retier()
    shop = checklist["shop"]
    with pytest.raises(tiering.TieringError):
        tiering.override_tier(customer=shop, tier="B", reason="  ", by=personas.manager_b)
    with pytest.raises(PermissionDenied):
        tiering.override_tier(customer=shop, tier="B", reason="战略试点", by=personas.rep_c)
    tiering.override_tier(customer=shop, tier="B", reason="战略试点客户", by=personas.manager_b)
    a = assessment(shop)
    assert (a.tier, a.computed_tier, a.override_reason, a.override_by) == ("B", "C", "战略试点客户", personas.manager_b)
    assert a.override_expires_at == datetime(2026, 7, 1, tzinfo=TZ)
    change = TierChange.objects.filter(customer=shop).first()
    assert (change.kind, change.from_tier, change.to_tier, change.reason) == ("override", "C", "B", "战略试点客户")

    # a re-tier within the quarter keeps it and writes nothing
    plan = tiering.apply_retier()
    assert (assessment(shop).tier, plan.writes, plan.changes) == ("B", 0, 0)

    # the quarterly review clears it: back to the computed tier, recorded as expired
    with time_machine.travel(datetime(2026, 7, 1, 1, 0, tzinfo=TZ), tick=False):
        plan = tiering.apply_retier()
    a = assessment(shop)
    assert (a.tier, a.override_tier, a.override_reason) == ("C", "", "")
    assert a.override_by is None and a.override_expires_at is None
    expired = TierChange.objects.filter(customer=shop).first()
    assert (expired.kind, expired.from_tier, expired.to_tier) == ("expired", "B", "C")
    assert plan.moves == {"B → C": 1}


def test_the_next_review_is_the_first_day_of_the_next_quarter():
    assert tiering.next_review(datetime(2026, 5, 15, tzinfo=TZ)) == datetime(2026, 7, 1, tzinfo=TZ)
    assert tiering.next_review(datetime(2026, 12, 31, 23, 0, tzinfo=TZ)) == datetime(2027, 1, 1, tzinfo=TZ)
    assert tiering.next_review(datetime(2026, 1, 1, 0, 0, tzinfo=TZ)) == datetime(2026, 4, 1, tzinfo=TZ)
    assert tiering.quarter_start(datetime(2026, 5, 15, tzinfo=TZ)) == datetime(2026, 4, 1, tzinfo=TZ)


def test_an_untiered_customer_cannot_be_overridden(personas):
    with pytest.raises(tiering.TieringError):
        tiering.override_tier(customer=personas.customer_a, tier="A", reason="x", by=personas.manager_a)


# --- inputs and strategies ----------------------------------------------------------------------


def test_tier_inputs_are_saved_by_whoever_may_edit_the_customer(personas):
    own = TierInputs(customer=personas.customer_a, margin_rate=Decimal("22.5"))
    tiering.save_tier_inputs(inputs=own, by=personas.rep_a)
    assert TierInputs.objects.get(customer=personas.customer_a).history.first().history_user == personas.rep_a
    with pytest.raises(PermissionDenied):
        tiering.save_tier_inputs(inputs=TierInputs(customer=personas.customer_c), by=personas.rep_a)
    with pytest.raises(PermissionDenied):
        tiering.save_tier_inputs(inputs=TierInputs(customer=personas.customer_c), by=personas.finance)


def test_the_three_default_strategies_are_created_once_and_the_most_specific_wins(db):
    assert MaintenanceStrategy.objects.count() == 3  # created when the database was migrated
    MaintenanceStrategy.objects.all().delete()
    assert tiering.ensure_default_strategies() == 3
    assert tiering.ensure_default_strategies() == 0
    strategies = list(MaintenanceStrategy.objects.all())
    assert tiering.strategy_for("A", "high", "strategic", strategies).cadence_days == 30
    assert tiering.strategy_for("C", "low", "new", strategies).relationship == ""  # C + low, any relationship
    assert tiering.strategy_for("A", "low", "new", strategies) is None
    specific = MaintenanceStrategy.objects.create(tier="C", potential="low", relationship="new", goal="x")
    assert tiering.strategy_for("C", "low", "new", [*strategies, specific]) == specific
