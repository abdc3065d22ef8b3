"""Hand-over: a manager moves a rep's customers (filtered or all) to another rep in one action."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from accounts.models import Customer, Transfer
from accounts.services import handover
from tests.factories import CustomerFactory


@pytest.fixture
def book(personas):
    """rep_a owns five more customers: three prospects (one in IT), one won, one dormant."""
    return {
        "prospect_it": CustomerFactory(owner=personas.rep_a, stage="prospect", industry="it"),
        "prospect": CustomerFactory(owner=personas.rep_a, stage="prospect", industry="retail"),
        "prospect2": CustomerFactory(owner=personas.rep_a, stage="prospect", industry="retail"),
        "won": CustomerFactory(owner=personas.rep_a, stage="won", industry="it"),
        "dormant": CustomerFactory(owner=personas.rep_a, stage="intent", status="dormant"),
    }


@pytest.fixture
def hook():
    calls = []

    def move_leads(customer_ids, from_user, to_user, by):
        calls.append((sorted(customer_ids), from_user, to_user, by))
        return {"leads": 2 * len(customer_ids)}

    handover.register_transfer_hook(move_leads)
    yield calls
    handover.unregister_transfer_hook(move_leads)


def test_it_moves_every_customer_of_the_rep_and_records_the_transfer(personas, book, hook):
    transfer = handover.transfer_customers(
        from_user=personas.rep_a, to_user=personas.rep_b, by=personas.manager_a, reason="离职"
    )
    assert Customer.objects.filter(owner=personas.rep_a).count() == 0
    assert Customer.objects.filter(owner=personas.rep_b).count() == 7  # six of rep_a + rep_b's own
    assert transfer.customer_count == 6
    assert transfer.moved == {"customers": 6, "leads": 12}
    assert (transfer.from_user, transfer.to_user, transfer.performed_by) == (
        personas.rep_a,
        personas.rep_b,
        personas.manager_a,
    )
    assert transfer.reason == "离职"
    assert hook[0][0] == sorted([personas.customer_a.pk, *(c.pk for c in book.values())])


def test_it_moves_only_the_customers_that_match_the_filter(personas, book):
    transfer = handover.transfer_customers(
        from_user=personas.rep_a,
        to_user=personas.rep_b,
        by=personas.manager_a,
        criteria={"stage": "prospect", "industry": "retail", "status": "bogus"},
    )
    moved = set(Customer.objects.filter(owner=personas.rep_b).values_list("pk", flat=True))
    assert moved == {personas.customer_b.pk, book["prospect"].pk, book["prospect2"].pk}
    assert transfer.criteria == {"stage": "prospect", "industry": "retail"}
    assert transfer.customer_count == 2


def test_it_sets_the_team_of_the_receiving_rep(personas, book):
    handover.transfer_customers(from_user=personas.rep_a, to_user=personas.rep_c, by=personas.admin)
    assert set(Customer.objects.filter(owner=personas.rep_c).values_list("team", flat=True)) == {personas.team_b.pk}


def test_it_writes_a_history_record_with_the_hand_over_as_reason(personas, book):
    transfer = handover.transfer_customers(from_user=personas.rep_a, to_user=personas.rep_b, by=personas.manager_a)
    latest = book["won"].history.first()
    assert latest.owner_id == personas.rep_b.pk
    assert latest.history_change_reason == f"hand-over #{transfer.pk}"
    assert latest.history_user == personas.manager_a
    assert book["won"].history.count() == 2  # created, handed over


def test_it_refuses_a_manager_for_another_teams_rep(personas, book):
    with pytest.raises(PermissionDenied):
        handover.transfer_customers(from_user=personas.rep_c, to_user=personas.rep_a, by=personas.manager_a)
    with pytest.raises(PermissionDenied):
        handover.transfer_customers(from_user=personas.rep_a, to_user=personas.rep_c, by=personas.manager_a)
    assert Customer.objects.filter(owner=personas.rep_a).count() == 6
    assert not Transfer.objects.exists()


def test_it_refuses_a_rep(personas, book):
    with pytest.raises(PermissionDenied):
        handover.transfer_customers(from_user=personas.rep_a, to_user=personas.rep_b, by=personas.rep_a)


def test_it_leaves_merged_away_records_alone(personas):
    loser = CustomerFactory(owner=personas.rep_a, merged_into=personas.customer_b)
    handover.transfer_customers(from_user=personas.rep_a, to_user=personas.rep_b, by=personas.manager_a)
    loser.refresh_from_db()
    assert loser.owner == personas.rep_a


# --- views --------------------------------------------------------------------------------


def test_it_confirms_the_count_before_moving_anything(personas, book, client_for):
    client = client_for(personas.manager_a)
    data = {"from_user": personas.rep_a.pk, "to_user": personas.rep_b.pk, "stage": "prospect", "reason": "调岗"}
    response = client.post(reverse("accounts:handover"), data)
    assert response.status_code == 200
    assert response.context["preview_count"] == 4  # customer_a is a prospect too
    assert Customer.objects.filter(owner=personas.rep_a).count() == 6

    response = client.post(reverse("accounts:handover"), {**data, "confirm": "1"})
    assert response.status_code == 302
    assert Customer.objects.filter(owner=personas.rep_a).count() == 2
    assert Transfer.objects.get().customer_count == 4
    page = client.get(reverse("accounts:handover")).content.decode()
    assert "调岗" in page  # listed among past hand-overs


def test_it_offers_a_manager_only_the_people_of_their_teams(personas, client_for):
    response = client_for(personas.manager_a).get(reverse("accounts:handover"))
    offered = set(response.context["form"].fields["from_user"].queryset.values_list("username", flat=True))
    assert offered == {"manager_a", "rep_a", "rep_b"}
    data = {"from_user": personas.rep_c.pk, "to_user": personas.rep_a.pk, "confirm": "1"}
    response = client_for(personas.manager_a).post(reverse("accounts:handover"), data)
    assert response.status_code == 200 and response.context["form"].errors
    assert Customer.objects.get(pk=personas.customer_c.pk).owner == personas.rep_c


def test_it_refuses_the_hand_over_page_to_a_rep(personas, client_for):
    client = client_for(personas.rep_a)
    assert client.get(reverse("accounts:handover")).status_code == 403
    data = {"from_user": personas.rep_b.pk, "to_user": personas.rep_a.pk, "confirm": "1"}
    assert client.post(reverse("accounts:handover"), data).status_code == 403
    assert Customer.objects.get(pk=personas.customer_b.pk).owner == personas.rep_b


def test_it_shows_the_tools_on_the_list_page_only_to_users_with_the_permissions(personas, client_for):
    page = client_for(personas.manager_a).get(reverse("accounts:customer_list")).content.decode()
    assert "tool-import" in page and "tool-handover" in page
    for user in (personas.rep_a, personas.finance):
        assert "tools-menu" not in client_for(user).get(reverse("accounts:customer_list")).content.decode()
