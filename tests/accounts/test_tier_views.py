"""Tiering pages: who sees the matrix and what it counts, drill-down, export, policy editor,
preview and apply, overrides, tiering inputs, the tier card and the timeline on the customer page."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import revenue
from accounts.models import (
    BudgetLevel,
    Industry,
    MaintenanceStrategy,
    TierAssessment,
    TierChange,
    TierInputs,
    TierPolicy,
    TierRun,
)
from accounts.services import tiering
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]  # the assertions read the English wording

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 5, 15, 10, 0, tzinfo=TZ)
MANAGER_PAGES = ["tier_matrix", "tier_cell", "tier_policy", "tier_retier", "tier_runs", "tier_strategies"]


@pytest.fixture
def tiered(personas):
    """customer_a (team A) bought 600k with a 35% margin and renewed → A; the others bought nothing → C."""
    customer = personas.customer_a
    customer.industry = Industry.INTERNET
    customer.save()
    TierInputs.objects.create(
        customer=customer, expanding=True, margin_rate=Decimal("35"), cooperation_since=date(2021, 3, 1), referrals=2
    )
    rows = [
        (customer.pk, Decimal(250_000), datetime(2024, 9, 10, tzinfo=TZ), "crm"),
        (customer.pk, Decimal(350_000), datetime(2025, 9, 10, tzinfo=TZ), "crm"),
        (customer.pk, Decimal(250_000), datetime(2026, 1, 15, tzinfo=TZ), "analytics"),
    ]
    revenue.register(revenue.RevenueSource("test-views", deals=lambda since: [r for r in rows if r[2] >= since]))
    with time_machine.travel(NOW, tick=False):
        tiering.apply_retier()
    yield personas
    revenue.unregister("test-views")


def test_only_managers_and_admins_open_the_tier_pages(tiered, client_for):
    for name in MANAGER_PAGES:
        url = reverse(f"accounts:{name}")
        for persona in ("rep_a", "rep_c", "finance"):
            assert client_for(getattr(tiered, persona)).get(url).status_code == 403, (name, persona)
        for persona in ("manager_a", "admin"):
            assert client_for(getattr(tiered, persona)).get(url).status_code == 200, (name, persona)


def test_the_matrix_counts_only_the_customers_the_viewer_may_see(tiered, client_for):
    cells = lambda user: {  # noqa: E731
        (c["tier"], c["potential"]): c["count"]
        for row in client_for(user).get(reverse("accounts:tier_matrix")).context["matrix"].rows
        for c in row["cells"]
        if c["count"]
    }
    # team A: customer_a (A, high) and customer_b (C, medium); team B: customer_c (C, medium)
    assert cells(tiered.manager_a) == {("A", "high"): 1, ("C", "medium"): 1}
    assert cells(tiered.manager_b) == {("C", "medium"): 1}
    assert cells(tiered.admin) == {("A", "high"): 1, ("C", "medium"): 2}


def test_the_matrix_shows_amount_shares_and_filters_by_team_and_industry(tiered, client_for):
    client = client_for(tiered.admin)
    matrix = client.get(reverse("accounts:tier_matrix")).context["matrix"]
    assert matrix.total == 3 and matrix.amount == Decimal("600000.00")
    assert matrix.rows[0]["cells"][0]["share"] == Decimal("100.0")  # A + high holds all the amount
    by_team = client.get(reverse("accounts:tier_matrix"), {"team": tiered.team_b.pk}).context["matrix"]
    assert by_team.total == 1 and by_team.rows[2]["count"] == 1
    by_industry = client.get(reverse("accounts:tier_matrix"), {"industry": Industry.INTERNET}).context["matrix"]
    assert by_industry.total == 1 and by_industry.rows[0]["count"] == 1
    # a manager cannot pick another manager's team
    response = client_for(tiered.manager_a).get(reverse("accounts:tier_matrix"), {"team": tiered.team_b.pk})
    assert response.context["matrix"].total == 2


def test_a_cell_drills_down_into_its_customers_and_exports(tiered, client_for):
    client = client_for(tiered.manager_a)
    response = client.get(reverse("accounts:tier_cell"), {"tier": "C"})
    names = [row.record.customer.name for row in response.context["table"].page.object_list]
    assert names == [tiered.customer_b.name]
    export = client.get(reverse("accounts:tier_cell"), {"tier": "A", "_export": "csv"})
    text = export.content.decode("utf-8-sig")
    assert export.status_code == 200 and tiered.customer_a.name in text and tiered.customer_b.name not in text
    assert "A + high potential + strategic partner" in text


def policy_data(client) -> dict:
    """What the editor shows, as it would be posted back."""
    form = client.get(reverse("accounts:tier_policy")).context["form"]
    data = {}
    for field in form:
        value = field.value()
        if value is True:
            data[field.name] = "on"
        elif value not in (None, False):
            data[field.name] = value
    return data


def test_the_policy_editor_saves_a_new_version_and_nothing_moves_until_applied(tiered, client_for):
    client = client_for(tiered.manager_a)
    data = policy_data(client)
    assert data["outlook_it"] == "growing" and data["outlook_construction"] == "shrinking"
    data["band_a"], data["band_b"] = 40, 50
    response = client.post(reverse("accounts:tier_policy"), data)
    assert "band_b" in response.context["form"].errors
    data["band_a"], data["band_b"], data["outlook_construction"] = 95, 45, "stable"
    response = client.post(reverse("accounts:tier_policy"), data)
    assert response.status_code == 302 and response.url == reverse("accounts:tier_retier")
    latest = TierPolicy.objects.order_by("-version").first()
    assert (latest.version, latest.band_a, latest.created_by) == (2, 95, tiered.manager_a)
    assert latest.industry_outlook == {
        "it": "growing",
        "internet": "growing",
        "healthcare": "growing",
        "energy": "growing",
    }
    assert TierPolicy.objects.get(version=1).band_a == 85
    assert TierAssessment.objects.get(customer=tiered.customer_a).policy_version == 1
    versions = client.get(reverse("accounts:tier_policy")).context["versions"]
    assert [v.version for v in versions] == [2, 1]


def test_the_weights_must_add_up_in_the_editor(tiered, client_for):
    client = client_for(tiered.admin)
    data = policy_data(client)
    data["weight_amount"] = 50
    response = client.post(reverse("accounts:tier_policy"), data)
    assert response.status_code == 200 and response.context["form"].non_field_errors()
    assert TierPolicy.objects.count() == 1


@time_machine.travel(NOW, tick=False)
def test_preview_then_apply_moves_the_matrix(tiered, client_for):
    TierChange.objects.update(changed_at=datetime(2025, 12, 1, tzinfo=TZ))  # first tiered before last quarter
    policy = tiering.current_policy()
    policy.band_a = 101  # nobody reaches A any more
    tiering.save_policy(policy=policy, by=tiered.manager_a)
    client = client_for(tiered.manager_a)
    preview = client.get(reverse("accounts:tier_retier")).context["plan"]
    assert preview.moves == {"A → B": 1}
    assert [row["name"] for row in preview.sample] == [tiered.customer_a.name]
    # without confirmation nothing happens
    client.post(reverse("accounts:tier_retier"), {"version": 2})
    assert TierAssessment.objects.get(customer=tiered.customer_a).tier == "A"
    # a stale preview (the policy changed since) is refused
    client.post(reverse("accounts:tier_retier"), {"version": 1, "confirm": "yes"})
    assert TierAssessment.objects.get(customer=tiered.customer_a).tier == "A"
    response = client.post(reverse("accounts:tier_retier"), {"version": 2, "confirm": "yes"})
    assert response.status_code == 302
    assert TierAssessment.objects.get(customer=tiered.customer_a).tier == "B"
    matrix = client.get(reverse("accounts:tier_matrix"))
    assert matrix.context["migration"] == [{"from": "A", "to": "B", "count": 1}]
    assert TierRun.objects.order_by("-id").first().by == tiered.manager_a


def test_the_sample_only_lists_customers_the_manager_may_see(tiered, client_for):
    policy = tiering.current_policy()
    policy.band_a = 101
    tiering.save_policy(policy=policy, by=tiered.admin)
    with time_machine.travel(NOW, tick=False):
        preview = client_for(tiered.manager_b).get(reverse("accounts:tier_retier")).context["plan"]
    assert preview.moves == {"A → B": 1} and preview.sample == []


@time_machine.travel(NOW, tick=False)
def test_a_manager_overrides_with_a_reason_and_the_card_says_so(tiered, client_for):
    customer = tiered.customer_b
    url = reverse("accounts:tier_override", args=[customer.pk])
    assert client_for(tiered.rep_b).get(url).status_code == 403
    assert client_for(tiered.manager_b).get(url).status_code == 404
    client = client_for(tiered.manager_a)
    response = client.post(url, {"tier": "B", "reason": " "})
    assert response.status_code == 200 and "reason" in response.context["form"].errors
    response = client.post(url, {"tier": "B", "reason": "重点培育"})
    assert response.status_code == 302
    page = client.get(customer.get_absolute_url()).content.decode()
    assert 'data-testid="tier-override"' in page and "重点培育" in page and "2026-07-01" in page
    assert "B + medium potential + new" in page

    # The card's assessment and its overrider, and the health card's row, come with the customer's
    # own query: no query of their own on the customer page.
    with CaptureQueriesContext(connection) as queries:
        assert client.get(customer.get_absolute_url()).status_code == 200
    own = [q["sql"] for q in queries if q["sql"].lstrip().startswith('SELECT "accounts_tierassessment"')]
    own += [q["sql"] for q in queries if q["sql"].lstrip().startswith('SELECT "accounts_customerhealth"')]
    assert own == []


@time_machine.travel(NOW, tick=False)
def test_a_rep_sees_the_why_but_cannot_override(tiered, client_for):
    page = client_for(tiered.rep_a).get(tiered.customer_a.get_absolute_url()).content.decode()
    assert "A + high potential + strategic partner" in page
    assert 'data-testid="tier-why"' in page and "30 / 30" in page and "40 / 40" in page
    assert 'data-testid="tier-override-link"' not in page and 'data-testid="tier-inputs-link"' in page
    assert "Tier — → A" in page  # the timeline
    finance = client_for(tiered.finance).get(tiered.customer_a.get_absolute_url()).content.decode()
    assert 'data-testid="tier-card"' in finance and 'data-testid="tier-inputs-link"' not in finance


def test_tiering_inputs_are_edited_by_whoever_may_edit_the_customer(tiered, client_for):
    url = reverse("accounts:tier_inputs", args=[tiered.customer_b.pk])
    assert client_for(tiered.rep_a).get(url).status_code == 404
    assert client_for(tiered.finance).get(url).status_code == 403
    response = client_for(tiered.rep_b).post(
        url, {"margin_rate": "18.5", "budget_level": BudgetLevel.TOP, "expanding": "on", "referrals": 1}
    )
    assert response.status_code == 302
    saved = TierInputs.objects.get(customer=tiered.customer_b)
    assert (saved.margin_rate, saved.budget_level, saved.expanding) == (Decimal("18.5"), "top", True)


def test_strategies_are_listed_with_the_defaults_and_edited(tiered, client_for):
    client = client_for(tiered.manager_a)
    assert len(client.get(reverse("accounts:tier_strategies")).context["strategies"]) == 3
    strategy = MaintenanceStrategy.objects.get(tier="B")
    url = reverse("accounts:tier_strategy_edit", args=[strategy.pk])
    bad = client.post(url, {"tier": "B", "goal": "x", "responsible": "owner", "cadence_text": "abc | call"})
    assert "cadence_text" in bad.context["form"].errors
    data = {
        "tier": "B",
        "potential": "medium",
        "relationship": "long_term",
        "goal": "提升复购",
        "actions": "电话",
        "responsible": "manager",
        "active": "on",
        "cadence_text": "14 | 双周电话 | owner\n90 | 季度拜访 | manager",
    }
    assert client.post(url, data).status_code == 302
    strategy.refresh_from_db()
    assert strategy.cadences == [
        {"action": "双周电话", "every_days": 14, "responsible": "owner"},
        {"action": "季度拜访", "every_days": 90, "responsible": "manager"},
    ]
    assert strategy.cadence_days == 14 and strategy.history.first().history_user == tiered.manager_a


def test_runs_list_the_applied_re_tiers(tiered, client_for):
    runs = client_for(tiered.admin).get(reverse("accounts:tier_runs")).context["runs"]
    assert [(r.customers, r.changed) for r in runs] == [(3, 3)]
    assert TierChange.objects.count() == 3


def test_a_customer_without_an_assessment_shows_an_empty_card(personas, client_for):
    customer = CustomerFactory(owner=personas.rep_a)
    page = client_for(personas.rep_a).get(customer.get_absolute_url()).content.decode()
    assert 'data-testid="tier-none"' in page


def test_the_customer_list_filters_and_shows_tiers_in_one_query(tiered, client_for):
    client = client_for(tiered.manager_a)
    url = reverse("accounts:customer_list")
    rows = lambda response: [r.record.name for r in response.context["table"].page.object_list]  # noqa: E731
    assert rows(client.get(url, {"tier": "A"})) == [tiered.customer_a.name]
    assert rows(client.get(url, {"tier_potential": "medium"})) == [tiered.customer_b.name]
    assert rows(client.get(url, {"tier_relationship": "strategic"})) == [tiered.customer_a.name]
    response = client.get(url)
    record = next(r.record for r in response.context["table"].page.object_list if r.record.pk == tiered.customer_a.pk)
    assert (record.tier, record.tier_potential, record.tier_relationship) == ("A", "high", "strategic")
    assert 'data-testid="customer-table"' in response.content.decode()
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _i in range(4):
        CustomerFactory(owner=tiered.rep_a)
    with time_machine.travel(NOW, tick=False):
        tiering.apply_retier()
    with CaptureQueriesContext(connection) as more:
        client.get(url)
    assert len(more) == len(few)  # the tier columns come with the rows, not one query per row


def test_the_tiers_entry_is_in_the_navigation_of_managers_and_admins(personas, client_for):
    def keys(user):
        return [i["key"] for i in client_for(user).get(reverse("crm:home")).context["nav_items"]]

    assert "tiers" in keys(personas.manager_a) and "tiers" in keys(personas.admin)
    assert "tiers" not in keys(personas.rep_a) and "tiers" not in keys(personas.finance)
    assert client_for(personas.manager_a).get(reverse("accounts:tier_policy")).context["active_nav"] == "tiers"
