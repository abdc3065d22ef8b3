"""Browser test of churn early warning: a manager opens the warning list, drills into a high-risk
customer and sees why; works the retention case; the report and rules pages render in both languages;
weekly usage figures are imported from a CSV file (preview, then apply) and feed the scan."""

import csv
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import ChurnReason, Customer, CustomerHealth, ImportJob, RetentionCase, UsageWeek
from accounts.services import churn
from followups.models import Complaint, Task, TaskOrigin
from receivables.models import Contract, ContractStatus, Installment
from tests.conftest import click_nav

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _stories(personas):
    """customer_a: 60 days overdue, a complaint past its SLA, no follow-up for 70 days → high risk.
    customer_b: usage fell below half for two weeks and no follow-up for 70 days → medium."""
    now = timezone.now()
    today = timezone.localdate()
    Customer.objects.filter(pk__in=[personas.customer_a.pk, personas.customer_b.pk]).update(
        created_at=now - timedelta(days=400), last_followup_at=now - timedelta(days=70)
    )
    contract = Contract.objects.create(
        customer=personas.customer_a,
        title="年度服务合同",
        amount=Decimal("80000.00"),
        signed_on=today - timedelta(days=200),
        owner=personas.rep_a,
        status=ContractStatus.ACTIVE,
    )
    Installment.objects.create(contract=contract, amount=Decimal("80000.00"), due_on=today - timedelta(days=60))
    opened = now - timedelta(days=5)
    Complaint.objects.create(
        customer=personas.customer_a,
        description="实施延期，客户不满",
        opened_at=opened,
        opened_by=personas.rep_a,
        response_due_at=opened + timedelta(hours=24),
        resolution_due_at=opened + timedelta(hours=48),
    )
    monday = churn.monday_of(today)
    for n in range(1, 11):
        logins = 30 if n <= 2 else 100
        UsageWeek.objects.create(customer=personas.customer_b, week_start=monday - timedelta(weeks=n), logins=logins)
    churn.run_scan()


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_a_manager_opens_the_warning_list_and_sees_why_a_customer_is_at_risk(personas, new_page, screenshot, lang):
    _stories(personas)
    page = new_page(personas.manager_a, lang=lang)
    page.goto(page.base_url + reverse("crm:home"))
    click_nav(page, "churn")
    table = page.locator("[data-testid=warning-table]")
    table.wait_for()
    rows = table.locator("tbody tr")
    assert rows.first.get_attribute("data-customer") == str(personas.customer_a.pk)  # riskiest first
    assert "MARKER-C" not in table.inner_text()  # another team's customer
    assert table.locator("[data-risk=high]").count() == 1
    screenshot(page, f"churn-warning-list-{lang}")

    page.select_option("#id_risk", "medium")
    page.locator("[data-testid=filter-form] button[type=submit]").click()
    page.wait_for_url("**risk=medium**")
    assert "MARKER-B" in page.locator("[data-testid=warning-table]").inner_text()
    assert "MARKER-A" not in page.locator("[data-testid=warning-table]").inner_text()
    page.go_back()

    page.locator("[data-testid=warning-table] a", has_text="MARKER-A").click()
    card = page.locator("[data-testid=health-card]")
    card.wait_for()
    assert page.locator("[data-testid=health-score]").inner_text() == "45"  # 100 − 20 − 20 − 15
    signals = page.locator("[data-testid=health-signals]").inner_text()
    assert "80,000.00" in signals and "70" in signals
    card.scroll_into_view_if_needed()
    screenshot(page, f"churn-customer-health-{lang}")

    page.locator("[data-testid=open-case]").click()
    page.locator("[data-testid=contact-form]").wait_for()
    page.locator("[data-testid=contact-form] textarea").fill("客户财务说下周安排付款，对实施进度不满")
    page.locator("[data-testid=contact-form] button[type=submit]").click()
    page.locator("[data-testid=plan-form]").wait_for()
    screenshot(page, f"churn-retention-case-{lang}")
    case = RetentionCase.objects.get()
    assert case.state == RetentionCase.State.CONTACTED
    tasks = dict(Task.objects.filter(origin=TaskOrigin.RETENTION).values_list("dedupe_key", "status"))
    assert tasks == {f"retention:{case.pk}": "done", f"retention-plan:{case.pk}": "open"}


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_the_report_and_rules_pages(personas, new_page, screenshot, lang):
    churn.mark_churned(
        customer=personas.customer_b, reason=ChurnReason.objects.get(code="competitor_price"), by=personas.rep_b
    )
    Customer.objects.update(created_at=timezone.now() - timedelta(days=400))
    page = new_page(personas.manager_a, lang=lang)
    page.goto(page.base_url + reverse("accounts:churn_report"))
    assert page.locator("[data-testid=churned]").inner_text() == "1"
    assert page.locator("[data-testid=rate]").inner_text() == "50.0%"  # 1 of team A's 2 customers
    screenshot(page, f"churn-report-{lang}")
    page.goto(page.base_url + reverse("accounts:health_policy"))
    page.locator("[data-testid=policy-form]").wait_for()
    screenshot(page, f"churn-policy-{lang}")
    page.goto(page.base_url + reverse("accounts:churn_warnings"))
    page.locator("[data-testid=warning-table]").wait_for()
    screenshot(page, f"churn-warning-list-empty-{lang}")


def test_a_manager_imports_usage_from_a_csv_file_previews_it_and_applies_it(
    personas, new_page, screenshot, settings, tmp_path
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    monday = churn.monday_of(timezone.localdate())
    path = tmp_path / "usage.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["客户编号", "周开始日期", "登录/使用次数"])
        for n in range(10, 0, -1):  # eight ordinary weeks, then two weeks at a fifth of them
            writer.writerow(
                [personas.customer_a.number, (monday - timedelta(weeks=n)).isoformat(), 100 if n > 2 else 20]
            )
        writer.writerow([personas.customer_b.number, (monday - timedelta(weeks=1)).isoformat(), 55])

    page = new_page(personas.manager_a, lang="zh-hans")
    page.goto(page.base_url + reverse("accounts:churn_warnings"))
    page.click("[data-testid=usage-import-link]")
    page.locator("[data-testid=import-form]").wait_for()
    screenshot(page, "churn-usage-import-upload")

    page.set_input_files("#id_file", str(path))
    page.click("[data-testid=import-upload]")
    assert page.locator("[data-testid=import-valid]").inner_text() == "11"
    assert page.locator("[data-testid=import-errors]").inner_text() == "0"
    assert personas.customer_a.number in page.locator("[data-testid=import-sample]").inner_text()
    assert not UsageWeek.objects.exists()  # the preview writes nothing
    screenshot(page, "churn-usage-import-preview")

    page.click("[data-testid=import-apply]")
    page.wait_for_selector("[data-testid=import-done]")
    screenshot(page, "churn-usage-import-done")
    assert ImportJob.objects.get(kind="usage").state == ImportJob.State.DONE
    assert UsageWeek.objects.filter(customer=personas.customer_a).count() == 10
    assert UsageWeek.objects.get(customer=personas.customer_b).logins == 55

    page.click("[data-testid=import-done] [data-testid=scan-now]")  # the scan task runs eagerly
    page.locator("[data-testid=warning-table]").wait_for()
    assert "usage" in CustomerHealth.objects.get(customer=personas.customer_a).signals
    assert "MARKER-A" in page.locator("[data-testid=warning-table]").inner_text()
