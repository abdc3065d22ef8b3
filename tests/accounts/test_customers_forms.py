"""Creating and editing customers and their contacts: validation, duplicates, owners, access."""

import pytest
from django.urls import reverse

from accounts.models import Contact, ContactRole, Customer
from accounts.validators import credit_code_check_char

pytestmark = pytest.mark.django_db

CREATE = reverse("accounts:customer_create")
VALID_CODE = "91310000MA1K4CJ35" + credit_code_check_char("91310000MA1K4CJ35")


def code(first17: str) -> str:
    return first17 + credit_code_check_char(first17)


def formset_data(prefix="contacts", rows=(), initial=0):
    data = {f"{prefix}-TOTAL_FORMS": str(max(len(rows), 2)), f"{prefix}-INITIAL_FORMS": str(initial)}
    data.update({f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "30"})
    for index, row in enumerate(rows):
        data.update({f"{prefix}-{index}-{key}": value for key, value in row.items()})
    for index in range(len(rows), 2):
        data[f"{prefix}-{index}-role"] = "user"
    return data


def customer_data(**overrides):
    data = {
        "name": "星辰科技有限公司",
        "credit_code": "",
        "customer_type": "end_customer",
        "stage": "prospect",
        "status": "active",
        "next_step": "安排演示",
    }
    data.update(overrides)
    return data


def post_create(client, owner, contacts=(), **overrides):
    data = {**customer_data(owner=owner.pk, **overrides), **formset_data(rows=contacts)}
    return client.post(CREATE, data)


def test_it_shows_two_empty_contact_rows_on_create(personas, client_for):
    response = client_for(personas.rep_a).get(CREATE)
    assert response.status_code == 200
    assert len(response.context["formset"].forms) == 2


def test_it_creates_a_customer_with_two_contacts_for_a_rep(personas, client_for):
    contacts = [
        {"name": "张总", "role": "decision_maker", "phone": "13812345678", "is_primary": "on"},
        {"name": "李工", "role": "user", "email": "li@example.com"},
    ]
    response = post_create(client_for(personas.rep_a), personas.rep_a, contacts=contacts)
    customer = Customer.objects.get(name="星辰科技有限公司")
    assert response.status_code == 302 and response["Location"] == customer.get_absolute_url()
    assert customer.owner == personas.rep_a and customer.team == personas.team_a
    assert customer.created_by == personas.rep_a
    assert sorted(customer.contacts.values_list("name", flat=True)) == ["张总", "李工"]
    assert customer.completeness > 0
    assert customer.history.first().history_user == personas.rep_a


def test_it_refuses_finance_creating_customers(personas, client_for):
    assert client_for(personas.finance).get(CREATE).status_code == 403


def test_it_lets_a_rep_create_only_for_themself(personas, client_for):
    response = post_create(client_for(personas.rep_a), personas.rep_b)
    assert response.status_code == 200
    assert "owner" in response.context["form"].errors
    assert not Customer.objects.filter(name="星辰科技有限公司").exists()


def test_it_lets_a_manager_create_for_a_rep_of_their_team_but_not_of_another(personas, client_for):
    client = client_for(personas.manager_a)
    assert post_create(client, personas.rep_c).status_code == 200
    assert post_create(client, personas.rep_b).status_code == 302
    assert Customer.objects.get(name="星辰科技有限公司").owner == personas.rep_b


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("credit_code", "91310000MA1K4CJ35" + ("0" if credit_code_check_char("91310000MA1K4CJ35") != "0" else "1")),
        ("credit_code", "9131000OMA1K4CJ35X"),  # format: letter O
        ("name", "  "),
    ],
)
def test_it_refuses_invalid_customer_fields_with_a_message(personas, client_for, field, value):
    response = post_create(client_for(personas.rep_a), personas.rep_a, **{field: value})
    assert response.status_code == 200
    assert response.context["form"].errors[field]


@pytest.mark.parametrize(("field", "value"), [("phone", "12345"), ("email", "not-an-email")])
def test_it_refuses_invalid_contact_fields_with_a_message(personas, client_for, field, value):
    contacts = [{"name": "张总", "role": "decision_maker", field: value}]
    response = post_create(client_for(personas.rep_a), personas.rep_a, contacts=contacts)
    assert response.status_code == 200
    assert response.context["formset"].forms[0].errors[field]
    assert not Customer.objects.exists() or not Customer.objects.filter(name="星辰科技有限公司").exists()


def test_it_refuses_a_credit_code_that_exists_and_links_to_the_existing_record(personas, client_for):
    personas.customer_c.credit_code = VALID_CODE
    personas.customer_c.save()
    response = post_create(client_for(personas.rep_a), personas.rep_a, credit_code=VALID_CODE.lower())
    assert response.status_code == 200
    assert response.context["form"].errors["credit_code"]
    assert personas.customer_c.get_absolute_url() in response.content.decode()
    assert Customer.objects.filter(credit_code=VALID_CODE).count() == 1


def test_it_warns_about_a_similar_name_and_saves_only_when_confirmed(personas, client_for):
    personas.customer_c.name = "星辰科技 股份有限公司"
    personas.customer_c.normalized_name = "星辰科技"
    personas.customer_c.save()
    client = client_for(personas.rep_a)
    response = post_create(client, personas.rep_a, name="星辰科技有限公司")
    assert response.status_code == 200
    assert 'data-testid="duplicate-name"' in response.content.decode()
    assert personas.customer_c.get_absolute_url() in response.content.decode()
    assert not Customer.objects.filter(name="星辰科技有限公司").exists()
    response = post_create(client, personas.rep_a, name="星辰科技有限公司", confirm_duplicate="on")
    assert response.status_code == 302
    assert Customer.objects.filter(normalized_name="星辰科技").count() == 2


def test_it_refuses_two_primary_contacts(personas, client_for):
    contacts = [
        {"name": "张总", "role": "decision_maker", "is_primary": "on"},
        {"name": "李工", "role": "user", "is_primary": "on"},
    ]
    response = post_create(client_for(personas.rep_a), personas.rep_a, contacts=contacts)
    assert response.status_code == 200
    assert response.context["formset"].non_form_errors()


# --- edit ---------------------------------------------------------------------------------------


def edit_data(customer, **overrides):
    contacts = list(customer.contacts.all())
    data = {
        **customer_data(name=customer.name, owner=customer.owner_id),
        "contacts-TOTAL_FORMS": str(len(contacts)),
        "contacts-INITIAL_FORMS": str(len(contacts)),
        "contacts-MIN_NUM_FORMS": "0",
        "contacts-MAX_NUM_FORMS": "30",
    }
    for index, contact in enumerate(contacts):
        data.update(
            {
                f"contacts-{index}-id": str(contact.pk),
                f"contacts-{index}-customer": str(customer.pk),
                f"contacts-{index}-name": contact.name,
                f"contacts-{index}-role": contact.role,
                f"contacts-{index}-phone": contact.phone,
            }
        )
    data.update(overrides)
    return data


def test_it_returns_404_to_someone_who_cannot_see_the_customer_and_403_to_a_reader(personas, client_for):
    url = reverse("accounts:customer_edit", args=[personas.customer_a.pk])
    assert client_for(personas.rep_b).get(url).status_code == 404
    assert client_for(personas.manager_b).post(url, edit_data(personas.customer_a)).status_code == 404
    assert client_for(personas.finance).get(url).status_code == 403
    assert client_for(personas.finance).post(url, edit_data(personas.customer_a, name="X")).status_code == 403
    personas.customer_a.refresh_from_db()
    assert personas.customer_a.name == "MARKER-A 甲公司"


def test_it_lets_the_owner_edit_and_delete_a_contact_in_one_save(personas, client_for):
    customer = personas.customer_a
    keep = Contact.objects.create(customer=customer, name="留下", role=ContactRole.USER)
    gone = Contact.objects.create(customer=customer, name="删除", role=ContactRole.USER)
    client = client_for(personas.rep_a)
    url = reverse("accounts:customer_edit", args=[customer.pk])
    data = edit_data(customer, next_step="发报价")
    index = [c.pk for c in customer.contacts.all()].index(gone.pk)
    data[f"contacts-{index}-DELETE"] = "on"
    response = client.post(url, data)
    assert response.status_code == 302, response.context["form"].errors if response.context else ""
    customer.refresh_from_db()
    assert customer.next_step == "发报价"
    assert list(customer.contacts.values_list("pk", flat=True)) == [keep.pk]


def test_it_keeps_the_budget_a_rep_cannot_see_when_the_rep_saves(personas, client_for):
    customer = personas.customer_a
    customer.budget = 500000
    customer.save()
    response = client_for(personas.rep_a).get(reverse("accounts:customer_edit", args=[customer.pk]))
    assert "budget" not in response.context["form"].fields
    client_for(personas.rep_a).post(reverse("accounts:customer_edit", args=[customer.pk]), edit_data(customer))
    customer.refresh_from_db()
    assert customer.budget == 500000


def test_it_does_not_warn_on_edit_when_the_name_did_not_change(personas, client_for):
    customer = personas.customer_a
    personas.customer_c.normalized_name = customer.normalized_name
    personas.customer_c.save()
    response = client_for(personas.rep_a).post(
        reverse("accounts:customer_edit", args=[customer.pk]), edit_data(customer, next_step="x")
    )
    assert response.status_code == 302


def test_it_refuses_on_edit_a_credit_code_of_another_customer(personas, client_for):
    personas.customer_c.credit_code = VALID_CODE
    personas.customer_c.save()
    response = client_for(personas.rep_a).post(
        reverse("accounts:customer_edit", args=[personas.customer_a.pk]),
        edit_data(personas.customer_a, credit_code=VALID_CODE),
    )
    assert response.status_code == 200
    assert response.context["form"].errors["credit_code"]


# --- contacts -----------------------------------------------------------------------------------


def test_it_adds_a_contact_and_refreshes_completeness(personas, client_for):
    customer = personas.customer_a
    before = Customer.objects.get(pk=customer.pk).completeness
    response = client_for(personas.rep_a).post(
        reverse("accounts:contact_create", args=[customer.pk]),
        {"name": "王总", "role": "decision_maker", "phone": "13912345678"},
    )
    assert response.status_code == 302
    assert Customer.objects.get(pk=customer.pk).completeness > before


def test_it_makes_a_new_primary_contact_replace_the_old_one(personas, client_for):
    customer = personas.customer_a
    old = Contact.objects.create(customer=customer, name="旧", is_primary=True)
    client_for(personas.rep_a).post(
        reverse("accounts:contact_create", args=[customer.pk]), {"name": "新", "role": "user", "is_primary": "on"}
    )
    old.refresh_from_db()
    assert not old.is_primary
    assert customer.contacts.get(is_primary=True).name == "新"


def test_it_edits_a_contact(personas, client_for):
    contact = Contact.objects.create(customer=personas.customer_a, name="旧名", role="user")
    url = reverse("accounts:contact_edit", args=[personas.customer_a.pk, contact.pk])
    client_for(personas.rep_a).post(url, {"name": "新名", "role": "influencer"})
    contact.refresh_from_db()
    assert (contact.name, contact.role) == ("新名", "influencer")


def test_it_asks_for_confirmation_before_deleting_a_contact(personas, client_for):
    contact = Contact.objects.create(
        customer=personas.customer_a, name="王总", role="decision_maker", phone="13912345678"
    )
    refresh = Customer.objects.get(pk=personas.customer_a.pk)
    from accounts.services.customers import refresh_completeness

    refresh_completeness([refresh.pk])
    with_contact = Customer.objects.get(pk=refresh.pk).completeness
    url = reverse("accounts:contact_delete", args=[personas.customer_a.pk, contact.pk])
    client = client_for(personas.rep_a)
    response = client.get(url)
    assert response.status_code == 200 and Contact.objects.filter(pk=contact.pk).exists()
    assert client.post(url).status_code == 302
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert Customer.objects.get(pk=refresh.pk).completeness < with_contact


def test_it_guards_contact_pages_like_the_customer(personas, client_for):
    contact = Contact.objects.create(customer=personas.customer_a, name="王总")
    urls = [
        reverse("accounts:contact_create", args=[personas.customer_a.pk]),
        reverse("accounts:contact_edit", args=[personas.customer_a.pk, contact.pk]),
        reverse("accounts:contact_delete", args=[personas.customer_a.pk, contact.pk]),
    ]
    for url in urls:
        assert client_for(personas.rep_c).post(url, {"name": "x"}).status_code == 404
        assert client_for(personas.finance).post(url, {"name": "x"}).status_code == 403
    assert Contact.objects.filter(pk=contact.pk, name="王总").exists()


def test_it_refuses_a_contact_of_another_customer_through_this_customers_url(personas, client_for):
    other = Contact.objects.create(customer=personas.customer_b, name="乙联系人")
    url = reverse("accounts:contact_delete", args=[personas.customer_a.pk, other.pk])
    assert client_for(personas.rep_a).post(url).status_code == 404
    assert Contact.objects.filter(pk=other.pk).exists()


def test_it_accepts_a_valid_generated_credit_code(personas, client_for):
    response = post_create(client_for(personas.rep_a), personas.rep_a, credit_code=code("91440300MA5F0BQX1"))
    assert response.status_code == 302


def test_it_does_not_record_a_change_when_an_untouched_follow_up_time_is_saved_again(personas, client_for):
    from django.utils import timezone

    customer = personas.customer_a
    customer.last_followup_at = timezone.now().replace(second=42, microsecond=123)
    customer.save()
    before = customer.last_followup_at
    shown = timezone.localtime(before).strftime("%Y-%m-%dT%H:%M")
    data = edit_data(customer, last_followup_at=shown)
    assert (
        client_for(personas.rep_a).post(reverse("accounts:customer_edit", args=[customer.pk]), data).status_code == 302
    )
    customer.refresh_from_db()
    assert customer.last_followup_at == before
