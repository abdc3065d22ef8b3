"""Visibility rules (DOMAIN §8): who sees and edits which owned records."""

import pytest

from accounts.selectors import visible_customers
from crm.access import can_edit_owned, can_view_amounts
from tests.factories import CustomerFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def names(user):
    return set(visible_customers(user).values_list("name", flat=True))


def test_it_shows_a_rep_only_the_customers_they_own(personas):
    assert names(personas.rep_a) == {"MARKER-A 甲公司"}
    assert names(personas.rep_c) == {"MARKER-C 丙公司"}


def test_it_shows_a_manager_their_teams_customers_and_not_another_teams(personas):
    assert names(personas.manager_a) == {"MARKER-A 甲公司", "MARKER-B 乙公司"}
    assert names(personas.manager_b) == {"MARKER-C 丙公司"}


def test_it_shows_a_director_every_sub_team_of_the_team_they_manage(personas):
    director = UserFactory(username="director", role="sales_manager")
    centre = TeamFactory(name="销售中心", manager=director)
    personas.team_a.parent = centre
    personas.team_a.save()
    assert names(director) == {"MARKER-A 甲公司", "MARKER-B 乙公司"}


def test_it_shows_admin_and_finance_every_customer(personas):
    everything = {"MARKER-A 甲公司", "MARKER-B 乙公司", "MARKER-C 丙公司"}
    assert names(personas.admin) == everything
    assert names(personas.finance) == everything


def test_it_shows_nothing_to_an_inactive_or_roleless_user(personas):
    personas.rep_a.is_active = False
    assert names(personas.rep_a) == set()
    assert names(UserFactory(username="nobody")) == set()


def test_it_lets_owner_team_manager_and_admin_edit_but_not_finance_or_peers(personas):
    customer = personas.customer_a
    assert can_edit_owned(personas.rep_a, customer)
    assert can_edit_owned(personas.manager_a, customer)
    assert can_edit_owned(personas.admin, customer)
    assert not can_edit_owned(personas.rep_b, customer)
    assert not can_edit_owned(personas.manager_b, customer)
    assert not can_edit_owned(personas.finance, customer)


def test_it_hides_amounts_from_reps_and_shows_them_to_managers_finance_and_admin(personas):
    assert not can_view_amounts(personas.rep_a)
    assert not can_view_amounts(personas.rep_b)
    assert can_view_amounts(personas.manager_a)
    assert can_view_amounts(personas.finance)
    assert can_view_amounts(personas.admin)


def test_it_files_a_new_customer_under_its_owners_team(personas):
    CustomerFactory(name="MOVED", owner=personas.rep_c)
    assert "MOVED" in names(personas.manager_b)
    assert "MOVED" not in names(personas.manager_a)
