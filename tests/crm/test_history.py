"""crm.history.copy_to_history writes the same history rows as django-simple-history would."""

from datetime import UTC, datetime

import pytest
from django.forms.models import model_to_dict

from accounts.models import Customer, Status
from crm.history import copy_to_history
from leads.models import Lead
from tests.factories import CustomerFactory, UserFactory
from tests.leads.factories import LeadFactory

pytestmark = pytest.mark.django_db

WHEN = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
BOOKKEEPING = {"history_id", "history_date", "history_change_reason", "history_type", "history_user"}


def snapshot(record) -> dict:
    return {k: v for k, v in model_to_dict(record).items() if k not in BOOKKEEPING}


@pytest.mark.parametrize("factory", [CustomerFactory, LeadFactory], ids=["customer", "lead"])
def test_copied_rows_equal_simple_history_rows(factory):
    objects = factory.create_batch(3)
    model = type(objects[0])
    user = UserFactory()
    model.history.bulk_history_create(objects, update=True, default_user=user, default_change_reason="by hand")
    expected = {r.id: snapshot(r) for r in model.history.filter(history_change_reason="by hand")}

    written = copy_to_history(model, [o.pk for o in objects], reason="copied", user_id=user.pk, when=WHEN)

    copied = list(model.history.filter(history_change_reason="copied"))
    assert written == 3
    assert {r.id: snapshot(r) for r in copied} == expected
    assert {(r.history_type, r.history_user_id, r.history_date) for r in copied} == {("~", user.pk, WHEN)}


def test_copies_the_row_as_it_now_is_and_only_the_ids_given():
    kept, changed = CustomerFactory(status=Status.ACTIVE), CustomerFactory(status=Status.ACTIVE)
    Customer.objects.filter(pk=changed.pk).update(status=Status.DORMANT)

    copy_to_history(Customer, [changed.pk], reason="went quiet")

    rows = list(Customer.history.filter(history_change_reason="went quiet"))
    assert [(r.id, r.status) for r in rows] == [(changed.pk, Status.DORMANT)]
    assert not Customer.history.filter(id=kept.pk, history_change_reason="went quiet").exists()


def test_no_ids_writes_nothing():
    assert copy_to_history(Lead, []) == 0
