"""Merging duplicates: one record survives with the chosen values; the other points to it."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from accounts.models import Contact, Customer, Merge, Tag
from accounts.services import merge
from accounts.validators import credit_code_check_char
from tests.factories import CustomerFactory

CODE = "913100000000000A1" + credit_code_check_char("913100000000000A1")


@pytest.fixture
def pair(personas):
    survivor = CustomerFactory(name="上海星辰科技有限公司", owner=personas.rep_a, industry="it", city="上海")
    loser = CustomerFactory(
        name="上海星辰科技股份有限公司", owner=personas.rep_b, industry="", city="浦东", credit_code=CODE
    )
    Contact.objects.create(customer=survivor, name="张伟", is_primary=True)
    Contact.objects.create(customer=loser, name="李娜", is_primary=True, phone="13812345678")
    Contact.objects.create(customer=loser, name="王强")
    survivor.tags.add(Tag.objects.create(name="重点"))
    loser.tags.add(Tag.objects.get(name="重点"), Tag.objects.create(name="华东"))
    return survivor, loser


def test_it_moves_contacts_and_tags_and_keeps_the_chosen_values(personas, pair):
    survivor, loser = pair
    done = merge.merge_customers(
        survivor=survivor, loser=loser, by=personas.manager_a, choices={"city": "loser", "credit_code": "loser"}
    )
    survivor.refresh_from_db()
    loser.refresh_from_db()
    assert sorted(survivor.contacts.values_list("name", flat=True)) == ["张伟", "李娜", "王强"]
    assert survivor.contacts.filter(is_primary=True).count() == 1
    assert sorted(survivor.tags.values_list("name", flat=True)) == ["华东", "重点"]
    assert not loser.tags.exists() and not loser.contacts.exists()
    assert (survivor.city, survivor.industry, survivor.credit_code) == ("浦东", "it", CODE)
    assert survivor.owner == personas.rep_a  # not chosen: the survivor's value stays
    assert done.moved == {"contacts": 2, "tags": 1}
    assert done.chosen_values["city"] == {"from": "loser", "value": "浦东"}
    assert done.chosen_values["owner"]["from"] == "survivor"
    assert loser.merged_into == survivor
    assert loser.credit_code is None


def test_it_keeps_the_loser_status_and_audits_both_records(personas, pair):
    survivor, loser = pair
    Customer.objects.filter(pk=loser.pk).update(status="dormant")
    done = merge.merge_customers(survivor=survivor, loser=loser, by=personas.manager_a)
    loser.refresh_from_db()
    assert loser.status == "dormant"
    assert loser.history.first().history_change_reason.startswith(f"merged into #{survivor.pk}")
    assert survivor.history.first().history_change_reason == f"merge #{done.pk}: absorbed #{loser.pk}"
    assert survivor.history.first().history_user == personas.manager_a
    assert Merge.objects.get().survivor == survivor


def test_it_runs_the_registered_merge_hooks(personas, pair):
    survivor, loser = pair
    seen = []

    def move_followups(old, new, by):
        seen.append((old.pk, new.pk, by))
        return {"followups": 4}

    merge.register_merge_hook(move_followups)
    try:
        done = merge.merge_customers(survivor=survivor, loser=loser, by=personas.admin)
    finally:
        merge.unregister_merge_hook(move_followups)
    assert seen == [(loser.pk, survivor.pk, personas.admin)]
    assert done.moved["followups"] == 4


def test_it_refuses_without_the_permission_or_outside_the_team(personas, pair):
    survivor, loser = pair
    other_team = CustomerFactory(owner=personas.rep_c)
    with pytest.raises(PermissionDenied):
        merge.merge_customers(survivor=survivor, loser=loser, by=personas.rep_a)
    with pytest.raises(PermissionDenied):
        merge.merge_customers(survivor=survivor, loser=other_team, by=personas.manager_a)
    assert not Merge.objects.exists()
    loser.refresh_from_db()
    assert loser.merged_into is None


def test_it_excludes_the_merged_record_from_duplicate_checks(personas, pair):
    from accounts.services.customers import find_duplicates

    survivor, loser = pair
    merge.merge_customers(survivor=survivor, loser=loser, by=personas.manager_a)
    check = find_duplicates(name="上海星辰科技", credit_code=CODE)
    assert check.same_code is None
    assert [c.pk for c in check.same_name] == [survivor.pk]


# --- views --------------------------------------------------------------------------------


def test_it_merges_with_the_values_picked_side_by_side(personas, pair, client_for):
    survivor, loser = pair
    client = client_for(personas.manager_a)
    url = reverse("accounts:merge", args=[survivor.pk, loser.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="field_city"' in page.content.decode()
    response = client.post(url, {"survivor": loser.pk, "field_name": survivor.pk, "field_city": loser.pk})
    assert response.status_code == 302
    assert response.url == loser.get_absolute_url()  # the chosen survivor
    kept = Customer.objects.get(pk=loser.pk)
    assert (kept.name, kept.city, kept.industry) == ("上海星辰科技有限公司", "浦东", "")
    assert Customer.objects.get(pk=survivor.pk).merged_into == kept


def test_it_finds_candidates_to_merge_with(personas, pair, client_for):
    survivor, loser = pair
    client = client_for(personas.manager_a)
    response = client.get(reverse("accounts:merge_search", args=[survivor.pk]), {"q": "星辰"})
    assert list(response.context["results"]) == [loser]
    assert loser in response.context["suggestions"]


def test_it_refuses_the_merge_pages_to_a_rep_and_to_outsiders(personas, pair, client_for):
    survivor, loser = pair
    url = reverse("accounts:merge", args=[survivor.pk, loser.pk])
    rep = client_for(personas.rep_a)
    assert rep.get(url).status_code == 403
    assert rep.post(url, {"survivor": survivor.pk}).status_code == 403
    assert rep.get(reverse("accounts:merge_search", args=[survivor.pk])).status_code == 403
    outsider = client_for(personas.manager_b)
    assert outsider.post(url, {"survivor": survivor.pk}).status_code == 404
    assert not Merge.objects.exists()


def test_it_offers_merge_on_the_detail_page_only_with_the_permission(personas, pair, client_for):
    survivor, _loser = pair
    url = survivor.get_absolute_url()
    assert "merge-with" in client_for(personas.manager_a).get(url).content.decode()
    assert "merge-with" not in client_for(personas.rep_a).get(url).content.decode()
