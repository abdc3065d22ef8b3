"""Browser tests of receivables: finance signs a contract with a plan, records a partial payment and
sees the aging change; a rep sees the collection task but no amounts; a blacklisted customer is refused."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Status
from followups.models import Task
from receivables import services
from receivables.models import Condition, Contract, Payment

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_finance_creates_a_contract_records_a_partial_payment_and_sees_the_aging(personas, new_page, screenshot):
    services.set_credit_rating(customer=personas.customer_a, rating="good", note="背调通过", by=personas.finance)
    today = timezone.localdate()
    page = new_page(personas.finance)
    page.goto(page.base_url + personas.customer_a.get_absolute_url())
    page.locator("[data-testid=action-new-contract]").click()
    form = page.locator("[data-testid=contract-form]")
    form.locator("[name=title]").fill("CRM 年度合同")
    form.locator("[name=amount]").fill("100000")
    form.locator("[name=signed_on]").fill(today.isoformat())
    form.locator("[name='plan-0-amount']").fill("30000")
    form.locator("[name='plan-0-due_on']").fill((today - timedelta(days=10)).isoformat())
    form.locator("[name='plan-0-condition']").select_option("prepayment")
    page.locator("[data-testid=add-installment]").click()
    form.locator("[name='plan-1-amount']").fill("70000")
    form.locator("[name='plan-1-due_on']").fill((today + timedelta(days=30)).isoformat())
    form.locator("[name='plan-1-condition']").select_option("acceptance")
    screenshot(page, "receivables-contract-form")
    page.locator("[data-testid=save-contract]").click()
    page.locator("[data-testid=installments]").wait_for()
    contract = Contract.objects.get()
    assert contract.status == "active" and contract.installments.count() == 2
    assert "¥100,000.00" in page.locator("[data-testid=contract-amount]").inner_text()

    page.goto(page.base_url + reverse("receivables:dashboard"))
    assert "¥30,000.00" in page.locator("[data-testid=aging-table]").inner_text()

    page.goto(page.base_url + contract.get_absolute_url())
    payment = page.locator("[data-testid=payment-form]")
    payment.locator("[name=amount]").fill("12000")
    payment.locator("[name=reference]").fill("银行回单 001")
    payment.locator("button[type=submit]").click()
    page.locator("[data-testid=messages]").wait_for()
    assert "¥12,000.00" in page.locator("[data-testid=contract-paid]").inner_text()
    screenshot(page, "receivables-contract-detail")
    assert Payment.objects.get().amount == Decimal("12000.00")

    page.goto(page.base_url + reverse("receivables:dashboard"))
    table = page.locator("[data-testid=aging-table]").inner_text()
    assert "¥18,000.00" in table and "¥88,000.00" in table
    page.locator("[data-testid=chart-aging] canvas").first.wait_for()
    screenshot(page, "receivables-aging")

    # The customer page sums it up: one contract, paid, outstanding, and the first installment
    # not paid in full as the next due date.
    page.goto(page.base_url + personas.customer_a.get_absolute_url())
    summary = page.locator("[data-testid=action-receivables]").inner_text()
    assert "¥12,000.00" in summary and "¥88,000.00" in summary
    assert (today - timedelta(days=10)).isoformat() in summary
    screenshot(page, "receivables-customer-summary")


def test_a_rep_sees_the_collection_task_but_no_amounts(personas, new_page, screenshot):
    due = timezone.localdate() - timedelta(days=1)
    contract = services.create_contract(
        customer=personas.customer_a,
        by=personas.finance,
        amount=Decimal(54321),
        signed_on=due,
        title="逾期合同",
        plan=[services.PlanLine(Decimal(54321), due, Condition.PREPAYMENT)],
    )
    services.run_daily_reminders()
    assert Task.objects.filter(assignee=personas.rep_a).exists()
    page = new_page(personas.rep_a)
    page.goto(page.base_url + reverse("followups:my_day"))
    assert personas.customer_a.name in page.content()
    screenshot(page, "receivables-rep-my-day")
    page.goto(page.base_url + contract.get_absolute_url())
    assert "54,321" not in page.content()
    page.goto(page.base_url + reverse("receivables:overdue"))
    assert "逾期合同" in page.content() and "54,321" not in page.content()
    screenshot(page, "receivables-rep-overdue")
    page.goto(page.base_url + personas.customer_a.get_absolute_url())
    assert "54,321" not in page.content()
    page.goto(page.base_url + reverse("receivables:dashboard"))
    assert "54,321" not in page.content()


def test_a_blacklisted_customer_is_refused_a_new_contract(personas, new_page, screenshot):
    personas.customer_a.status = Status.BLACKLISTED
    personas.customer_a.save()
    page = new_page(personas.finance)
    page.goto(page.base_url + reverse("receivables:contract_create") + f"?customer={personas.customer_a.pk}")
    messages = page.locator("[data-testid=messages]")
    messages.wait_for()
    assert personas.customer_a.name in messages.inner_text()
    screenshot(page, "receivables-blacklisted-refused")
    assert not Contract.objects.exists()


def test_the_aging_page_says_when_it_shows_only_the_largest_rows(personas, new_page, screenshot, monkeypatch):
    from receivables import views

    today = timezone.localdate()
    for customer, amount in ((personas.customer_a, 5000), (personas.customer_c, 9000)):
        services.set_credit_rating(customer=customer, rating="good", note="背调通过", by=personas.finance)
        services.create_contract(
            customer=customer,
            by=personas.finance,
            amount=Decimal(amount),
            signed_on=today - timedelta(days=40),
            plan=[services.PlanLine(Decimal(amount), today - timedelta(days=20), Condition.PREPAYMENT)],
            title="合同",
        )
    monkeypatch.setattr(views, "AGING_ROWS", 1)  # the live server runs in this process
    page = new_page(personas.finance, lang="zh-hans")
    page.goto(page.base_url + reverse("receivables:dashboard"))
    table = page.locator("[data-testid=aging-table]")
    assert table.locator("tbody tr").count() == 1 and "¥9,000.00" in table.inner_text()
    assert "仅显示金额最大的 1 条" in page.locator("[data-testid=aging-more]").inner_text()
    assert "¥14,000.00" in table.locator("tfoot").inner_text()
    screenshot(page, "receivables-aging-cut")
