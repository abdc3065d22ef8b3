"""The home page's summary: customers visible to the user, counted per owner in one pass."""

import pytest
from django.urls import reverse

from crm.roles import Role
from crm.selectors import home_summary
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_it_counts_the_visible_customers_per_owner_largest_first(personas):
    # personas: customer_a (rep_a, team A), customer_b (rep_b, team A), customer_c (rep_c, team B)
    CustomerFactory.create_batch(2, owner=personas.rep_b, team=personas.team_a)
    CustomerFactory(owner=personas.rep_c, team=personas.team_b)
    CustomerFactory(owner=None, team=personas.team_a)
    summary = home_summary(personas.manager_a)  # team A only
    assert summary["customer_count"] == 5
    counts = [(row["name"], row["n"]) for row in summary["per_owner"]]
    assert counts[0] == (_name(personas.rep_b), 3)
    assert sorted(counts[1:]) == sorted([(_name(personas.rep_a), 1), ("-", 1)])
    everyone = home_summary(personas.admin)
    assert everyone["customer_count"] == 7
    assert sum(row["n"] for row in everyone["per_owner"]) == 7


def test_it_shows_the_twelve_largest_books_ties_by_name(personas):
    reps = [UserFactory(username=f"rep{i:02d}", first_name="", last_name="", role=Role.SALES_REP) for i in range(14)]
    for i, rep in enumerate(reps):
        CustomerFactory.create_batch(1 if i < 10 else 2, owner=rep)
    rows = home_summary(personas.admin)["per_owner"]
    assert len(rows) == 12
    assert [row["n"] for row in rows[:4]] == [2, 2, 2, 2]
    assert [row["name"] for row in rows[:4]] == ["rep10", "rep11", "rep12", "rep13"]
    assert [row["name"] for row in rows[4:8]] == sorted(row["name"] for row in rows[4:8])


def test_the_home_page_charts_the_books(personas, client_for):
    response = client_for(personas.manager_a).get(reverse("crm:home"))
    assert response.context["customer_count"] == 2  # customer_a and customer_b, team A
    assert sorted(response.context["chart"]["names"]) == sorted([_name(personas.rep_a), _name(personas.rep_b)])
    assert response.context["chart"]["values"] == [1, 1]


def _name(user) -> str:
    return f"{user.last_name}{user.first_name}" or user.username
