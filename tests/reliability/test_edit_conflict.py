"""Two people editing one customer at once: the second save is refused with a message, never a
silent overwrite of the first (optimistic check on the customer's updated_at, under a row lock)."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Customer
from tests.accounts.test_customers_forms import edit_data

from .conftest import sign_in

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]  # the assertions read the English wording


def open_form(user, customer) -> tuple[Client, str]:
    client = Client()
    sign_in(client, user)
    page = client.get(reverse("accounts:customer_edit", args=[customer.pk])).content.decode()
    version = re.search(r'name="version" value="([^"]+)"', page).group(1)
    return client, version


def test_the_second_of_two_concurrent_edits_gets_a_conflict_and_the_first_stays(personas):
    customer = personas.customer_a
    url = reverse("accounts:customer_edit", args=[customer.pk])
    rep, rep_version = open_form(personas.rep_a, customer)
    manager, manager_version = open_form(personas.manager_a, customer)
    assert rep_version == manager_version

    first = rep.post(url, edit_data(customer, name="甲公司（代表修改）", version=rep_version))
    assert first.status_code == 302
    second = manager.post(url, edit_data(customer, name="甲公司（经理修改）", version=manager_version))
    assert second.status_code == 200
    assert "Someone else saved this customer" in second.content.decode()
    customer.refresh_from_db()
    assert customer.name == "甲公司（代表修改）"
    assert customer.history.count() == 2  # created, and the one accepted edit

    # Having reloaded the form, the manager's edit goes through.
    manager, fresh_version = open_form(personas.manager_a, customer)
    assert fresh_version != manager_version
    again = manager.post(url, edit_data(customer, name="甲公司（经理修改）", version=fresh_version))
    assert again.status_code == 302
    assert Customer.objects.get(pk=customer.pk).name == "甲公司（经理修改）"


def test_an_unchanged_version_saves_normally(personas):
    client, version = open_form(personas.rep_a, personas.customer_a)
    url = reverse("accounts:customer_edit", args=[personas.customer_a.pk])
    assert client.post(url, edit_data(personas.customer_a, next_step="再约", version=version)).status_code == 302
    assert Customer.objects.get(pk=personas.customer_a.pk).next_step == "再约"


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_two_browsers_editing_one_customer(personas, new_page, screenshot, lang):
    url = reverse("accounts:customer_edit", args=[personas.customer_a.pk])
    rep, manager = new_page(personas.rep_a, lang=lang), new_page(personas.manager_a, lang=lang)
    for page in (rep, manager):
        page.goto(page.base_url + url)
    rep.fill("#id_name", "甲公司（代表修改）")
    rep.get_by_test_id("save-customer").click()
    rep.wait_for_url(f"**/customers/{personas.customer_a.pk}/")
    manager.fill("#id_name", "甲公司（经理修改）")
    manager.get_by_test_id("save-customer").click()
    errors = manager.get_by_test_id("form-errors")
    errors.wait_for()
    assert manager.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(manager, f"reliability-edit-conflict-{lang}")
    assert Customer.objects.get(pk=personas.customer_a.pk).name == "甲公司（代表修改）"
