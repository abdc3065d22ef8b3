"""The customer list: visibility, search, filters, column choice, bulk actions, query budget."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Contact, Customer, Stage, Tag
from accounts.search import search_customers
from crm.roles import Role
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST = reverse("accounts:customer_list")


def names(response):
    return {row.record.name for row in response.context["table"].paginated_rows}


def test_it_lists_for_each_role_only_the_customers_it_may_see(personas, client_for):
    assert names(client_for(personas.rep_a).get(LIST)) == {"MARKER-A 甲公司"}
    assert names(client_for(personas.manager_a).get(LIST)) == {"MARKER-A 甲公司", "MARKER-B 乙公司"}
    assert names(client_for(personas.manager_b).get(LIST)) == {"MARKER-C 丙公司"}
    everything = {"MARKER-A 甲公司", "MARKER-B 乙公司", "MARKER-C 丙公司"}
    assert names(client_for(personas.admin).get(LIST)) == everything
    assert names(client_for(personas.finance).get(LIST)) == everything


def test_it_leaves_merged_records_out_of_the_list(personas, client_for):
    personas.customer_b.merged_into = personas.customer_a
    personas.customer_b.save()
    assert names(client_for(personas.manager_a).get(LIST)) == {"MARKER-A 甲公司"}


def test_it_finds_a_customer_by_contact_name_or_phone_once_even_with_two_matching_contacts(personas, client_for):
    Contact.objects.create(customer=personas.customer_a, name="王伟", phone="13812345678")
    Contact.objects.create(customer=personas.customer_a, name="王伟东", phone="13812345679")
    client = client_for(personas.rep_a)
    response = client.get(LIST, {"q": "王伟"})
    rows = [row.record.pk for row in response.context["table"].paginated_rows]
    assert rows == [personas.customer_a.pk]
    assert names(client.get(LIST, {"q": "1381234567"})) == {"MARKER-A 甲公司"}
    assert names(client.get(LIST, {"q": "没有这个人"})) == set()


@pytest.mark.parametrize(
    "id_set_limit, common_estimate",
    [(2000, 20_000), (1, 20_000), (2000, -1)],
    ids=["rare term: ids from the indexes", "common term: rows tested", "common by the planner's estimate"],
)
def test_a_common_term_finds_the_same_customers_as_a_rare_one(
    personas, client_for, monkeypatch, id_set_limit, common_estimate
):
    """Past ID_SET_LIMIT matches (or, for a bigram on PostgreSQL, past COMMON_ESTIMATE estimated
    ones) the list is walked in order and each row tested: same answers."""
    monkeypatch.setattr("accounts.search.ID_SET_LIMIT", id_set_limit)
    monkeypatch.setattr("accounts.search.COMMON_ESTIMATE", common_estimate)
    a, b, c = personas.customer_a, personas.customer_b, personas.customer_c
    Contact.objects.create(customer=a, name="科技 王伟", phone="13812345678")
    Contact.objects.create(customer=a, name="王伟东", phone="13812345679")  # a second match, one row
    Customer.objects.filter(pk=b.pk).update(name="上海科技有限公司", credit_code="91310000MA1K4CJ35X")
    Customer.objects.filter(pk=c.pk).update(name="北京科技有限公司")
    admin = client_for(personas.admin)
    rows = [row.record.pk for row in admin.get(LIST, {"q": "科技"}).context["table"].paginated_rows]
    assert rows == [c.pk, b.pk, a.pk]  # the list's own order, each customer once
    manager = client_for(personas.manager_a)
    assert names(manager.get(LIST, {"q": "科技"})) == {"MARKER-A 甲公司", "上海科技有限公司"}  # scope kept
    assert names(manager.get(LIST, {"q": "王伟"})) == {"MARKER-A 甲公司"}
    assert names(manager.get(LIST, {"q": "1381234567"})) == {"MARKER-A 甲公司"}
    assert names(manager.get(LIST, {"q": "91310000ma1k"})) == {"上海科技有限公司"}
    assert names(manager.get(LIST, {"q": "没有"})) == set()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="bigram statistics are PostgreSQL's")
def test_a_two_character_term_the_planner_knows_as_common_skips_collecting_ids(personas, monkeypatch):
    monkeypatch.setattr("accounts.search.COMMON_ESTIMATE", -1)
    with CaptureQueriesContext(connection) as captured:
        list(search_customers(Customer.objects.all(), "科技")[:25])
    assert not any("UNION" in q["sql"] for q in captured.captured_queries)
    monkeypatch.setattr("accounts.search.COMMON_ESTIMATE", 20_000)
    with CaptureQueriesContext(connection) as captured:
        list(search_customers(Customer.objects.all(), "科技")[:25])  # a handful: the ids are collected
    assert any("UNION" in q["sql"] for q in captured.captured_queries)


def test_it_finds_a_customer_by_credit_code_but_never_one_outside_the_users_scope(personas, client_for):
    personas.customer_c.credit_code = "91310000MA1K4CJ35X"
    personas.customer_c.save()
    assert names(client_for(personas.rep_a).get(LIST, {"q": "91310000MA1K4CJ35X"})) == set()
    assert names(client_for(personas.manager_b).get(LIST, {"q": "91310000ma1k4cj35x"})) == {"MARKER-C 丙公司"}


def test_it_shows_an_empty_state_when_nothing_matches(personas, client_for):
    body = client_for(personas.rep_a).get(LIST, {"q": "no-such-company"}).content.decode()
    assert 'data-testid="empty-state"' in body


def test_it_filters_by_stage_tag_attention_and_completeness(personas, client_for):
    a, b = personas.customer_a, personas.customer_b
    a.stage, a.needs_attention, a.completeness = Stage.WON, True, 40
    a.save()
    b.completeness = 90
    b.save()
    Tag.objects.create(name="VIP").customers.add(b)
    client = client_for(personas.manager_a)
    assert names(client.get(LIST, {"stage": "won"})) == {a.name}
    assert names(client.get(LIST, {"tag": Tag.objects.get(name="VIP").pk})) == {b.name}
    assert names(client.get(LIST, {"needs_attention": "true"})) == {a.name}
    assert names(client.get(LIST, {"completeness_below": "50"})) == {a.name}


def test_it_offers_owners_the_viewer_can_see_and_ignores_another_teams_owner(personas, client_for):
    client = client_for(personas.manager_a)
    response = client.get(LIST)
    offered = set(response.context["filter"].form.fields["owner"].queryset)
    assert {personas.rep_a, personas.rep_b, personas.manager_a} <= offered
    assert personas.rep_c not in offered
    assert names(client.get(LIST, {"owner": personas.rep_b.pk})) == {personas.customer_b.name}
    # another team's owner is not a valid choice: the filter refuses rather than leaking rows
    assert names(client.get(LIST, {"owner": personas.rep_c.pk})) == set()


def test_it_offers_a_rep_only_themself_as_owner(personas, client_for):
    response = client_for(personas.rep_a).get(LIST)
    assert list(response.context["filter"].form.fields["owner"].queryset) == [personas.rep_a]


def test_it_sorts_by_a_column(personas, client_for):
    response = client_for(personas.admin).get(LIST, {"sort": "name"})
    ordered = [row.record.name for row in response.context["table"].paginated_rows]
    assert ordered == sorted(ordered)


def test_it_remembers_the_chosen_columns_in_the_session_and_always_shows_the_name(personas, client_for):
    client = client_for(personas.manager_a)
    default = client.get(LIST).context["table"]
    assert "industry" in [c.name for c in default.columns]
    response = client.post(reverse("accounts:customer_columns"), {"columns": ["credit_code", "budget"], "next": LIST})
    assert response.status_code == 302
    page = client.get(LIST)
    shown = [c.name for c in page.context["table"].columns]
    assert shown == ["select", "name", "credit_code", "budget"]
    # the chooser ticks exactly the chosen columns, and offers the rest
    box = re.compile(r'type="checkbox" name="columns" value="(\w+)"[^>]*?( checked)?>')
    boxes = box.findall(page.content.decode())
    assert sorted(name for name, checked in boxes if checked) == ["budget", "credit_code"]
    assert {"industry", "owner", "tags"} <= {name for name, checked in boxes if not checked}


def test_it_never_shows_the_budget_column_to_a_rep_even_when_chosen(personas, client_for):
    personas.customer_a.budget = 7654321
    personas.customer_a.save()
    client = client_for(personas.rep_a)
    client.post(reverse("accounts:customer_columns"), {"columns": ["budget", "industry"]})
    response = client.get(LIST)
    assert "budget" not in [c.name for c in response.context["table"].columns]
    assert "7,654,321" not in response.content.decode()
    manager = client_for(personas.manager_a).get(LIST)
    assert "¥7,654,321.00" in manager.content.decode()


def test_it_shows_the_incomplete_link_to_managers_only(personas, client_for):
    assert 'data-testid="incomplete-link"' in client_for(personas.manager_a).get(LIST).content.decode()
    assert 'data-testid="incomplete-link"' not in client_for(personas.rep_a).get(LIST).content.decode()


def test_it_includes_the_tools_menu_partial(personas, client_for):
    templates = [t.name for t in client_for(personas.rep_a).get(LIST).templates]
    assert "accounts/partials/tools_menu.html" in templates


def test_it_renders_the_list_in_a_fixed_number_of_queries_however_many_rows(
    personas, client_for, django_assert_max_num_queries
):
    tags = [Tag.objects.create(name=f"t{i}") for i in range(3)]
    for _ in range(30):
        customer = CustomerFactory(owner=personas.rep_a)
        customer.tags.add(*tags)
        Contact.objects.create(customer=customer, name="联系人", phone="13800000000")
    client = client_for(personas.manager_a)
    client.post(reverse("accounts:customer_columns"), {"columns": ["tags", "owner", "team", "budget", "stage"]})
    client.get(LIST)  # warm caches that are not per request
    with django_assert_max_num_queries(14):
        response = client.get(LIST)
    assert len(response.context["table"].page.object_list) == 25


def test_its_selects_read_their_choices_once_without_a_server_side_cursor(personas, client_for):
    """The tag filter's select and the bulk bar's tag list share one plain read of the tags
    (crm.forms.ListedChoiceIterator); the owner select reads its people with a plain query too."""
    Tag.objects.bulk_create([Tag(name="重点"), Tag(name="华东")])
    with CaptureQueriesContext(connection) as captured:
        page = client_for(personas.manager_a).get(LIST).content.decode()
    sql = [q["sql"] for q in captured.captured_queries]
    assert not [q for q in sql if q.lstrip().upper().startswith("DECLARE")]
    assert len([q for q in sql if 'FROM "accounts_tag" ORDER BY' in q]) == 1
    for tag in Tag.objects.all():
        assert f'<option value="{tag.pk}">{tag.name}</option>' in page  # the filter's select
        assert f'<option value="{tag.name}">' in page  # the bulk bar's datalist
    assert f'<option value="{personas.rep_a.pk}">' in page  # an owner the manager can see


def test_it_does_not_count_all_rows_to_paginate(personas, client_for, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(personas.admin)
    with CaptureQueriesContext(connection) as ctx:
        client.get(LIST)
    assert not [q for q in ctx.captured_queries if "COUNT(" in q["sql"].upper() and "accounts_customer" in q["sql"]]


@pytest.mark.parametrize("query", [{}, {"sort": "name"}, {"sort": "-name", "status": "active"}])
def test_a_deep_page_shows_the_same_rows_as_slicing_the_list(personas, client_for, query):
    """Past page 1 the page's keys are read first, then its rows (crm.paginators): same rows, same order."""
    for i in range(90):
        CustomerFactory(owner=personas.rep_a, name=f"客户{i % 7}-{i:02d}")
    client = client_for(personas.manager_a)
    everything = [row.record.pk for row in client.get(LIST, query).context["table"].rows]
    pages = []
    for number in (1, 2, 3):
        table = client.get(LIST, {**query, "page": number}).context["table"]
        pages += [row.record.pk for row in table.page.object_list]
        assert table.paginator.num_pages >= number
    assert pages == everything[:75] and len(pages) == 75
    assert client.get(LIST, {**query, "page": 3}).context["table"].page.has_next()  # rows after 75
    assert client.get(LIST, {**query, "page": 99}).status_code in (200, 404)  # past the end: no error page


def test_a_deep_page_skips_keys_only_and_reads_its_rows_by_key(personas, client_for):
    for _ in range(30):
        CustomerFactory(owner=personas.rep_a)
    with CaptureQueriesContext(connection) as captured:
        client_for(personas.manager_a).get(LIST, {"page": 2})
    customer_reads = [q["sql"] for q in captured.captured_queries if 'FROM "accounts_customer"' in q["sql"]]
    keys = [q for q in customer_reads if q.split(" FROM ")[0] == 'SELECT "accounts_customer"."id" AS "pk"']
    rows = [q for q in customer_reads if '"accounts_customer"."name"' in q.split(" FROM ")[0]]
    assert len(keys) == 1 and "OFFSET 25" in keys[0]  # the rows before the page: keys only
    assert len(rows) == 1 and "OFFSET" not in rows[0] and " IN (" in rows[0]  # the page's rows, by key


# --- bulk actions ---------------------------------------------------------------------------------

BULK = reverse("accounts:customer_bulk")


def test_it_refuses_bulk_actions_by_get(personas, client_for):
    assert client_for(personas.manager_a).get(BULK).status_code == 405


def test_it_lets_a_manager_assign_their_teams_customers_to_a_rep_with_an_audit_record(personas, client_for):
    client = client_for(personas.manager_a)
    response = client.post(
        BULK,
        {"action": "assign_owner", "owner": personas.rep_b.pk, "pks": [personas.customer_a.pk]},
        follow=True,
    )
    personas.customer_a.refresh_from_db()
    assert personas.customer_a.owner == personas.rep_b
    latest = personas.customer_a.history.first()
    assert latest.history_user == personas.manager_a
    assert "1" in str(next(iter(response.context["messages"])))


def test_it_skips_rows_the_user_cannot_edit_and_says_so(personas, client_for):
    client = client_for(personas.manager_a)
    response = client.post(
        BULK,
        {"action": "add_tag", "tag": "重点", "pks": [personas.customer_a.pk, personas.customer_c.pk]},
        follow=True,
    )
    assert list(personas.customer_a.tags.values_list("name", flat=True)) == ["重点"]
    assert not personas.customer_c.tags.exists()
    texts = [str(m) for m in response.context["messages"]]
    assert any("skipped" in t or "跳过" in t for t in texts)


def test_it_lets_finance_see_but_not_bulk_edit_customers(personas, client_for):
    client_for(personas.finance).post(BULK, {"action": "add_tag", "tag": "x", "pks": [personas.customer_a.pk]})
    assert not personas.customer_a.tags.exists()


def test_it_refuses_a_rep_giving_a_customer_to_someone_else(personas, client_for):
    client_for(personas.rep_a).post(
        BULK, {"action": "assign_owner", "owner": personas.rep_b.pk, "pks": [personas.customer_a.pk]}
    )
    personas.customer_a.refresh_from_db()
    assert personas.customer_a.owner == personas.rep_a


def test_it_cannot_be_used_to_touch_another_reps_customer_by_id(personas, client_for):
    client_for(personas.rep_a).post(
        BULK, {"action": "assign_owner", "owner": personas.rep_a.pk, "pks": [personas.customer_b.pk]}
    )
    personas.customer_b.refresh_from_db()
    assert personas.customer_b.owner == personas.rep_b


def test_it_lets_an_admin_assign_to_anyone(personas, client_for):
    newcomer = UserFactory(username="newcomer", role=Role.SALES_REP, team=personas.team_b)
    client_for(personas.admin).post(
        BULK, {"action": "assign_owner", "owner": newcomer.pk, "pks": [personas.customer_a.pk]}
    )
    personas.customer_a.refresh_from_db()
    assert (personas.customer_a.owner, personas.customer_a.team) == (newcomer, personas.team_b)
    assert Customer.objects.filter(owner=newcomer).count() == 1


def test_it_searches_phones_and_credit_codes_only_for_terms_that_could_be_part_of_one():
    from accounts.search import could_be_credit_code, could_be_phone

    assert could_be_phone("138 1234") and could_be_phone("021-6123") and not could_be_phone("科技")
    assert not could_be_phone("abc") and not could_be_phone("-")
    assert could_be_credit_code("91310000ma1k") and not could_be_credit_code("科技") and not could_be_credit_code("IO")
