"""Precomputed dashboards (crm.dashboards.snapshots): who gets them, that pages read them with their
as-of time, that they never cross from one reader to another, and when they are dropped."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import translation

from crm.dashboards import snapshots
from crm.models import DashboardSnapshot
from crm.tasks import refresh_dashboards
from leads.models import OppStage
from tests.dashboards.conftest import SETTINGS_FORM, at, make_opportunity
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
NOW = at(2026, 4, 10, 9)
WON_TEAM_A = 'data-testid="kpi-won-amount">¥160,000.00<'
WON_TEAM_B = 'data-testid="kpi-won-amount">¥40,000.00<'


@pytest.fixture
def refreshed(world):
    with time_machine.travel(NOW, tick=False):
        result = refresh_dashboards.apply(throw=True).get()
    return result


def test_admins_managers_and_finance_get_every_dashboard_they_may_open_in_both_languages(world, refreshed):
    from crm.roles import Role

    UserFactory(username="admin2", role=Role.ADMIN)  # a second admin shares the first admin's numbers
    with time_machine.travel(NOW, tick=False):
        refresh_dashboards.apply(throw=True).get()
    rows = DashboardSnapshot.objects.values_list("audience", "dashboard", "variant")
    by_audience: dict[str, set] = {}
    for audience, dashboard, variant in rows:
        by_audience.setdefault(audience, set()).add((dashboard, variant.split("|")[0]))
    every = {"sales", "customers", "acquisition", "receivables", "cross_sell", "discipline"}
    both = {(d, lang) for d in every for lang in ("zh-hans", "en")}
    assert by_audience == {
        "admin": both,
        f"user:{world.manager_a.pk}": both,
        f"user:{world.manager_b.pk}": both,
        f"user:{world.finance.pk}": {("receivables", "zh-hans"), ("receivables", "en")},
    }  # reps' personal dashboards are computed on request
    assert refreshed["snapshots"] == 38 and refreshed["removed"] == 0
    assert set(refreshed["slowest_seconds"]) == every


def test_the_page_reads_the_snapshot_with_its_as_of_time_until_refreshed(world, refreshed, client_for):
    client = client_for(world.manager_a)
    url = reverse("dashboards:sales")
    later = NOW + timedelta(minutes=20)
    with time_machine.travel(later, tick=False):
        make_opportunity(
            world.customer_a, world.rep_a, [OppStage.PROSPECT, OppStage.WON], amount=5000, closed=at(2026, 4, 9)
        )
        page = client.get(url).content.decode()
        fresh = client.get(url + "?refresh=1").content.decode()
    assert WON_TEAM_A in page and "2026-04-10 09:00" in page  # the snapshot, and when it was computed
    assert 'data-testid="kpi-won-amount">¥165,000.00<' in fresh and "2026-04-10 09:20" in fresh


def test_a_snapshot_is_never_served_to_another_reader(world, refreshed, client_for):
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        page_b = client_for(world.manager_b).get(reverse("dashboards:sales")).content.decode()
        page_rep = client_for(world.rep_a).get(reverse("dashboards:discipline")).content.decode()
    assert WON_TEAM_B in page_b and WON_TEAM_A not in page_b
    assert "2026-04-10 09:00" in page_b  # manager B's own snapshot
    assert "rep_b" not in page_rep and "2026-04-10 09:05" in page_rep  # a rep's numbers are computed for them


def test_filters_language_and_time_zone_select_the_snapshot(world, refreshed):
    from crm.dashboards.forms import DashboardFilterForm

    scope = DashboardFilterForm(None, user=world.manager_a).scope()
    with time_machine.travel(NOW, tick=False):
        scope = DashboardFilterForm(None, user=world.manager_a).scope()
        filtered = DashboardFilterForm({"rep": world.rep_b.pk}, user=world.manager_a).scope()
        with translation.override("en"):
            english = snapshots.read("sales", world.manager_a, scope)
        with translation.override("zh-hans"):
            chinese = snapshots.read("sales", world.manager_a, scope)
            assert snapshots.read("sales", world.manager_a, filtered) is None
    assert english[0]["sections"][0].title != chinese[0]["sections"][0].title
    assert english[0]["kpis"]["won_amount"] == chinese[0]["kpis"]["won_amount"] == Decimal("160000.00")


def test_settings_and_targets_changes_drop_the_snapshots(world, refreshed, client_for):
    assert DashboardSnapshot.objects.exists()
    client = client_for(world.manager_a)
    client.post(reverse("dashboards:settings"), SETTINGS_FORM)
    assert not DashboardSnapshot.objects.exists()
    with time_machine.travel(NOW, tick=False):
        refresh_dashboards.apply(throw=True).get()
    assert DashboardSnapshot.objects.exists()
    client.post(
        reverse("dashboards:targets"),
        {"month": "2026-03", "team": world.team_a.pk, "won_amount": "200000", "new_customers": "2"},
    )
    assert not DashboardSnapshot.objects.exists()


def test_yesterdays_snapshots_are_replaced_not_kept(world, refreshed):
    first = set(DashboardSnapshot.objects.values_list("variant", flat=True))
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        result = refresh_dashboards.apply(throw=True).get()
    second = set(DashboardSnapshot.objects.values_list("variant", flat=True))
    assert result["removed"] == 38 and first.isdisjoint(second)  # the range ends a day later
    assert DashboardSnapshot.objects.count() == 38


def test_an_unreadable_snapshot_is_computed_instead(world, refreshed, client_for):
    DashboardSnapshot.objects.update(payload=b"not a pickle")
    with time_machine.travel(NOW + timedelta(minutes=7), tick=False):
        page = client_for(world.manager_a).get(reverse("dashboards:sales")).content.decode()
    assert WON_TEAM_A in page and "2026-04-10 09:07" in page
