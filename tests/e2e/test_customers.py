"""Browser tests of the customer archive: create with contacts, find by search, detail and edit pages."""

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Contact, ContactRole, Customer, Tag
from accounts.services.customers import refresh_completeness

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_it_lets_a_rep_create_a_customer_with_two_contacts_and_find_it_by_search(personas, new_page, screenshot):
    page = new_page(personas.rep_a)
    page.goto(page.base_url + reverse("accounts:customer_list"))
    page.click("[data-testid=new-customer]")
    page.wait_for_url("**" + reverse("accounts:customer_create"))
    assert page.locator("[data-formset-form]").count() == 2
    page.fill("#id_name", "星河智能制造有限公司")
    page.select_option("#id_industry", "manufacturing")
    page.select_option("#id_province", "江苏")
    page.fill("#id_city", "苏州")
    page.fill("#id_next_step", "安排产品演示")
    page.fill("#id_contacts-0-name", "陈建国")
    page.select_option("#id_contacts-0-role", "decision_maker")
    page.fill("#id_contacts-0-title", "总经理")
    page.fill("#id_contacts-0-phone", "13912345678")
    page.check("#id_contacts-0-is_primary")
    page.fill("#id_contacts-1-name", "刘芳")
    page.select_option("#id_contacts-1-role", "purchaser")
    page.fill("#id_contacts-1-email", "liufang@example.com")
    page.click("[data-testid=add-contact-row]")
    assert page.locator("[data-formset-form]").count() == 3
    screenshot(page, "customer-create")
    page.click("[data-testid=save-customer]")
    page.wait_for_selector("[data-testid=decision-chain]")
    customer = Customer.objects.get(name="星河智能制造有限公司")
    assert customer.owner == personas.rep_a
    assert sorted(customer.contacts.values_list("name", flat=True)) == ["刘芳", "陈建国"]
    assert "陈建国" in page.locator("[data-testid=decision-chain]").inner_text()

    page.goto(page.base_url + reverse("accounts:customer_list"))
    page.fill("[data-testid=search]", "13912345678")
    page.press("[data-testid=search]", "Enter")
    page.wait_for_load_state()
    table = page.locator("[data-testid=customer-table]").inner_text()
    assert "星河智能制造有限公司" in table and "MARKER-A" not in table
    screenshot(page, "customer-search")


def test_it_shows_a_clean_list_detail_and_edit_page(personas, new_page, screenshot):
    customer = personas.customer_a
    customer.credit_code = "91310000MA1K4CJ35" + __import__("accounts.validators").validators.credit_code_check_char(
        "91310000MA1K4CJ35"
    )
    customer.industry, customer.province, customer.city = "it", "上海", "上海"
    customer.needs, customer.next_step, customer.budget = "销售数据分散，需要统一客户档案", "约见决策人", 880000
    customer.last_followup_at = timezone.now()
    customer.save()
    customer.tags.add(Tag.objects.create(name="重点客户"))
    Contact.objects.create(customer=customer, name="周明", role=ContactRole.USER, phone="13800001111", title="IT 经理")
    Contact.objects.create(customer=customer, name="吴静", role=ContactRole.INFLUENCER, title="财务总监")
    refresh_completeness([customer.pk])

    page = new_page(personas.manager_a)
    page.goto(page.base_url + reverse("accounts:customer_list"))
    assert page.locator("[data-testid=customer-table] tbody tr").count() == 2
    screenshot(page, "customer-list-manager")

    page.goto(page.base_url + customer.get_absolute_url())
    assert page.locator("[data-testid=no-decision-maker]").is_visible()
    assert "¥880,000.00" in page.locator("[data-testid=budget]").inner_text()
    screenshot(page, "customer-detail")

    page.click("[data-testid=edit-customer]")
    page.wait_for_selector("[data-testid=customer-form]")
    screenshot(page, "customer-edit")
    page.fill("#id_next_step", "发送报价单")
    page.click("[data-testid=save-customer]")
    page.wait_for_selector("[data-testid=timeline]")
    assert "发送报价单" in page.locator("[data-testid=timeline]").inner_text()
    screenshot(page, "customer-detail-after-edit")

    page.goto(page.base_url + reverse("accounts:incomplete"))
    assert page.locator("[data-testid=incomplete-table] tbody tr").count() >= 1
    screenshot(page, "customers-incomplete")

    page.goto(page.base_url + reverse("accounts:customer_list") + "?q=nothing-matches-this")
    assert page.locator("[data-testid=empty-state]").is_visible()
    page.click("[data-testid=columns-toggle]")
    screenshot(page, "customer-list-empty-columns")
