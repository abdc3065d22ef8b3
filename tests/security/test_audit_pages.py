"""The audit pages: a customer's trail and a user's trail, for managers (their teams) and admins."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse

from accounts.services import customers as customer_services
from crm import audit
from crm.models import AuditAction, AuditEntry
from crm.roles import Role
from crm.templatetags.crm_tags import person
from tests.security.test_authorization_matrix import MATRIX
from tests.security.world import build_world

SHANGHAI = ZoneInfo("Asia/Shanghai")


def change_city(customer, city: str, by, when: datetime):
    with time_machine.travel(when, tick=False):
        customer.city = city
        customer_services.update_customer(customer=customer, by=by, tags=[], contacts=[])


def rows(response) -> list[str]:
    """The action of each trail row on the page, top to bottom."""
    return [row.record.action for row in response.context["table"].page.object_list]


def test_a_manager_reads_the_trail_of_a_team_customer_with_who_and_what(personas, client_for):
    change_city(personas.customer_a, "杭州", personas.rep_a, datetime(2030, 3, 2, 10, tzinfo=SHANGHAI))
    response = client_for(personas.manager_a).get(reverse("crm:audit_customer", args=[personas.customer_a.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "杭州" in body
    change = next(i for i in response.context["table"].data.data if i.action == AuditAction.UPDATE)
    assert change.actor == personas.rep_a and change.at.astimezone(SHANGHAI).day == 2
    assert "MARKER-B" not in body and "MARKER-C" not in body


def test_the_trail_names_related_records_and_says_yes_or_no(personas, client_for):
    """A changed owner reads as the person, not their id; a flag as yes/no, not True/False."""
    customer = personas.customer_a
    with time_machine.travel(datetime(2030, 3, 2, 10, tzinfo=SHANGHAI), tick=False):
        customer.owner, customer.needs_attention = personas.rep_b, True
        customer_services.update_customer(customer=customer, by=personas.manager_a, tags=[], contacts=[])
    client = client_for(personas.manager_a)
    client.cookies["django_language"] = "en"
    response = client.get(reverse("crm:audit_customer", args=[customer.pk]))
    change = next(i for i in response.context["table"].data.data if i.action == AuditAction.UPDATE)
    shown = {label: (old, new) for label, old, new in change.changes}
    owner = next(v for k, v in shown.items() if k.lower() == "owner")
    assert owner == (str(person(personas.rep_a)), str(person(personas.rep_b)))
    assert ("No", "Yes") in shown.values()


@pytest.mark.parametrize(
    ("viewer", "status"),
    [("rep_a", 403), ("rep_b", 403), ("finance", 403), ("manager_b", 404), ("manager_a", 200), ("admin", 200)],
)
def test_only_managers_of_the_team_and_admins_open_a_customer_trail(personas, client_for, viewer, status):
    url = reverse("crm:audit_customer", args=[personas.customer_a.pk])
    assert client_for(getattr(personas, viewer)).get(url).status_code == status


@pytest.mark.parametrize(
    ("viewer", "subject", "status"),
    [
        ("rep_a", "rep_a", 403),
        ("finance", "rep_a", 403),
        ("manager_b", "rep_a", 404),
        ("manager_a", "rep_c", 404),
        ("manager_a", "rep_b", 200),
        ("manager_a", "manager_a", 200),
        ("admin", "rep_c", 200),
    ],
)
def test_a_user_trail_is_for_their_manager_and_admins(personas, client_for, viewer, subject, status):
    url = reverse("crm:audit_user", args=[getattr(personas, subject).pk])
    assert client_for(getattr(personas, viewer)).get(url).status_code == status


def test_the_user_index_lists_only_the_managers_people(personas, client_for):
    response = client_for(personas.manager_a).get(reverse("crm:audit_users"))
    listed = {user.username for user in response.context["table"].data.data}
    assert listed == {"manager_a", "rep_a", "rep_b"}
    assert reverse("crm:audit_user", args=[personas.rep_b.pk]) in response.content.decode()


def test_a_user_trail_shows_their_changes_and_exports_only(personas, client_for):
    change_city(personas.customer_a, "苏州", personas.rep_a, datetime(2030, 3, 2, 10, tzinfo=SHANGHAI))
    change_city(personas.customer_b, "无锡", personas.rep_b, datetime(2030, 3, 3, 10, tzinfo=SHANGHAI))
    client_for(personas.manager_a).get(reverse("accounts:customer_list"), {"_export": "csv", "q": "MARKER"})
    trail_a = client_for(personas.manager_a).get(reverse("crm:audit_user", args=[personas.rep_a.pk]))
    assert "苏州" in trail_a.content.decode() and "无锡" not in trail_a.content.decode()
    mine = client_for(personas.manager_a).get(reverse("crm:audit_user", args=[personas.manager_a.pk]))
    assert AuditAction.EXPORT in rows(mine)


def test_the_trail_filters_by_dates_and_action(personas, client_for):
    for day, city in ((1, "一"), (5, "五"), (9, "九")):
        change_city(personas.customer_a, city, personas.rep_a, datetime(2030, 3, day, 23, 30, tzinfo=SHANGHAI))
    client = client_for(personas.manager_a)
    url = reverse("crm:audit_customer", args=[personas.customer_a.pk])
    # Whole local days, both ends included: the change at 23:30 on the 5th is in, the 9th is not.
    response = client.get(url, {"since": "2030-03-02", "until": "2030-03-05", "action": "update"})
    cities = [new for item in response.context["table"].data.data for _label, _old, new in item.changes]
    assert cities == ["五"]
    assert set(rows(client.get(url, {"action": "update"}))) == {AuditAction.UPDATE}
    assert AuditAction.CREATE in rows(client.get(url))  # the factory's creation row, unfiltered
    assert client.get(url, {"since": "not a date"}).status_code == 200  # a bad filter shows everything


def test_the_trail_is_paginated_newest_first(personas, client_for):
    for minute in range(30):
        change_city(
            personas.customer_a, f"城{minute}", personas.rep_a, datetime(2030, 3, 1, 9, minute, tzinfo=SHANGHAI)
        )
    client = client_for(personas.admin)
    url = reverse("crm:audit_customer", args=[personas.customer_a.pk])
    first = client.get(url, {"action": "update"}).context["table"]
    second = client.get(url, {"action": "update", "page": 2}).context["table"]
    assert first.paginator.count == 30 and len(first.page.object_list) == 25
    assert len(second.page.object_list) == 5
    newest = next(iter(first.page.object_list)).record
    assert [new for _label, _old, new in newest.changes] == ["城29"]
    assert [new for _label, _old, new in list(second.page.object_list)[-1].record.changes] == ["城0"]


def test_amount_changes_are_masked_when_the_role_may_not_see_amounts(personas, client_for):
    customer = personas.customer_a
    customer.budget = Decimal("246813.57")
    customer_services.update_customer(customer=customer, by=personas.rep_a, tags=[], contacts=[])
    url = reverse("crm:audit_customer", args=[customer.pk])
    assert "246,813.57" in client_for(personas.manager_a).get(url).content.decode()
    Group.objects.get(name=Role.MANAGER).permissions.remove(Permission.objects.get(codename="view_amounts"))
    personas.manager_a.refresh_from_db()  # drop the cached permissions
    body = client_for(personas.manager_a).get(url).content.decode()
    assert "246,813.57" not in body and "246813.57" not in body and "•••" in body


def test_the_reader_filter_keeps_half_open_ranges(personas):
    change_city(personas.customer_a, "甲", personas.rep_a, datetime(2030, 3, 1, 12, tzinfo=SHANGHAI))
    only = audit.TrailFilter(since=datetime(2030, 3, 1, 12, tzinfo=SHANGHAI), action=AuditAction.UPDATE)
    assert len(audit.trail_for_user(personas.rep_a.pk, show_amounts=True, only=only)) == 1
    until = audit.TrailFilter(until=datetime(2030, 3, 1, 12, tzinfo=SHANGHAI), action=AuditAction.UPDATE)
    assert audit.trail_for_user(personas.rep_a.pk, show_amounts=True, only=until) == []


def test_the_customer_page_links_to_its_trail_for_managers_only(personas, client_for):
    detail = reverse("accounts:customer_detail", args=[personas.customer_a.pk])
    link = reverse("crm:audit_customer", args=[personas.customer_a.pk])
    assert link in client_for(personas.manager_a).get(detail).content.decode()
    assert link not in client_for(personas.rep_a).get(detail).content.decode()


def test_every_export_in_the_matrix_writes_one_audit_entry(personas):
    """Each export variant of the authorization matrix, fetched by an admin, leaves exactly one export row."""
    world = build_world(personas)
    client = Client()
    client.force_login(personas.admin)
    exports = {key: entry for key, entry in MATRIX.items() if "export=" in entry.query}
    assert len(exports) >= 10
    unaudited = []
    for key, entry in exports.items():
        before = AuditEntry.objects.filter(action=AuditAction.EXPORT).count()
        response = client.get(entry.path(key, world))
        assert response.status_code == 200, key
        if AuditEntry.objects.filter(action=AuditAction.EXPORT).count() != before + 1:
            unaudited.append(key)
    assert unaudited == []
