"""Browser test of the audit pages: a manager opens a customer's trail from its page, filters it,
then reads a rep's trail; a rep is refused."""

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.services import customers as customer_services
from crm import audit
from crm.models import AuditAction

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_manager_browses_the_trail_of_a_customer_and_of_a_rep(personas, new_page, screenshot):
    customer = personas.customer_a
    customer.city, customer.budget = "杭州", Decimal("120000.00")
    customer_services.update_customer(customer=customer, by=personas.rep_a, tags=[], contacts=[])
    audit.record(AuditAction.EXPORT, actor=personas.rep_a, object_type="accounts.Customer", changes={"format": "csv"})

    for lang in ("zh-hans", "en"):
        page = new_page(personas.manager_a, lang=lang)
        page.goto(page.base_url + reverse("accounts:customer_detail", args=[customer.pk]))
        page.get_by_test_id("audit-trail").click()
        page.wait_for_url("**/audit/customers/**")
        table = page.get_by_test_id("trail-table")
        assert table.locator("tr[data-action='update']").count() >= 1
        assert "杭州" in table.inner_text() and "120,000.00" in table.inner_text()
        screenshot(page, f"audit-customer-{lang}")

        page.select_option("#id_action", "delete")
        page.get_by_test_id("trail-filter").locator("button[type=submit]").click()
        page.get_by_test_id("empty-state").wait_for()
        screenshot(page, f"audit-customer-empty-{lang}")

        page.goto(page.base_url + reverse("crm:audit_users"))
        screenshot(page, f"audit-users-{lang}")
        page.get_by_test_id("audit-users").locator("tr:has-text('rep_a') a.btn").click()
        page.wait_for_url(f"**/audit/users/{personas.rep_a.pk}/")
        rows = page.get_by_test_id("trail-table")
        assert rows.locator("tr[data-action='export']").count() == 1
        screenshot(page, f"audit-user-{lang}")

    rep = new_page(personas.rep_a)
    response = rep.goto(rep.base_url + reverse("crm:audit_customer", args=[customer.pk]))
    assert response.status == 403
    rep.goto(rep.base_url + reverse("accounts:customer_detail", args=[customer.pk]))
    assert rep.get_by_test_id("audit-trail").count() == 0
