"""Services behind the pages: bulk actions, contacts, completeness page, demo data."""

import pytest
from django.urls import reverse

from accounts.models import Contact, ContactRole, Customer, Status, Tag
from accounts.services.customers import (
    SimilarCustomerWarning,
    add_tag,
    assign_owner,
    create_customer,
    delete_contact,
    normalize_name,
    save_contact,
)
from accounts.validators import validate_credit_code, validate_phone

pytestmark = pytest.mark.django_db


def test_it_assigns_only_editable_customers_and_reports_the_rest(personas):
    result = assign_owner(
        customers=[personas.customer_a, personas.customer_c], owner=personas.rep_b, by=personas.manager_a
    )
    assert [c.pk for c in result.done] == [personas.customer_a.pk]
    assert [c.pk for c in result.skipped] == [personas.customer_c.pk]
    personas.customer_a.refresh_from_db()
    personas.customer_c.refresh_from_db()
    assert personas.customer_a.owner == personas.rep_b
    assert personas.customer_c.owner == personas.rep_c
    assert personas.customer_a.history.first().history_user == personas.manager_a


def test_it_adds_a_tag_idempotently_with_an_audit_record(personas):
    add_tag(customers=[personas.customer_a], tag="重点", by=personas.rep_a)
    add_tag(customers=[personas.customer_a], tag="重点", by=personas.rep_a)
    assert list(personas.customer_a.tags.values_list("name", flat=True)) == ["重点"]
    assert Tag.objects.filter(name="重点").count() == 1
    tagged = personas.customer_a.history.filter(history_change_reason__contains="重点")
    assert tagged.count() == 1 and tagged.first().history_user == personas.rep_a


def test_it_does_not_let_a_rep_tag_another_reps_customer(personas):
    result = add_tag(customers=[personas.customer_b], tag="x", by=personas.rep_a)
    assert result.skipped and not personas.customer_b.tags.exists()


def test_it_raises_a_warning_for_a_similar_name_only_when_not_confirmed(personas):
    Customer.objects.filter(pk=personas.customer_a.pk).update(normalized_name=normalize_name("MARKER-A 甲公司"))
    with pytest.raises(SimilarCustomerWarning):
        create_customer(customer=Customer(name="MARKER-A 甲 有限公司"), by=personas.rep_a, confirm_similar=False)
    assert create_customer(customer=Customer(name="MARKER-A 甲 有限公司", owner=personas.rep_a), by=personas.rep_a).pk


def test_it_refreshes_completeness_when_contacts_change(personas):
    customer = personas.customer_a
    contact = save_contact(
        contact=Contact(customer=customer, name="张总", role=ContactRole.DECISION_MAKER, phone="13812345678"),
        by=personas.rep_a,
    )
    with_contact = Customer.objects.get(pk=customer.pk).completeness
    delete_contact(contact=contact, by=personas.rep_a)
    assert Customer.objects.get(pk=customer.pk).completeness < with_contact


# --- the completeness page -------------------------------------------------------------------------

INCOMPLETE = reverse("accounts:incomplete")


def test_it_shows_the_incomplete_page_to_managers_and_admins_only(personas, client_for):
    assert client_for(personas.rep_a).get(INCOMPLETE).status_code == 403
    assert client_for(personas.finance).get(INCOMPLETE).status_code == 403
    assert client_for(personas.manager_a).get(INCOMPLETE).status_code == 200
    assert client_for(personas.admin).get(INCOMPLETE).status_code == 200


def test_it_lists_the_managers_incomplete_active_customers_with_what_is_missing(personas, client_for):
    from django.utils import timezone

    complete = personas.customer_b
    complete.next_step, complete.last_followup_at = "演示", timezone.now()
    complete.save()
    dormant = personas.customer_a
    Customer.objects.filter(pk=dormant.pk).update(status=Status.DORMANT)
    extra = Customer.objects.create(name="缺字段", owner=personas.rep_a, team=personas.team_a)
    response = client_for(personas.manager_a).get(INCOMPLETE)
    listed = {row.record.pk for row in response.context["table"].paginated_rows}
    assert listed == {extra.pk}  # not the complete one, not the dormant one, not team B's
    summary = response.context["summary"]
    assert (summary["total"], summary["incomplete"], summary["complete_share"]) == (2, 1, 50.0)
    assert not summary["meets_goal"]
    body = response.content.decode()
    assert 'data-testid="complete-share"' in body


# --- demo data ------------------------------------------------------------------------------------


def test_it_seeds_realistic_customers_idempotently(db):
    from crm import demo

    users = demo.seed_users()
    assert demo.seed_customers(users=users, total=40) == 40
    assert demo.seed_customers(users=users, total=40) == 0
    customers = Customer.objects.all()
    assert customers.count() == 40
    assert all(c.normalized_name for c in customers)
    for customer in customers.exclude(credit_code=None):
        validate_credit_code(customer.credit_code)
    counts = [c.contacts.count() for c in customers]
    assert min(counts) >= 1 and max(counts) <= 4
    for contact in Contact.objects.exclude(phone=""):
        validate_phone(contact.phone)
    with_dm = customers.filter(contacts__role=ContactRole.DECISION_MAKER).distinct().count()
    assert with_dm > 20
    assert customers.filter(completeness__gt=0).count() == 40
    assert demo.seed_customers(users=users, total=60) == 20
