"""Who may open which dashboard, what they see, exports and targets."""

from datetime import timedelta
from decimal import Decimal
from io import BytesIO

import openpyxl
import pytest
import time_machine
from django.urls import reverse

from crm.models import DashboardPolicy, SalesTarget
from tests.dashboards.conftest import SETTINGS_FORM, at

pytestmark = pytest.mark.django_db
RANGE = "?start=2026-01-01&end=2026-03-31"
ALL = ["sales", "customers", "acquisition", "discipline", "receivables", "cross_sell"]


@pytest.fixture(autouse=True)
def after_the_quarter():
    with time_machine.travel(at(2026, 4, 10), tick=False):
        yield


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [
        ("admin", ALL),
        ("manager_a", ALL),
        ("rep_a", ["sales", "customers", "discipline", "cross_sell"]),
        ("finance", ["receivables"]),
    ],
)
def test_each_role_opens_only_its_dashboards(world, client_for, persona, allowed):
    client = client_for(getattr(world, persona))
    for key in ALL:
        status = client.get(reverse(f"dashboards:{key}") + RANGE).status_code
        assert status == (200 if key in allowed else 403), key


def test_a_rep_sees_a_personal_version_without_amounts_or_filters(world, client_for):
    page = client_for(world.rep_a).get(reverse("dashboards:sales") + RANGE + f"&rep={world.rep_c.pk}").content.decode()
    assert 'name="rep"' not in page and 'name="team"' not in page
    assert "100,000" not in page and "¥" not in page
    assert 'data-testid="kpi-new-customers">1<' in page  # customer_a only, the rep filter is ignored


def test_a_manager_filters_by_rep_and_team(world, client_for):
    client = client_for(world.manager_a)
    page = client.get(reverse("dashboards:sales") + RANGE + f"&rep={world.rep_b.pk}").content.decode()
    assert 'data-testid="kpi-won-amount">¥60,000.00<' in page
    # another team's rep is not a valid choice: the filter falls back to the whole scope
    page = client.get(reverse("dashboards:sales") + RANGE + f"&rep={world.rep_c.pk}").content.decode()
    assert 'data-testid="kpi-won-amount">¥160,000.00<' in page


def test_the_excel_export_has_one_sheet_per_table(world, client_for):
    response = client_for(world.admin).get(reverse("dashboards:acquisition") + RANGE + "&export=xlsx")
    book = openpyxl.load_workbook(BytesIO(response.content))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[-1][2] == 50000 and rows[-1][3] == 3  # all channels: cost and new customers
    sales = openpyxl.load_workbook(
        BytesIO(client_for(world.manager_a).get(reverse("dashboards:sales") + RANGE + "&export=xlsx").content)
    )
    assert len(sales.sheetnames) == 4


def test_exports_need_the_export_permission(world, client_for):
    assert client_for(world.rep_a).get(reverse("dashboards:sales") + "?export=xlsx").status_code == 403


def test_the_discipline_table_sorts_and_exports(world, client_for):
    client = client_for(world.manager_a)
    page = client.get(reverse("dashboards:discipline") + RANGE + "&sort=-logged").content.decode()
    assert 'data-testid="discipline-table"' in page
    book = openpyxl.load_workbook(
        BytesIO(client.get(reverse("dashboards:discipline") + RANGE + "&sort=-logged&export=xlsx").content)
    )
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[1][2] == 5 and rows[1][3] == 2  # rep_a first: 5 logged, 2 late


def test_managers_set_targets_for_their_team_only(world, client_for):
    client = client_for(world.manager_a)
    response = client.post(
        reverse("dashboards:targets"),
        {"month": "2026-03", "team": world.team_a.pk, "won_amount": "200000", "new_customers": "2"},
    )
    assert response.status_code == 302
    target = SalesTarget.objects.get()
    assert (target.month.isoformat(), target.won_amount, target.set_by) == (
        "2026-03-01",
        Decimal(200000),
        world.manager_a,
    )
    refused = client.post(
        reverse("dashboards:targets"),
        {"month": "2026-03", "team": world.team_b.pk, "won_amount": "1", "new_customers": "1"},
    )
    assert refused.status_code == 200 and SalesTarget.objects.count() == 1  # team B is not a choice
    other = SalesTarget.objects.create(month=target.month, team=world.team_b, won_amount=1)
    assert client.post(reverse("dashboards:target_delete", args=[other.pk])).status_code == 404
    assert client_for(world.rep_a).get(reverse("dashboards:targets")).status_code == 403


def test_managers_change_the_unit_costs(world, client_for):
    client_for(world.manager_a).post(
        reverse("dashboards:settings"),
        SETTINGS_FORM,
    )
    assert DashboardPolicy.current().visit_cost == Decimal(1000)


def test_the_navigation_and_home_link_to_the_dashboards(world, client_for):
    page = client_for(world.rep_a).get(reverse("crm:home")).content.decode()
    assert reverse("dashboards:index") in page and 'data-nav="dashboards"' in page
    index = client_for(world.finance).get(reverse("dashboards:index")).content.decode()
    assert reverse("dashboards:receivables") in index and reverse("dashboards:sales") not in index


def test_numbers_are_reused_with_their_as_of_time_until_refreshed(world, client_for, settings):
    from django.core.cache import cache

    settings.DASHBOARD_CACHE_SECONDS = 300
    cache.clear()
    client = client_for(world.manager_a)
    url = reverse("dashboards:sales") + RANGE
    with time_machine.travel(at(2026, 4, 10, 9), tick=False):
        first = client.get(url).content.decode()
    assert 'data-testid="dashboard-as-of"' in first and "2026-04-10 09:00" in first
    with time_machine.travel(at(2026, 4, 10, 9) + timedelta(minutes=3), tick=False):
        again = client.get(url).content.decode()
        refreshed = client.get(url + "&refresh=1").content.decode()
    assert "2026-04-10 09:00" in again and 'data-testid="kpi-won-amount">¥160,000.00<' in again
    assert "2026-04-10 09:03" in refreshed
    cache.clear()
