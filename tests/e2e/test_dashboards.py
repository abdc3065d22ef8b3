"""Browser tests of the dashboards: every dashboard in Chinese and English with its charts drawn,
a rep's personal version, and the maintenance checklist download."""

import pytest
from django.urls import reverse

from tests.conftest import click_nav
from tests.dashboards.conftest import world  # noqa: F401  (the hand-built data set as a fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
RANGE = "?start=2026-01-01&end=2026-03-31"
CHARTS = {
    "sales": ["funnel", "monthly", "pipeline"],
    "customers": ["tiers", "migration", "churn", "nps"],
    "acquisition": ["channels"],
    "receivables": [],
    "cross_sell": [],
}


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_a_manager_reads_every_dashboard(world, new_page, screenshot, lang):  # noqa: F811
    page = new_page(world.manager_a, lang=lang)
    page.goto(page.base_url + reverse("dashboards:index"))
    assert page.locator("[data-testid=dashboard-cards] a").count() >= 6
    screenshot(page, f"dashboards-index-{lang}")
    for key, charts in CHARTS.items():
        page.goto(page.base_url + reverse(f"dashboards:{key}") + RANGE)
        page.locator("[data-testid=dashboard-filters]").wait_for()
        for chart in charts:
            page.locator(f"[data-testid=chart-{chart}] canvas").first.wait_for()
        screenshot(page, f"dashboards-{key}-{lang}")
    page.goto(page.base_url + reverse("dashboards:discipline") + RANGE)
    page.locator("[data-testid=discipline-table] th a").first.click()  # sort by a column
    page.locator("[data-testid=discipline-table]").wait_for()
    screenshot(page, f"dashboards-discipline-{lang}")
    page.goto(page.base_url + reverse("dashboards:targets"))
    screenshot(page, f"dashboards-targets-{lang}")


def test_count_axes_tick_in_whole_numbers_and_money_axes_do_not(world, new_page):  # noqa: F811
    page = new_page(world.manager_a, lang="en")
    page.goto(page.base_url + reverse("dashboards:sales") + RANGE)
    page.locator("[data-testid=chart-monthly] canvas").first.wait_for()
    axes = page.evaluate(
        """() => echarts.getInstanceByDom(document.querySelector('[data-testid=chart-monthly]'))
                .getOption().yAxis.map(a => a.minInterval === undefined ? null : a.minInterval)"""
    )
    assert axes == [1, None]  # new customers (count) on the left, won amount (money) on the right


def test_a_rep_sees_the_personal_sales_dashboard_without_amounts(world, new_page, screenshot):  # noqa: F811
    page = new_page(world.rep_a, lang="zh-hans")
    page.goto(page.base_url + reverse("crm:home"))
    click_nav(page, "dashboards")
    page.locator("[data-testid=dashboard-cards]").wait_for()
    page.goto(page.base_url + reverse("dashboards:sales") + RANGE)
    page.locator("[data-testid=chart-funnel] canvas").first.wait_for()
    assert page.locator("[name=rep]").count() == 0
    assert "¥" not in page.locator("main").inner_text()
    assert page.locator("[data-testid=kpi-new-customers]").inner_text() == "1"
    screenshot(page, "dashboards-sales-rep")


def test_a_manager_filters_to_one_rep_and_downloads_the_checklist(world, new_page, screenshot):  # noqa: F811
    page = new_page(world.manager_a, lang="zh-hans")
    page.goto(page.base_url + reverse("dashboards:sales") + RANGE)
    page.locator("[name=rep]").select_option(str(world.rep_b.pk))
    page.locator("[data-testid=apply-filters]").click()
    page.wait_for_url("**rep=*")
    assert page.locator("[data-testid=kpi-won-amount]").inner_text() == "¥60,000.00"
    page.goto(page.base_url + reverse("dashboards:checklist"))
    screenshot(page, "dashboards-checklist-zh-hans")
    with page.expect_download() as download:
        page.locator("[data-testid=checklist-export]").click()
    assert download.value.suggested_filename.endswith(".xlsx")


def test_a_precomputed_dashboard_opens_with_its_as_of_time_and_refreshes(world, new_page, screenshot):  # noqa: F811
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from crm.dashboards import snapshots
    from crm.models import DashboardSnapshot

    snapshots.refresh()  # what beat does every 30 minutes
    DashboardSnapshot.objects.update(computed_at=datetime(2026, 1, 2, 8, 30, tzinfo=ZoneInfo("Asia/Shanghai")))
    page = new_page(world.manager_a)
    page.goto(page.base_url + reverse("dashboards:sales"))
    for chart in CHARTS["sales"]:
        page.locator(f"[data-testid=chart-{chart}] canvas").first.wait_for()
    assert "2026-01-02 08:30" in page.locator("[data-testid=dashboard-as-of]").inner_text()
    screenshot(page, "dashboards-sales-precomputed")
    page.locator("[data-testid=dashboard-refresh]").click()
    page.locator("[data-testid=dashboard-filters]").wait_for()
    assert "2026-01-02 08:30" not in page.locator("[data-testid=dashboard-as-of]").inner_text()
